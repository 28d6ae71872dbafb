/** The publisher thread: Kafka transactions for the CDC's main thread (publisher-thread.ts). */
import { parentPort } from 'node:worker_threads';
import type { PublisherReply, PublisherRequest } from './publisher-thread.js';
import { TransactionalPublisher } from './transactional-publisher.js';

const port = parentPort;
if (port === null) throw new Error('publisher-worker.ts runs as a worker thread');

let publisher: TransactionalPublisher | undefined;
/** The main thread's batch buffers, by slot id: shared memory, registered once. */
const slots = new Map<number, Buffer>();

async function handle(request: PublisherRequest): Promise<void> {
  switch (request.type) {
    case 'init':
      // A new producer per pipeline run: its InitProducerId fences whatever held the transactional id before.
      await publisher?.close().catch(() => undefined);
      publisher = new TransactionalPublisher(request.options);
      await publisher.init();
      return;
    case 'publish': {
      for (const { id, memory } of request.created) slots.set(id, Buffer.from(memory));
      for (const id of request.dropped) slots.delete(id);
      if (publisher === undefined) throw new Error('publish before init');
      await publisher.publish(request.partitions, slots);
      return;
    }
    case 'close':
      await publisher?.close().catch(() => undefined);
      publisher = undefined;
      return;
  }
}

/** The slots of a publish go back to the main thread's pool, sent or not. */
function slotsOf(request: PublisherRequest): number[] {
  return request.type === 'publish' ? request.partitions.flatMap((p) => p.batches.map((b) => b.slot)) : [];
}

port.on('message', (request: PublisherRequest) => {
  void handle(request).then(
    () => port.postMessage({ id: request.id, slots: slotsOf(request) } satisfies PublisherReply),
    (err: unknown) => port.postMessage({ id: request.id, slots: slotsOf(request), error: err instanceof Error ? err.message : String(err) } satisfies PublisherReply),
  );
});
port.postMessage({ id: 0, slots: [] } satisfies PublisherReply);

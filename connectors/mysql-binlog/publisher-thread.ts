/**
 * Kafka publishing on a thread of its own: the main thread reads and encodes the binlog, the publisher
 * thread (publisher-worker.ts) runs the Kafka transactions. Record batches stay in shared-memory slots
 * of the main thread's pool (record-batch.ts): a publish names them, the reply hands them back, nothing
 * is copied. The thread starts loading its Kafka client as soon as this object exists, in parallel with
 * the main thread's own start.
 */
import { Worker } from 'node:worker_threads';
import type { PublisherOptions } from './transactional-publisher.js';
import type { BufferPool, TransactionRecords, TransferredPartition } from './record-batch.js';

export type PublisherRequest =
  | { id: number; type: 'init'; options: PublisherOptions }
  /** created/dropped: pool slots the thread learns or forgets before reading the batches */
  | { id: number; type: 'publish'; partitions: TransferredPartition[]; created: Array<{ id: number; memory: SharedArrayBuffer }>; dropped: number[] }
  | { id: number; type: 'close' };

/** id 0: the thread is up. `slots`: those of a publish, free again. */
export interface PublisherReply {
  id: number;
  slots: number[];
  error?: string;
}

type Pending = { resolve: () => void; reject: (err: Error) => void };

/** Loading the Kafka client takes well under a second; a thread not up by then is stuck. */
const START_TIMEOUT_MS = 30_000;

export class PublisherThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly up: Promise<void>;
  private nextId = 1;
  private started = false;
  private failure: Error | undefined;
  private pool: BufferPool | undefined;
  /** whether the thread knows the pool's slots (it learns all of them with its first publish) */
  private knowsSlots = false;
  /** the slots of publishes not answered yet, by request id */
  private readonly lent = new Map<number, number[]>();

  constructor() {
    // The thread starts clean (its loader is set up by publisher-boot.mjs), except for --cpu-prof, so that
    // a profiled process (bench/cdc.ts BENCH_CDC_PROFILE) profiles this thread too.
    const execArgv = process.execArgv.filter((arg) => arg.startsWith('--cpu-prof'));
    this.worker = new Worker(new URL('./publisher-boot.mjs', import.meta.url), { execArgv });
    let markUp: Pending = { resolve: () => undefined, reject: () => undefined };
    this.up = new Promise<void>((resolve, reject) => (markUp = { resolve, reject }));
    // A rejection nobody awaits yet must not be reported as unhandled: requests see it through fail().
    this.up.catch(() => undefined);
    this.pending.set(0, markUp);
    const startTimer = setTimeout(() => this.fail(new Error(`the publisher thread did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    startTimer.unref();
    void this.up.then(
      () => {
        this.started = true;
        clearTimeout(startTimer);
      },
      () => clearTimeout(startTimer),
    );
    this.worker.on('message', (reply: PublisherReply) => {
      this.lent.delete(reply.id);
      this.pool?.release(reply.slots);
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error === undefined) waiter?.resolve();
      else waiter?.reject(new Error(reply.error));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the publisher thread exited (code ${code})`)));
  }

  /** The pool whose slots the batches are in; they go back to it once sent. */
  usePool(pool: BufferPool): void {
    this.pool = pool;
  }

  /** A fresh transactional producer for `options.transactionalId`, fencing any older holder. */
  init(options: PublisherOptions): Promise<void> {
    return this.request((id) => ({ id, type: 'init', options }));
  }

  /** One Kafka transaction with all of `records` (which are spent: their slots belong to the thread until it replies). */
  publish(records: TransactionRecords): Promise<void> {
    const pool = this.pool;
    if (pool === undefined) throw new Error('publish without a pool');
    const partitions = records.transfer();
    return this.request((id) => {
      this.lent.set(id, partitions.flatMap((p) => p.batches.map((b) => b.slot)));
      const changes = pool.changes(!this.knowsSlots);
      this.knowsSlots = true;
      return { id, type: 'publish', partitions, ...changes };
    });
  }

  /** Closes the producer; the thread stays for the next pipeline run. */
  closeProducer(): Promise<void> {
    return this.request((id) => ({ id, type: 'close' }));
  }

  async terminate(): Promise<void> {
    if (this.started && this.failure === undefined) {
      // A clean close when the broker answers; the thread goes either way.
      await Promise.race([this.closeProducer().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    this.fail(new Error('the publisher thread was stopped'));
    await this.worker.terminate();
    // Slots of publishes it never answered are the main thread's again.
    for (const slots of this.lent.values()) this.pool?.release(slots);
    this.lent.clear();
  }

  private async request(build: (id: number) => PublisherRequest): Promise<void> {
    await this.up;
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.worker.postMessage(build(id));
    await done;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

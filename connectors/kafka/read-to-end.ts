/** Reads a topic from the beginning to its current end (read_committed): for changelogs and position stores. */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onMessage: (message: KafkaMessage, partition: number) => void,
  opts: { partition?: number; timeoutMs?: number } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((o) => opts.partition === undefined || o.partition === opts.partition).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  if ([...ends.values()].every((high) => high === 0n)) return;
  const consumer = kafka.consumer({ groupId: `rtdw-reader-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false, maxBytes: 50 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end timed out`)), opts.timeoutMs ?? 120_000);
      let fetched = false;
      // An empty fetch after a successful one: every partition is at its committed end. (The high
      // watermark alone cannot tell, since transaction markers occupy offsets but are never delivered.)
      consumer.on(consumer.events.FETCH, ({ payload }: { payload: { numberOfBatches: number } }) => {
        if (fetched && payload.numberOfBatches === 0) {
          clearTimeout(timer);
          resolve();
        }
        fetched = true;
      });
      void consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (opts.partition !== undefined && batch.partition !== opts.partition) return;
            for (const m of batch.messages) onMessage(m, batch.partition);
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

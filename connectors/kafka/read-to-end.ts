/** Reads a topic from the beginning to its current end (read_committed): for changelogs and position stores. */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { DeliveredOnce } from './delivered-once.js';

/**
 * Stops once every partition's position reaches the end offset taken at the start (the last stable
 * offset: the admin lists offsets read_committed). Progress comes from kafkajs' batch events, which
 * also report batches holding only transaction markers or aborted records, whose offsets count too.
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onMessage: (message: KafkaMessage, partition: number) => void,
  opts: { partition?: number; timeoutMs?: number } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<number, bigint>();
  try {
    for (const o of await admin.fetchTopicOffsets(topic)) {
      if (opts.partition !== undefined && o.partition !== opts.partition) continue;
      if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high));
    }
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return;
  const consumer = kafka.consumer({ groupId: `rtdw-reader-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false, maxBytes: 50 * 1024 * 1024 });
  const once = new DeliveredOnce();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end timed out; partitions left: ${[...remaining.keys()].join(',')}`)), opts.timeoutMs ?? 120_000);
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }: { payload: { partition: number; lastOffset: string } }) => {
        const end = remaining.get(payload.partition);
        if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) remaining.delete(payload.partition);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      void consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (opts.partition !== undefined && batch.partition !== opts.partition) return;
            for (const m of batch.messages) if (once.take(batch.topic, batch.partition, m.offset)) onMessage(m, batch.partition);
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

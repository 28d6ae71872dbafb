/**
 * Whether a consumer group has read everything: the data records (read_committed) between its
 * committed offsets and the ends of its topics. Unlike the lag (end − committed), this does not count
 * the transaction markers and aborted records a group may leave unread after its last record.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { DeliveredOnce } from '../../connectors/kafka/delivered-once.js';

interface Range {
  topic: string;
  partition: number;
  from: bigint;
  end: bigint;
}

/** Every partition of the group's topics: its committed offset (the low offset when none) and its end. */
export async function partitionOffsets(admin: Admin, groupId: string, topics: readonly string[]): Promise<Range[]> {
  const ranges: Range[] = [];
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  for (const topic of topics) {
    const byPartition = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const at = byPartition.get(o.partition) ?? -1n;
      const from = at < 0n ? BigInt(o.low) : at;
      ranges.push({ topic, partition: o.partition, from, end: BigInt(o.high) });
    }
  }
  return ranges;
}

/** Data records in `ranges` (from..end), read with a consumer of its own (its group commits nothing). */
export async function dataRecordsIn(kafka: Kafka, ranges: readonly Range[], timeoutMs = 30_000): Promise<number> {
  const open = ranges.filter((r) => r.from < r.end);
  if (open.length === 0) return 0;
  const remaining = new Map(open.map((r) => [`${r.topic}/${r.partition}`, r]));
  const topics = [...new Set(open.map((r) => r.topic))];
  const consumer = kafka.consumer({ groupId: `rtdw-unread-${randomUUID()}`, readUncommitted: false, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  let records = 0;
  const once = new DeliveredOnce();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${[...remaining.keys()].join(', ')} timed out`)), timeoutMs);
      // Also reported for batches of transaction markers or aborted records only.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }: { payload: { topic: string; partition: number; lastOffset: string } }) => {
        const range = remaining.get(`${payload.topic}/${payload.partition}`);
        if (range !== undefined && BigInt(payload.lastOffset) + 1n >= range.end) remaining.delete(`${payload.topic}/${payload.partition}`);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const range = open.find((r) => r.topic === batch.topic && r.partition === batch.partition);
            if (range === undefined) return;
            for (const m of batch.messages) if (BigInt(m.offset) >= range.from && BigInt(m.offset) < range.end && once.take(batch.topic, batch.partition, m.offset)) records += 1;
          },
        })
        .then(() => {
          for (const r of open) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.from.toString() });
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

export interface GroupTopics {
  groupId: string;
  topics: string[];
}

/** The consumer groups whose id contains `namespace`, each with the topics it committed offsets for. */
export async function groupsOf(admin: Admin, namespace: string): Promise<GroupTopics[]> {
  const { groups } = await admin.listGroups();
  const ours = groups.map((g) => g.groupId).filter((id) => id.includes(namespace)).sort();
  return Promise.all(ours.map(async (groupId) => ({ groupId, topics: (await admin.fetchOffsets({ groupId })).map((t) => t.topic).sort() })));
}

export interface GroupsReading {
  /** data records some group has yet to read */
  unread: number;
  /** every group's committed offsets and the topics' ends, as text: equal texts, no movement in between */
  offsets: string;
}

/** Whether `groups` have read everything, with one reader for all: per partition from the lowest committed offset. */
export async function readingOf(kafka: Kafka, admin: Admin, groups: readonly GroupTopics[]): Promise<GroupsReading> {
  const lowest = new Map<string, Range>();
  const offsets: string[] = [];
  for (const g of groups) {
    for (const r of await partitionOffsets(admin, g.groupId, g.topics)) {
      offsets.push(`${g.groupId} ${r.topic}/${r.partition} ${r.from}..${r.end}`);
      const key = `${r.topic}/${r.partition}`;
      const seen = lowest.get(key);
      if (seen === undefined || r.from < seen.from) lowest.set(key, r);
    }
  }
  return { unread: await dataRecordsIn(kafka, [...lowest.values()]), offsets: offsets.join('\n') };
}

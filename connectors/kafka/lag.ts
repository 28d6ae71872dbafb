/**
 * Consumer-group progress as an operator reads it: per group, the committed offsets against the
 * topics' ends (lag) and how fast the committed offsets move (records/s between two samples).
 */
import type { Admin } from 'kafkajs';

export interface GroupProgress {
  groupId: string;
  /** sum over partitions of committed offsets (a partition never committed counts from its low offset) */
  committed: bigint;
  /** sum over partitions of end offsets (the last stable offset) */
  end: bigint;
  lag: bigint;
}

/** Per partition of a topic, its low and end (last stable) offsets. */
export type TopicEnds = Map<number, { low: bigint; high: bigint }>;

export async function topicEnds(admin: Admin, topic: string): Promise<TopicEnds> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
}

/** `ends`: the topics' offsets when the caller read them already (one read for many groups). */
export async function groupProgress(admin: Admin, groupId: string, topics: readonly string[], ends?: ReadonlyMap<string, TopicEnds>): Promise<GroupProgress> {
  let committed = 0n;
  let end = 0n;
  const offsets = await admin.fetchOffsets({ groupId, topics: [...topics] });
  for (const topic of offsets) {
    const range = ends?.get(topic.topic) ?? (await topicEnds(admin, topic.topic));
    for (const p of topic.partitions) {
      const r = range.get(p.partition);
      if (r === undefined) continue;
      // -1: nothing committed yet; the group then starts at the partition's first offset.
      const at = BigInt(p.offset) < 0n ? r.low : BigInt(p.offset);
      committed += at;
      end += r.high;
    }
  }
  return { groupId, committed, end, lag: end > committed ? end - committed : 0n };
}

/** Records per second a group committed between two samples taken `ms` apart. */
export function ratePerSecond(before: GroupProgress | undefined, after: GroupProgress, ms: number): number {
  if (before === undefined || ms <= 0) return 0;
  const moved = after.committed - before.committed;
  return moved > 0n ? Number(moved) / (ms / 1000) : 0;
}

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

export async function groupProgress(admin: Admin, groupId: string, topics: readonly string[]): Promise<GroupProgress> {
  let committed = 0n;
  let end = 0n;
  const offsets = await admin.fetchOffsets({ groupId, topics: [...topics] });
  for (const topic of offsets) {
    const ends = new Map((await admin.fetchTopicOffsets(topic.topic)).map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
    for (const p of topic.partitions) {
      const range = ends.get(p.partition);
      if (range === undefined) continue;
      // -1: nothing committed yet; the group then starts at the partition's first offset.
      const at = BigInt(p.offset) < 0n ? range.low : BigInt(p.offset);
      committed += at;
      end += range.high;
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

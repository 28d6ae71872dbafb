/**
 * Which event-time buckets a run judges. Buckets are 5 minutes of the source's wall clock
 * (RTDW_TIMEZONE); a bucket [start, end) is judged once the gating job's published watermark W
 * has passed it by the allowed lateness, as Flink's WindowOperator drops (finalises) a window once
 * `window.maxTimestamp() + allowedLateness <= watermark`, i.e. end - 1 + lateness <= W. Newer
 * buckets, and all of them when the job has published no progress, are pending.
 */
import { formatInstant, formatWall, latestInstant, wallOf } from './wall-clock.js';

export const BUCKET_MS = 300_000;

export interface GatingProgress {
  /** the job whose watermark gates the buckets */
  job: string;
  /** its latest published watermark (UTC epoch ms); undefined: no progress row */
  watermark: number | undefined;
  allowedLatenessMs: number;
}

export interface JudgedWindow {
  zone: string;
  /** the requested instants */
  from: number;
  to: number;
  /** wall ms, bucket-aligned: [fromWall, judgedUntilWall) is judged, [judgedUntilWall, toWall) pending */
  fromWall: number;
  judgedUntilWall: number;
  toWall: number;
  progress: GatingProgress;
  /** why the pending buckets are pending */
  pendingReason: string;
}

/** Whether the bucket ending at wall ms `end` is final under `progress`; a wall time read twice (DST overlap) counts at its later instant. */
export function bucketJudged(zone: string, end: number, progress: GatingProgress): boolean {
  if (progress.watermark === undefined) return false;
  return latestInstant(zone, end) - 1 + progress.allowedLatenessMs <= progress.watermark;
}

export function judgedWindow(zone: string, from: number, to: number, progress: GatingProgress): JudgedWindow {
  if (!(from < to)) throw new RangeError(`--from (${formatInstant(from)}) must be before --to (${formatInstant(to)})`);
  const fromWall = Math.floor(wallOf(zone, from) / BUCKET_MS) * BUCKET_MS;
  const toWall = Math.ceil(wallOf(zone, to) / BUCKET_MS) * BUCKET_MS;
  let until = fromWall;
  if (progress.watermark !== undefined) {
    // Start near the answer, then walk to the last judged bucket end (a few steps, DST included).
    const guess = Math.floor(wallOf(zone, progress.watermark - progress.allowedLatenessMs + 1) / BUCKET_MS) * BUCKET_MS;
    until = Math.min(toWall, Math.max(fromWall, guess));
    while (until > fromWall && !bucketJudged(zone, until, progress)) until -= BUCKET_MS;
    while (until + BUCKET_MS <= toWall && bucketJudged(zone, until + BUCKET_MS, progress)) until += BUCKET_MS;
  }
  const pendingReason =
    progress.watermark === undefined
      ? `no progress row for job ${JSON.stringify(progress.job)} in pipeline_progress`
      : `watermark of job ${JSON.stringify(progress.job)} is ${formatInstant(progress.watermark)}; a bucket is judged once it passes the bucket's end by the allowed lateness (${progress.allowedLatenessMs} ms)`;
  return { zone, from, to, fromWall, judgedUntilWall: until, toWall, progress, pendingReason };
}

export function judgedBuckets(window: JudgedWindow): number {
  return (window.judgedUntilWall - window.fromWall) / BUCKET_MS;
}

export function pendingBuckets(window: JudgedWindow): number {
  return (window.toWall - window.judgedUntilWall) / BUCKET_MS;
}

/** The judged wall-clock range as the text both engines compare DATETIME(3) with. */
export function judgedRangeText(window: JudgedWindow): { from: string; to: string } {
  return { from: formatWall(window.fromWall), to: formatWall(window.judgedUntilWall) };
}

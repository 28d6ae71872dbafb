/**
 * The report model every check fills in, and the interface a check implements. Check 1 (buckets)
 * and check 2 (rows) compare the mirror; check 3 is `ads` (the ADS tables recomputed in batch vs
 * ClickHouse) and `screens` (ClickHouse vs the Redis keys present), with their own locators (window,
 * dimensions; Redis key and field) and the same rows of the report.
 */
import type { ClickHouseReader } from './clickhouse.js';
import type { MysqlReader } from './mysql.js';
import type { TableSpec } from './tables.js';
import type { GatingProgress, JudgedWindow } from './window.js';
import type { ScreenSource } from './ads/screens.js';

export interface Difference {
  /** what is compared: `count`, `sum(amount)`, a column, `row`, `checksum` */
  measure: string;
  source: string | null;
  sink: string | null;
  /** `sink - source` for figures; otherwise what differs (`missing in mirror`, `changed`) */
  difference: string;
}

export type MismatchKind = 'figures' | 'missing' | 'extra' | 'different' | 'checksum';

export interface Mismatch {
  check: string;
  table: string;
  /** the bucket or key as the report prints it */
  location: string;
  kind: MismatchKind;
  differences: Difference[];
  /** what the check needs to read this place again (a bucket's bounds, a key) */
  locator: Record<string, string>;
}

/** Buckets the watermark has not passed yet: reported, not judged. */
export interface Pending {
  check: string;
  table: string;
  /** wall-clock bucket bounds [from, to) */
  from: string;
  to: string;
  buckets: number;
  reason: string;
}

export interface CheckResult {
  check: string;
  table: string;
  /** how much was judged, e.g. 288 buckets or 1,000,000 rows */
  judged: { count: number; unit: string };
  /** exact number of mismatches; `mismatches` lists at most the report's limit of them */
  mismatchCount: number;
  mismatches: Mismatch[];
  pending: Pending[];
  /** differences gone when read again: changes that were still in flight */
  settled: number;
  notes: string[];
}

export interface CheckLimits {
  /** rows per chunk of the row checksums (one bounded MySQL read each) */
  chunkRows: number;
  /** a mismatching range of at most this many rows is read row by row instead of bisected */
  leafRows: number;
  /** sub-ranges a mismatching range is split into */
  bisectionFactor: number;
  /** width of the primary-key ranges of tables without an event time (check 1) */
  keyRangeWidth: number;
  /** mismatches listed per check and table (all are counted) */
  maxListed: number;
}

/** What a run was asked to judge, for checks that window by their own job (check 3). */
export interface RunScope {
  /** UTC epoch ms, [from, to) */
  from: number;
  to: number;
  timezone: string;
  allowedLatenessMs: number;
  /** tables named by --tables (source or ADS tables); undefined: every one */
  tables: readonly string[] | undefined;
}

export interface CheckContext {
  mysql: MysqlReader;
  clickhouse: ClickHouseReader;
  /** the mirrored tables (checks 1 and 2) */
  tables: TableSpec[];
  /** the buckets the gating job (--job) has passed */
  window: JudgedWindow;
  limits: CheckLimits;
  run: RunScope;
  /** a job's published watermark, with the run's allowed lateness */
  progressOf(job: string): Promise<GatingProgress>;
  /** Redis as the screens read it, connected on first use */
  screens(): Promise<ScreenSource>;
}

export interface Check {
  readonly name: string;
  /** one result per table compared */
  run(ctx: CheckContext): Promise<CheckResult[]>;
  /** `result`'s listed mismatches read again: those still there remain, the others count as settled */
  recheck(ctx: CheckContext, result: CheckResult): Promise<CheckResult>;
}

/** `result` after a recheck found `still` of its listed mismatches. */
export function afterRecheck(result: CheckResult, still: Mismatch[]): CheckResult {
  const gone = result.mismatches.length - still.length;
  return { ...result, mismatches: still, mismatchCount: result.mismatchCount - gone, settled: result.settled + gone };
}

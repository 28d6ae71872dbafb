/**
 * `rtdw reconcile --repair`: the mirror's differing rows re-sent through the pipeline, never written to
 * ClickHouse directly and without touching the source: each table's missing and different primary keys
 * (and the key ranges whose checksums alone differ) are asked of the CDC as snapshots of key ranges
 * through its signal topic (`rtdw cdc snapshot`, connectors/mysql-binlog/snapshot-signals.ts). The CDC
 * reads those rows as they are now, between its watermarks, and publishes them as INSERTs; the ODS
 * mirror upserts them with the newer version of their Kafka offset. Rows extra in the mirror have no
 * source row to re-send: they are reported as not repairable (a delete needs a change in the source).
 * The run then reads its differences again until they are gone or the timeout passes.
 */
import type { RtdwConfig } from '../../schemas/config.js';
import type { SnapshotKeyRange } from '../../connectors/mysql-binlog/position-store.js';
import type { CheckResult } from './check.js';
import { BUCKETS_CHECK } from './buckets.js';
import { ROWS_CHECK } from './rows.js';

/** Keys closer than this are re-sent in one range (re-sending a row that matched is harmless: same data, newer version). */
const MERGE_GAP = 100n;
/** The upper bound of an open range: every BIGINT key is at most this. */
const MAX_KEY = 9_223_372_036_854_775_807n;

export interface RepairRequest {
  table: string;
  /** primary keys (after, upTo] */
  ranges: Array<{ after: string | null; upTo: string }>;
  /** differing keys they hold */
  keys: number;
  /** the signal topic's offset of the request */
  offset?: string;
}

export interface RepairReport {
  requested: RepairRequest[];
  /** `table key=…`: rows extra in the mirror, which a snapshot cannot remove */
  notRepairable: string[];
  /** listed mismatches of checks 1 and 2 gone after the repair, and those still there */
  repaired: number;
  remaining: number;
  waitedMs: number;
  /** why the repair could not be requested */
  error?: string;
}

/** Sorted keys as ranges (after, upTo], neighbours within MERGE_GAP in one. */
export function keyRanges(keys: readonly bigint[]): Array<{ after: bigint; upTo: bigint }> {
  const sorted = [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Array<{ after: bigint; upTo: bigint }> = [];
  for (const k of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && k - last.upTo <= MERGE_GAP) last.upTo = k;
    else out.push({ after: k - 1n, upTo: k });
  }
  return out;
}

/** What to re-send per table, from the listed mismatches of check 2. */
export function repairPlan(results: readonly CheckResult[]): { requests: RepairRequest[]; notRepairable: string[] } {
  const requests: RepairRequest[] = [];
  const notRepairable: string[] = [];
  for (const r of results) {
    if (r.check !== ROWS_CHECK || r.mismatches.length === 0) continue;
    const keys: bigint[] = [];
    const segments: RepairRequest['ranges'] = [];
    for (const m of r.mismatches) {
      if (m.kind === 'extra') notRepairable.push(`${r.table} ${m.location}`);
      else if (m.kind === 'checksum') segments.push({ after: m.locator.lo === '' || m.locator.lo === undefined ? null : m.locator.lo, upTo: m.locator.hi === '' || m.locator.hi === undefined ? String(MAX_KEY) : m.locator.hi });
      else if (m.locator.key !== undefined) keys.push(BigInt(m.locator.key));
    }
    const ranges = [...keyRanges(keys).map((k) => ({ after: String(k.after), upTo: String(k.upTo) })), ...segments];
    if (ranges.length > 0) requests.push({ table: r.table, ranges, keys: keys.length });
  }
  return { requests, notRepairable };
}

/** Sends the plan's requests to the CDC (CDC_NAME's signal topic); each request gets its offset. */
export async function requestRepairs(config: RtdwConfig, requests: RepairRequest[]): Promise<void> {
  const { requestSnapshot } = await import('../../connectors/mysql-binlog/main.js');
  for (const request of requests) {
    const ranges: SnapshotKeyRange[] = request.ranges.map((r) => ({ after: r.after === null ? null : [r.after], upTo: [r.upTo] }));
    const sent = await requestSnapshot(config, [request.table], ranges);
    request.offset = sent.offset;
  }
}

/** Listed mismatches a repair of `requests` can remove: of checks 1 and 2, in a requested table, not an extra row. */
export function repairable(results: readonly CheckResult[], requests: readonly RepairRequest[]): number {
  const tables = new Set(requests.map((r) => r.table));
  return results.reduce((n, r) => n + (tables.has(r.table) && (r.check === ROWS_CHECK || r.check === BUCKETS_CHECK) ? r.mismatches.filter((m) => m.kind !== 'extra').length : 0), 0);
}

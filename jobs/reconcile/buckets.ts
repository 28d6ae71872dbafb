/**
 * Check 1, figures per bucket: for every mirrored table, the row count and the sum of each numeric
 * column per bucket, MySQL vs `ods_<table> FINAL WHERE _is_deleted = 0`.
 * - Tables with an event time: 5-minute buckets of its wall clock over the judged part of
 *   --from/--to (window.ts). Both engines cut the same buckets without zone rules: MySQL from
 *   TO_SECONDS (calendar arithmetic on the DATETIME), ClickHouse from the DateTime64's own wall
 *   clock (epoch seconds plus its zone's offset), and both filter on the same wall-clock text.
 * - Tables without one (areas, products, order_items): ranges of `keyRangeWidth` primary keys,
 *   judged in full (no watermark can gate rows without a time).
 * One aggregate statement per table and side: its result is bounded by the number of buckets.
 */
import { afterRecheck, type Check, type CheckContext, type CheckResult, type Difference, type Mismatch } from './check.js';
import { canonicalDecimal, decimalDifference } from './figures.js';
import { numericColumns, type ColumnSpec, type TableSpec } from './tables.js';
import { quoted } from './sql.js';
import { BUCKET_MS, judgedBuckets, pendingBuckets } from './window.js';
import { formatWall, parseWall } from './wall-clock.js';

export const BUCKETS_CHECK = 'buckets';

/** Seconds from year 0 (TO_SECONDS) to 1970-01-01, to read MySQL's wall clock as epoch-style seconds. */
const TO_SECONDS_EPOCH = 62_167_219_200;

/** A bucket range, [from, to): wall ms of an event time, or primary keys. */
type BucketRange = { from: number; to: number } | { from: bigint; to: bigint };

interface BucketFigures {
  count: string;
  sums: string[];
}

type FiguresByBucket = Map<string, BucketFigures>;

function timeBucketLabel(start: number): string {
  const from = formatWall(start).slice(0, 16);
  const to = formatWall(start + BUCKET_MS).slice(0, 16);
  return `${from} – ${to.slice(0, 10) === from.slice(0, 10) ? to.slice(11) : to}`;
}

function keyBucketLabel(key: string, start: bigint, width: number): string {
  return `${key} ${start}–${start + BigInt(width) - 1n}`;
}

function sumExpression(c: ColumnSpec, side: 'source' | 'sink'): string {
  if (side === 'source') return `CAST(SUM(${quoted(c.name)}) AS CHAR)`;
  // Integer sums in Int128 so they cannot wrap; decimal sums widen to Decimal(38, s) by themselves.
  return c.kind === 'integer' ? `toString(sum(toInt128(${quoted(c.name)})))` : `toString(sum(${quoted(c.name)}))`;
}

function toFigures(rows: Record<string, string | null>[], sums: number): FiguresByBucket {
  const out: FiguresByBucket = new Map();
  for (const row of rows) {
    out.set(String(row.bucket), { count: String(row.n), sums: Array.from({ length: sums }, (_, i) => row[`s${i}`] ?? '0') });
  }
  return out;
}

/** Figures per bucket on both sides over `range`: wall ms for event-time tables; keys otherwise, the whole table when undefined. */
async function readFigures(ctx: CheckContext, spec: TableSpec, range: BucketRange | undefined): Promise<[FiguresByBucket, FiguresByBucket]> {
  const numeric = numericColumns(spec);
  const sourceSums = numeric.map((c, i) => `${sumExpression(c, 'source')} AS s${i}`);
  const sinkSums = numeric.map((c, i) => `${sumExpression(c, 'sink')} AS s${i}`);
  const table = `${quoted(ctx.mysql.database)}.${quoted(spec.table)}`;
  let source: Promise<Record<string, string | null>[]>;
  let sink: Promise<Record<string, string | null>[]>;
  if (spec.eventTime !== undefined) {
    if (range === undefined || typeof range.from !== 'number' || typeof range.to !== 'number') throw new Error(`${spec.table}: event-time buckets need a wall-clock range`);
    const ts = quoted(spec.eventTime.name);
    const from = formatWall(range.from);
    const to = formatWall(range.to);
    source = ctx.mysql.rows(
      `SELECT CAST((TO_SECONDS(${ts}) - ${TO_SECONDS_EPOCH}) DIV ${BUCKET_MS / 1000} AS CHAR) AS bucket, COUNT(*) AS n${sourceSums.map((s) => `, ${s}`).join('')}
         FROM ${table} WHERE ${ts} >= ? AND ${ts} < ? GROUP BY 1`,
      [from, to],
    );
    sink = ctx.clickhouse.rows(
      `SELECT toString(intDiv(toUnixTimestamp(${ts}) + timeZoneOffset(${ts}), ${BUCKET_MS / 1000})) AS bucket, toString(count()) AS n${sinkSums.map((s) => `, ${s}`).join('')}
         FROM ${quoted(spec.mirror)} FINAL WHERE _is_deleted = 0 AND ${ts} >= {from:String} AND ${ts} < {to:String} GROUP BY bucket`,
      { from, to },
    );
  } else {
    const k = quoted(spec.key.name);
    const width = ctx.limits.keyRangeWidth;
    // Floor division on both sides (DIV and intDiv truncate toward zero), so negative keys bucket alike.
    source = ctx.mysql.rows(
      `SELECT CAST((${k} - MOD(MOD(${k}, ?) + ?, ?)) DIV ? AS CHAR) AS bucket, COUNT(*) AS n${sourceSums.map((s) => `, ${s}`).join('')}
         FROM ${table}${range === undefined ? '' : ` WHERE ${k} >= ? AND ${k} < ?`} GROUP BY 1`,
      [width, width, width, width, ...(range === undefined ? [] : [range.from, range.to])],
    );
    const key = `toInt128(${k})`;
    sink = ctx.clickhouse.rows(
      `SELECT toString(intDiv(${key} - ((${key} % {w:Int64}) + {w:Int64}) % {w:Int64}, {w:Int64})) AS bucket, toString(count()) AS n${sinkSums.map((s) => `, ${s}`).join('')}
         FROM ${quoted(spec.mirror)} FINAL WHERE _is_deleted = 0${range === undefined ? '' : ` AND ${key} >= {from:Int128} AND ${key} < {to:Int128}`} GROUP BY bucket`,
      { w: width, ...(range === undefined ? {} : { from: range.from, to: range.to }) },
    );
  }
  const [s, k] = await Promise.all([source, sink]);
  return [toFigures(s, numeric.length), toFigures(k, numeric.length)];
}

/** The buckets whose figures differ, in bucket order. */
function compareFigures(spec: TableSpec, source: FiguresByBucket, sink: FiguresByBucket, width: number): Mismatch[] {
  const numeric = numericColumns(spec);
  const zero: BucketFigures = { count: '0', sums: numeric.map(() => '0') };
  const buckets = [...new Set([...source.keys(), ...sink.keys()])].sort((a, b) => Number(a) - Number(b));
  const out: Mismatch[] = [];
  for (const bucket of buckets) {
    const s = source.get(bucket) ?? zero;
    const k = sink.get(bucket) ?? zero;
    const differences: Difference[] = [];
    const measures: [string, string, string][] = [['count', s.count, k.count], ...numeric.map((c, i): [string, string, string] => [`sum(${c.name})`, s.sums[i] ?? '0', k.sums[i] ?? '0'])];
    for (const [measure, a, b] of measures) {
      if (canonicalDecimal(a) !== canonicalDecimal(b)) differences.push({ measure, source: a, sink: b, difference: decimalDifference(a, b) });
    }
    if (differences.length === 0) continue;
    const base = { check: BUCKETS_CHECK, table: spec.table, kind: 'figures' as const, differences };
    if (spec.eventTime !== undefined) {
      const start = Number(bucket) * BUCKET_MS;
      out.push({ ...base, location: timeBucketLabel(start), locator: { column: spec.eventTime.name, from: formatWall(start), to: formatWall(start + BUCKET_MS) } });
    } else {
      const start = BigInt(bucket) * BigInt(width);
      out.push({ ...base, location: keyBucketLabel(spec.key.name, start, width), locator: { column: spec.key.name, from: String(start), to: String(start + BigInt(width)) } });
    }
  }
  return out;
}

function locatorRange(spec: TableSpec, locator: Record<string, string>): BucketRange {
  if (spec.eventTime === undefined) return { from: BigInt(locator.from ?? ''), to: BigInt(locator.to ?? '') };
  const from = parseWall(locator.from ?? '');
  const to = parseWall(locator.to ?? '');
  if (from === undefined || to === undefined) throw new Error(`${spec.table}: bad bucket bounds ${JSON.stringify(locator)}`);
  return { from, to };
}

async function checkTable(ctx: CheckContext, spec: TableSpec): Promise<CheckResult> {
  const { window, limits } = ctx;
  const base = { check: BUCKETS_CHECK, table: spec.table, settled: 0, notes: spec.notCompared.map((n) => `not compared: ${n}`) };
  if (spec.eventTime === undefined) {
    const [source, sink] = await readFigures(ctx, spec, undefined);
    const mismatches = compareFigures(spec, source, sink, limits.keyRangeWidth);
    const judged = new Set([...source.keys(), ...sink.keys()]).size;
    return { ...base, judged: { count: judged, unit: `key ranges of ${limits.keyRangeWidth}` }, mismatchCount: mismatches.length, mismatches: mismatches.slice(0, limits.maxListed), pending: [] };
  }
  const pending = pendingBuckets(window) === 0
    ? []
    : [{ check: BUCKETS_CHECK, table: spec.table, from: formatWall(window.judgedUntilWall), to: formatWall(window.toWall), buckets: pendingBuckets(window), reason: window.pendingReason }];
  if (judgedBuckets(window) === 0) return { ...base, judged: { count: 0, unit: '5-min buckets' }, mismatchCount: 0, mismatches: [], pending };
  const [source, sink] = await readFigures(ctx, spec, { from: window.fromWall, to: window.judgedUntilWall });
  const mismatches = compareFigures(spec, source, sink, limits.keyRangeWidth);
  return { ...base, judged: { count: judgedBuckets(window), unit: '5-min buckets' }, mismatchCount: mismatches.length, mismatches: mismatches.slice(0, limits.maxListed), pending };
}

export const bucketsCheck: Check = {
  name: BUCKETS_CHECK,
  async run(ctx) {
    const results: CheckResult[] = [];
    for (const spec of ctx.tables) results.push(await checkTable(ctx, spec));
    return results;
  },
  async recheck(ctx, result) {
    const spec = ctx.tables.find((t) => t.table === result.table);
    if (spec === undefined) return result;
    const still: Mismatch[] = [];
    for (const m of result.mismatches) {
      const [source, sink] = await readFigures(ctx, spec, locatorRange(spec, m.locator));
      still.push(...compareFigures(spec, source, sink, ctx.limits.keyRangeWidth));
    }
    return afterRecheck(result, still);
  },
};

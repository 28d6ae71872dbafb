/**
 * Check 2, row level, as data-diff and sync-diff-inspector do it: the source is walked in chunks
 * of `chunkRows` primary keys (one bounded, lock-free MySQL read each); each chunk's count and
 * checksum (sum of a 64-bit hash of every row's canonical text, computed in SQL on both sides) is
 * compared with the mirror's over the same key range. A chunk that differs is bisected by key value
 * into `bisectionFactor` sub-ranges, recursively, until a range holds at most `leafRows` rows; those
 * are read on both sides and compared row by row: keys missing from the mirror, extra in it, and
 * rows whose columns differ, with both values.
 * Tables with an event time are compared over the judged range of it (window.ts); a row whose event
 * time differs between the two sides is a changed row, not one missing and one extra.
 */
import { afterRecheck, type Check, type CheckContext, type CheckResult, type Difference, type Mismatch } from './check.js';
import { decimalDifference } from './figures.js';
import { RowSides, sameChecksum, type RowText, type Segment, type TimeFilter } from './row-sides.js';
import type { TableSpec } from './tables.js';
import { judgedBuckets, judgedRangeText, pendingBuckets } from './window.js';
import { formatWall } from './wall-clock.js';

export const ROWS_CHECK = 'rows';

/** Keys per point lookup (IN list) on either side. */
const LOOKUP_BATCH = 1000;

/** Mismatches found: all counted, the first `max` listed. */
class Findings {
  count = 0;
  readonly listed: Mismatch[] = [];
  constructor(private readonly max: number) {}
  add(m: Mismatch): void {
    this.count += 1;
    if (this.listed.length < this.max) this.listed.push(m);
  }
}

function rowText(sides: RowSides, row: RowText): string {
  return sides.spec.columns.map((c) => `${c.name}=${row[c.name] ?? 'NULL'}`).join(' ');
}

function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The mismatch of one key given its source and mirror rows (either may be absent), or undefined
 * when they agree or neither lies in the judged range. `deleted`: the mirror's delete version.
 */
function classify(sides: RowSides, key: string, source: RowText | undefined, sink: RowText | undefined, deleted: string | undefined): Mismatch | undefined {
  const inSource = source !== undefined && sides.inRange(source);
  const inSink = sink !== undefined && sides.inRange(sink);
  if (!inSource && !inSink) return undefined;
  const base = { check: ROWS_CHECK, table: sides.spec.table, location: `${sides.spec.key.name}=${key}`, locator: { key } };
  if (source !== undefined && sink !== undefined) {
    const differences: Difference[] = [];
    for (const c of sides.spec.columns) {
      const a = source[c.name] ?? null;
      const b = sink[c.name] ?? null;
      if (a === b) continue;
      const numeric = (c.kind === 'integer' || c.kind === 'decimal') && a !== null && b !== null;
      differences.push({ measure: c.name, source: a, sink: b, difference: numeric ? decimalDifference(a, b) : 'changed' });
    }
    return differences.length === 0 ? undefined : { ...base, kind: 'different', differences };
  }
  if (source !== undefined) {
    const difference = deleted === undefined ? 'missing in mirror' : `missing in mirror: deleted there (_is_deleted = 1, _version ${deleted})`;
    return { ...base, kind: 'missing', differences: [{ measure: 'row', source: rowText(sides, source), sink: null, difference }] };
  }
  return { ...base, kind: 'extra', differences: [{ measure: 'row', source: null, sink: rowText(sides, sink as RowText), difference: 'extra in mirror' }] };
}

/**
 * Mismatches of `keys` given the rows already read; keys seen on one side only are looked up on the
 * other without the event-time filter (the row may be there with another event time).
 */
async function judgeKeys(sides: RowSides, keys: string[], source: Map<string, RowText>, sink: Map<string, RowText>): Promise<Mismatch[]> {
  const sourceOnly = keys.filter((k) => source.has(k) && !sink.has(k)).map((k) => BigInt(k));
  const sinkOnly = keys.filter((k) => sink.has(k) && !source.has(k)).map((k) => BigInt(k));
  if (sides.filter !== undefined) {
    for (const batch of batches(sourceOnly, LOOKUP_BATCH)) for (const [k, row] of await sides.sinkRowsByKey(batch)) sink.set(k, row);
    for (const batch of batches(sinkOnly, LOOKUP_BATCH)) for (const [k, row] of await sides.sourceRowsByKey(batch)) source.set(k, row);
  }
  const deleted = new Map<string, string>();
  for (const batch of batches(sourceOnly.filter((k) => !sink.has(String(k))), LOOKUP_BATCH)) for (const [k, v] of await sides.deletedInMirror(batch)) deleted.set(k, v);
  const out: Mismatch[] = [];
  for (const key of keys) {
    const m = classify(sides, key, source.get(key), sink.get(key), deleted.get(key));
    if (m !== undefined) out.push(m);
  }
  return out;
}

function sortedKeys(...maps: Map<string, RowText>[]): string[] {
  const keys = new Set(maps.flatMap((m) => [...m.keys()]));
  return [...keys].sort((a, b) => {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
}

class TableRowDiff {
  readonly findings: Findings;
  settled = 0;
  chunks = 0;
  rows = 0;

  constructor(private readonly ctx: CheckContext, readonly sides: RowSides) {
    this.findings = new Findings(ctx.limits.maxListed);
  }

  private async leaf(segment: Segment): Promise<number> {
    const [source, sink] = await this.sides.rowsIn(segment);
    const found = await judgeKeys(this.sides, sortedKeys(source, sink), source, sink);
    for (const m of found) this.findings.add(m);
    return found.length;
  }

  /** Mismatches under `segment`, whose checksums differ with these counts; returns how many were found. */
  private async bisect(segment: Segment, sourceCount: number, sinkCount: number): Promise<number> {
    const { leafRows, bisectionFactor } = this.ctx.limits;
    if (Math.max(sourceCount, sinkCount) <= leafRows) return this.leaf(segment);
    const bounds = await this.sides.bounds(segment);
    if (bounds === undefined) return 0;
    const span = bounds.max - bounds.min + 1n;
    const parts = BigInt(bisectionFactor);
    if (span <= parts) return this.leaf(segment);
    let found = 0;
    let lo = bounds.min - 1n;
    for (let i = 1n; i <= parts; i += 1n) {
      const hi = i === parts ? bounds.max : bounds.min - 1n + (span * i) / parts;
      const sub = { lo, hi };
      lo = hi;
      const [a, b] = await this.sides.checksums(sub);
      if (!sameChecksum(a, b)) found += await this.bisect(sub, a.count, b.count);
    }
    return found;
  }

  /** A chunk whose checksums differ: its rows' mismatches, or — when none shows as text — the checksum itself if it still differs. */
  private async differingChunk(segment: Segment, sourceCount: number, sinkCount: number): Promise<void> {
    if ((await this.bisect(segment, sourceCount, sinkCount)) > 0) return;
    const [a, b] = await this.sides.checksums(segment);
    if (sameChecksum(a, b)) {
      this.settled += 1;
      return;
    }
    this.findings.add(checksumMismatch(this.sides, segment, a.sum, b.sum));
  }

  async run(): Promise<void> {
    const { chunkRows } = this.ctx.limits;
    // The next source chunk is read while the mirror answers for the current one.
    let next = this.sides.sourceChunk(undefined, chunkRows);
    let lo: bigint | undefined;
    for (;;) {
      const chunk = await next;
      const last = chunk.count < chunkRows || chunk.last === undefined;
      // The last chunk is open above, so that mirror rows past the source's highest key are seen.
      const segment: Segment = { ...(lo === undefined ? {} : { lo }), ...(last ? {} : { hi: chunk.last }) };
      if (!last) {
        next = this.sides.sourceChunk(chunk.last, chunkRows);
        next.catch(() => undefined); // awaited on the next turn; a failure surfaces there
      }
      const sink = await this.sides.sinkChecksum(segment);
      this.chunks += 1;
      this.rows += chunk.count;
      if (!sameChecksum(chunk, sink)) await this.differingChunk(segment, chunk.count, sink.count);
      if (last) return;
      lo = chunk.last;
    }
  }
}

function checksumMismatch(sides: RowSides, segment: Segment, source: string, sink: string): Mismatch {
  const k = sides.spec.key.name;
  const from = segment.lo === undefined ? '' : String(segment.lo);
  const to = segment.hi === undefined ? '' : String(segment.hi);
  return {
    check: ROWS_CHECK,
    table: sides.spec.table,
    location: `${k} (${from || '-∞'}, ${to || '+∞'}]`,
    kind: 'checksum',
    // Every row compares equal as text while the hashed bytes differ (e.g. bytes that are not UTF-8 in the mirror).
    differences: [{ measure: 'checksum', source, sink, difference: 'rows equal as text, checksums differ' }],
    locator: { lo: from, hi: to },
  };
}

function timeFilter(ctx: CheckContext, spec: TableSpec): TimeFilter | undefined {
  if (spec.eventTime === undefined) return undefined;
  return { column: spec.eventTime.name, ...judgedRangeText(ctx.window) };
}

async function checkTable(ctx: CheckContext, spec: TableSpec): Promise<CheckResult> {
  const { window } = ctx;
  const notes = spec.notCompared.map((n) => `not compared: ${n}`);
  const pending =
    spec.eventTime === undefined || pendingBuckets(window) === 0
      ? []
      : [{ check: ROWS_CHECK, table: spec.table, from: formatWall(window.judgedUntilWall), to: formatWall(window.toWall), buckets: pendingBuckets(window), reason: window.pendingReason }];
  if (spec.eventTime !== undefined && judgedBuckets(window) === 0) {
    return { check: ROWS_CHECK, table: spec.table, judged: { count: 0, unit: 'rows' }, mismatchCount: 0, mismatches: [], pending, settled: 0, notes };
  }
  const diff = new TableRowDiff(ctx, new RowSides(ctx, spec, timeFilter(ctx, spec)));
  await diff.run();
  notes.push(`${diff.chunks} chunk(s) of up to ${ctx.limits.chunkRows} rows`);
  return { check: ROWS_CHECK, table: spec.table, judged: { count: diff.rows, unit: 'rows' }, mismatchCount: diff.findings.count, mismatches: diff.findings.listed, pending, settled: diff.settled, notes };
}

async function recheckTable(ctx: CheckContext, result: CheckResult): Promise<CheckResult> {
  const spec = ctx.tables.find((t) => t.table === result.table);
  if (spec === undefined) return result;
  const sides = new RowSides(ctx, spec, timeFilter(ctx, spec));
  const still: Mismatch[] = [];
  const keys = result.mismatches.flatMap((m) => (m.locator.key === undefined ? [] : [m.locator.key]));
  for (const batch of batches(keys, LOOKUP_BATCH)) {
    const ids = batch.map((k) => BigInt(k));
    const [source, sink] = await Promise.all([sides.sourceRowsByKey(ids), sides.sinkRowsByKey(ids)]);
    still.push(...(await judgeKeys(sides, batch, source, sink)));
  }
  for (const m of result.mismatches) {
    if (m.kind !== 'checksum') continue;
    const segment: Segment = { ...(m.locator.lo ? { lo: BigInt(m.locator.lo) } : {}), ...(m.locator.hi ? { hi: BigInt(m.locator.hi) } : {}) };
    const [a, b] = await sides.checksums(segment);
    if (!sameChecksum(a, b)) still.push(checksumMismatch(sides, segment, a.sum, b.sum));
  }
  return afterRecheck(result, still);
}

export const rowsCheck: Check = {
  name: ROWS_CHECK,
  async run(ctx) {
    const results: CheckResult[] = [];
    for (const spec of ctx.tables) results.push(await checkTable(ctx, spec));
    return results;
  },
  recheck: recheckTable,
};

/**
 * Check 3, part one (`ads`): every ADS table recomputed in batch (recompute.ts) vs the table in
 * ClickHouse read with FINAL, over the windows the table's own job (its name in pipeline_progress)
 * has passed by the allowed lateness; the others are pending. Per key: missing from ClickHouse,
 * extra in it, or different, with every differing figure (counts exactly, amounts to the cent).
 */
import { afterRecheck, type Check, type CheckContext, type CheckResult, type Difference, type Mismatch } from '../check.js';
import { canonicalDecimal, decimalDifference } from '../figures.js';
import { formatInstant } from '../wall-clock.js';
import { AdsRecompute } from './recompute.js';
import { sinkRows } from './sink-rows.js';
import { ADS_TABLE_DEFS, keyLabel, rowKey, type AdsRow, type AdsTableDef } from './tables.js';
import { judgedWindows, windowCounts, type JudgedWindows } from './windows.js';

export const ADS_CHECK = 'ads';

const UNITS: Record<AdsTableDef['window'], string> = { hop_1h: '1 h windows', tumble_5m: '5-min windows', tumble_1m: '1-min windows', day: 'days' };

/** The ADS tables a run compares: all, or those named by --tables. */
export function selectedAdsTables(ctx: CheckContext): AdsTableDef[] {
  const only = ctx.run.tables;
  return ADS_TABLE_DEFS.filter((d) => only === undefined || only.includes(d.table));
}

export async function windowsOf(ctx: CheckContext, def: AdsTableDef): Promise<JudgedWindows> {
  return judgedWindows(def.window, ctx.run.timezone, ctx.run.from, ctx.run.to, await ctx.progressOf(def.table));
}

export function pendingOf(check: string, def: AdsTableDef, w: JudgedWindows): CheckResult['pending'] {
  const { pending } = windowCounts(w);
  if (pending === 0) return [];
  const from = w.kind === 'day' ? (w.pendingDays[0]?.day ?? '') : formatInstant(w.until);
  const to = w.kind === 'day' ? (w.pendingDays[w.pendingDays.length - 1]?.day ?? '') : formatInstant(w.end);
  return [{ check, table: def.table, from, to, buckets: pending, reason: w.pendingReason }];
}

function same(kind: AdsTableDef['figures'][number]['kind'], a: string, b: string): boolean {
  return kind === 'text' ? a === b : canonicalDecimal(a) === canonicalDecimal(b);
}

/** The mismatches between two sets of rows of `def`, in key order. */
export function compareRows(check: string, def: AdsTableDef, source: readonly AdsRow[], sink: readonly AdsRow[]): Mismatch[] {
  const s = new Map(source.map((r) => [rowKey(def, r), r]));
  const k = new Map(sink.map((r) => [rowKey(def, r), r]));
  const keys = [...new Set([...s.keys(), ...k.keys()])].sort();
  const out: Mismatch[] = [];
  for (const key of keys) {
    const a = s.get(key);
    const b = k.get(key);
    const row = (a ?? b) as AdsRow;
    const base = { check, table: def.table, location: keyLabel(def, row), locator: Object.fromEntries(def.keys.map((c) => [c, row[c] ?? ''])) };
    if (a !== undefined && b !== undefined) {
      const differences: Difference[] = [];
      for (const f of def.figures) {
        const x = a[f.name] ?? '';
        const y = b[f.name] ?? '';
        if (same(f.kind, x, y)) continue;
        differences.push({ measure: f.name, source: x, sink: y, difference: f.kind === 'text' ? 'changed' : decimalDifference(x, y) });
      }
      if (differences.length > 0) out.push({ ...base, kind: 'different', differences });
    } else if (a !== undefined) {
      out.push({ ...base, kind: 'missing', differences: def.figures.map((f) => ({ measure: f.name, source: a[f.name] ?? '', sink: null, difference: 'missing in ClickHouse' })) });
    } else if (b !== undefined) {
      out.push({ ...base, kind: 'extra', differences: def.figures.map((f) => ({ measure: f.name, source: null, sink: b[f.name] ?? '', difference: 'extra in ClickHouse' })) });
    }
  }
  return out;
}

async function compareTable(ctx: CheckContext, def: AdsTableDef, w: JudgedWindows, recompute = new AdsRecompute(ctx.mysql, ctx.clickhouse, ctx.mysql.database, ctx.run.timezone)): Promise<Mismatch[]> {
  const [source, sink] = await Promise.all([recompute.table(def, w), sinkRows(ctx.clickhouse, def, w)]);
  return compareRows(ADS_CHECK, def, source, sink);
}

export const adsCheck: Check = {
  name: ADS_CHECK,
  async run(ctx) {
    const results: CheckResult[] = [];
    // one recomputation for the run: tables built from the same rows share them
    const recompute = new AdsRecompute(ctx.mysql, ctx.clickhouse, ctx.mysql.database, ctx.run.timezone);
    for (const def of selectedAdsTables(ctx)) {
      const w = await windowsOf(ctx, def);
      const found = await compareTable(ctx, def, w, recompute);
      results.push({
        check: ADS_CHECK,
        table: def.table,
        judged: { count: windowCounts(w).judged, unit: UNITS[def.window] },
        mismatchCount: found.length,
        mismatches: found.slice(0, ctx.limits.maxListed),
        pending: pendingOf(ADS_CHECK, def, w),
        settled: 0,
        notes: [],
      });
    }
    return results;
  },
  async recheck(ctx, result) {
    const def = ADS_TABLE_DEFS.find((d) => d.table === result.table);
    if (def === undefined) return result;
    const listed = new Set(result.mismatches.map((m) => m.location));
    const still = (await compareTable(ctx, def, await windowsOf(ctx, def))).filter((m) => listed.has(m.location));
    return afterRecheck(result, still);
  },
};

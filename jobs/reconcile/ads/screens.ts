/**
 * Check 3, part two (`screens`): the Redis keys present vs ClickHouse. Every hash of the screens'
 * layout (schemas/redis-keys.ts) found under `<ns>:` whose window or day the ADS table behind it has
 * judged is compared field by field with what ClickHouse holds for it, written as the Redis sink
 * writes it (connectors/redis: amounts with two places, rankings as JSON arrays). A key that is not
 * there is not judged (TTLs expire windows); in a trend key, minutes before its oldest field neither.
 */
import type { Redis } from 'ioredis';
import { formatDecimal, parseDecimal } from '../../runtime/core/decimal.js';
import { connected, createScreenRedis, type ScreenRedis } from '../../../connectors/screen/reader.js';
import { DAILY_KPIS, AMOUNT_KPIS, hotAdsValue, orderCityField, orderCityValue, redisLayout, top3CityValue, type HashKind, type RedisLayout } from '../../../schemas/redis-keys.js';
import { afterRecheck, type Check, type CheckContext, type CheckResult, type Difference, type Mismatch } from '../check.js';
import { decimalDifference } from '../figures.js';
import { pendingOf, windowsOf } from './ads-check.js';
import { sinkRows } from './sink-rows.js';
import { ADS_TABLE_DEFS, type AdsRow, type AdsTableDef } from './tables.js';
import type { JudgedWindows } from './windows.js';

export const SCREENS_CHECK = 'screens';

export interface ScreenSource {
  readonly layout: RedisLayout;
  /** every hash of `kind` present: its id (window start ms, ad id or day) → fields */
  hashes(kind: HashKind): Promise<Map<string, Record<string, string>>>;
  close(): Promise<void>;
}

/** Redis as the screens read it (a server or a Cluster, REDIS_URL / REDIS_CLUSTER_NODES), read-only; throws when it does not answer. */
export async function connectScreens(url: string, namespace: string, hashTags: boolean, clusterNodes: Array<{ host: string; port: number }> | undefined): Promise<ScreenSource> {
  const redis: ScreenRedis = createScreenRedis(url, clusterNodes);
  await connected(redis, 10_000);
  if (redis.status !== 'ready') {
    redis.disconnect();
    // the URL may carry a password: only where it points is said
    const where = clusterNodes === undefined ? new URL(url).host : clusterNodes.map((n) => `${n.host}:${n.port}`).join(',');
    throw new Error(`Redis at ${where} is unreachable`);
  }
  const layout = redisLayout({ namespace, hashTags });
  const masters = (): Redis[] => ('nodes' in redis && typeof redis.nodes === 'function' && clusterNodes !== undefined ? (redis.nodes('master') as Redis[]) : [redis as Redis]);
  return {
    layout,
    async hashes(kind) {
      const pattern = layout.hash(kind, '*');
      const prefix = pattern.slice(0, -1 - (hashTags ? 1 : 0));
      const keys = new Set<string>();
      for (const node of masters()) {
        let cursor = '0';
        do {
          const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          for (const k of found) keys.add(k);
          cursor = next;
        } while (cursor !== '0');
      }
      const ids = [...keys].map((k) => k.slice(prefix.length, hashTags ? -1 : undefined));
      const values = await Promise.all([...keys].map((k) => redis.hgetall(k)));
      return new Map(ids.map((id, i) => [id, values[i] ?? {}]));
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** The Redis kind of each ADS table that has one. */
const KINDS: ReadonlyArray<[HashKind, string]> = [
  ['order_city_1h', 'ads_order_city_1h'],
  ['order_top3_city_1h', 'ads_order_top3_city_1h'],
  ['ad_clicks_1h', 'ads_ad_clicks_1h'],
  ['ad_click_trend_1m', 'ads_ad_click_trend_1m'],
  ['hot_ads_daily', 'ads_hot_ads_daily'],
  ['daily_kpi', 'ads_daily_kpi'],
];

const twoPlaces = (text: string): string => formatDecimal(parseDecimal(text, 2), 2);

type Hashes = Map<string, Map<string, string>>;

function put(hashes: Hashes, id: string, field: string, value: string): void {
  const h = hashes.get(id) ?? new Map<string, string>();
  h.set(field, value);
  hashes.set(id, h);
}

/** What each key of `kind` must hold, from the table's rows: id → field → value, as the Redis sink writes it. */
export function expectedHashes(kind: HashKind, rows: readonly AdsRow[]): Hashes {
  const out: Hashes = new Map();
  const ranked = (rs: readonly AdsRow[]) => [...rs].sort((a, b) => Number(a.rank) - Number(b.rank));
  const groups = (rs: readonly AdsRow[], by: (r: AdsRow) => string) => {
    const g = new Map<string, AdsRow[]>();
    for (const r of rs) g.set(by(r), [...(g.get(by(r)) ?? []), r]);
    return g;
  };
  switch (kind) {
    case 'order_city_1h':
      for (const r of rows) put(out, r.window_start ?? '', orderCityField(r.province ?? '', r.city ?? ''), orderCityValue(Number(r.orders), twoPlaces(r.amount ?? '0')));
      break;
    case 'order_top3_city_1h':
      for (const [id, rs] of groups(rows, (r) => JSON.stringify([r.window_start, r.province]))) {
        const [start, province] = JSON.parse(id) as [string, string];
        put(out, start, province, top3CityValue(ranked(rs).map((r) => ({ rank: Number(r.rank), city: r.city ?? '', orders: Number(r.orders), amount: twoPlaces(r.amount ?? '0') }))));
      }
      break;
    case 'ad_clicks_1h':
      for (const r of rows) put(out, r.window_start ?? '', r.ad_id ?? '', r.clicks ?? '');
      break;
    case 'ad_click_trend_1m':
      for (const r of rows) put(out, r.ad_id ?? '', r.minute ?? '', r.clicks ?? '');
      break;
    case 'hot_ads_daily':
      for (const [id, rs] of groups(rows, (r) => JSON.stringify([r.day, r.province]))) {
        const [day, province] = JSON.parse(id) as [string, string];
        put(out, day, province, hotAdsValue(ranked(rs).map((r) => ({ rank: Number(r.rank), ad_id: Number(r.ad_id), clicks: Number(r.clicks) }))));
      }
      break;
    case 'daily_kpi':
      for (const r of rows) for (const k of DAILY_KPIS) put(out, r.day ?? '', k, AMOUNT_KPIS.has(k) ? twoPlaces(r[k] ?? '0') : (r[k] ?? ''));
      break;
  }
  return out;
}

/** Whether the key `id` of `kind` names a window or day the table judged (a trend key: always; its minutes are filtered). */
function judgedId(kind: HashKind, id: string, w: JudgedWindows): boolean {
  if (kind === 'ad_click_trend_1m') return true;
  if (w.kind === 'day') return w.days.some((d) => d.day === id);
  const start = Number(id);
  return /^\d+$/.test(id) && start >= w.from && start < w.until && start % w.grid === 0;
}

const isNumber = (v: string): boolean => /^-?\d+(\.\d+)?$/.test(v);

/** The differences between a field's expected and actual value: figure by figure for numbers and flat JSON objects. */
function valueDifferences(expected: string, actual: string): Difference[] {
  if (isNumber(expected) && isNumber(actual)) return [{ measure: 'value', source: expected, sink: actual, difference: decimalDifference(expected, actual) }];
  try {
    const a = JSON.parse(expected) as unknown;
    const b = JSON.parse(actual) as unknown;
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const names = [...new Set([...Object.keys(x), ...Object.keys(y)])];
      const out = names.flatMap((n): Difference[] => {
        const p = x[n] === undefined ? null : String(x[n]);
        const q = y[n] === undefined ? null : String(y[n]);
        if (p === q) return [];
        return [{ measure: n, source: p, sink: q, difference: p !== null && q !== null && isNumber(p) && isNumber(q) ? decimalDifference(p, q) : 'changed' }];
      });
      // Same figures, other text (key order, spacing): the value still differs from the layout's.
      if (out.length > 0) return out;
    }
  } catch {
    // not JSON: compared as text below
  }
  return [{ measure: 'value', source: expected, sink: actual, difference: 'changed' }];
}

async function compareKind(ctx: CheckContext, kind: HashKind, def: AdsTableDef, w: JudgedWindows, screens: ScreenSource): Promise<{ keys: number; mismatches: Mismatch[] }> {
  const [present, rows] = await Promise.all([screens.hashes(kind), sinkRows(ctx.clickhouse, def, w)]);
  const expected = expectedHashes(kind, rows);
  const out: Mismatch[] = [];
  let keys = 0;
  for (const [id, fields] of [...present].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!judgedId(kind, id, w)) continue;
    keys += 1;
    const key = screens.layout.hash(kind, id);
    const want = expected.get(id) ?? new Map<string, string>();
    let inScope = (_field: string): boolean => true;
    if (kind === 'ad_click_trend_1m') {
      const minutes = Object.keys(fields).map(Number).filter((m) => Number.isSafeInteger(m));
      const oldest = Math.min(...minutes);
      inScope = (field) => Number(field) >= Math.max(w.from, oldest) && Number(field) < w.until;
    }
    const names = [...new Set([...want.keys(), ...Object.keys(fields)])].filter(inScope).sort();
    for (const field of names) {
      const a = want.get(field);
      const b = fields[field];
      const base = { check: SCREENS_CHECK, table: kind, location: `${key} ${field}`, locator: { id, field } };
      if (a !== undefined && b !== undefined) {
        if (a !== b) out.push({ ...base, kind: 'different', differences: valueDifferences(a, b) });
      } else if (a !== undefined) out.push({ ...base, kind: 'missing', differences: [{ measure: 'value', source: a, sink: null, difference: 'missing in Redis' }] });
      else if (b !== undefined) out.push({ ...base, kind: 'extra', differences: [{ measure: 'value', source: null, sink: b, difference: 'extra in Redis' }] });
    }
  }
  return { keys, mismatches: out };
}

function kindsOf(ctx: CheckContext): Array<[HashKind, AdsTableDef]> {
  return KINDS.flatMap(([kind, table]) => {
    const def = ADS_TABLE_DEFS.find((d) => d.table === table);
    return def === undefined || (ctx.run.tables !== undefined && !ctx.run.tables.includes(table)) ? [] : [[kind, def] as [HashKind, AdsTableDef]];
  });
}

export const screensCheck: Check = {
  name: SCREENS_CHECK,
  async run(ctx) {
    const screens = await ctx.screens();
    const results: CheckResult[] = [];
    for (const [kind, def] of kindsOf(ctx)) {
      const w = await windowsOf(ctx, def);
      const { keys, mismatches } = await compareKind(ctx, kind, def, w, screens);
      results.push({
        check: SCREENS_CHECK,
        table: kind,
        judged: { count: keys, unit: 'Redis keys' },
        mismatchCount: mismatches.length,
        mismatches: mismatches.slice(0, ctx.limits.maxListed),
        pending: pendingOf(SCREENS_CHECK, def, w).map((p) => ({ ...p, table: kind })),
        settled: 0,
        notes: [`vs ClickHouse ${def.table}`],
      });
    }
    return results;
  },
  async recheck(ctx, result) {
    const found = kindsOf(ctx).find(([kind]) => kind === result.table);
    if (found === undefined) return result;
    const [kind, def] = found;
    const listed = new Set(result.mismatches.map((m) => m.location));
    const { mismatches } = await compareKind(ctx, kind, def, await windowsOf(ctx, def), await ctx.screens());
    return afterRecheck(result, mismatches.filter((m) => listed.has(m.location)));
  },
};

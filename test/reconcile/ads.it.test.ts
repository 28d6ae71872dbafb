/**
 * Check 3 of rtdw reconcile on a private warehouse (ads-fixture.ts): the ADS tables recomputed with SQL
 * over MySQL and dwd_ad_event equal the independent model of test/warehouse/ads-model.ts, table by table;
 * an untouched warehouse exits 0; figures planted in the ClickHouse ADS tables and in Redis are each found,
 * named with both figures, and exit 1; windows the table's watermark has not passed are pending.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../schemas/config.js';
import { AdsRecompute } from '../../jobs/reconcile/ads/recompute.js';
import { ADS_TABLE_DEFS } from '../../jobs/reconcile/ads/tables.js';
import { judgedWindows } from '../../jobs/reconcile/ads/windows.js';
import { connectClickHouse } from '../../jobs/reconcile/clickhouse.js';
import { canonicalDecimal } from '../../jobs/reconcile/figures.js';
import { connectMysql } from '../../jobs/reconcile/mysql.js';
import type { Mismatch } from '../../jobs/reconcile/check.js';
import type { ReconcileReport } from '../../jobs/reconcile/report.js';
import { ZONE } from '../warehouse/ads-scenario.js';
import { createAdsPair, FAR_WATERMARK, FROM, TO, type AdsPair } from './ads-fixture.js';
import { publishProgress } from './fixture.js';

const run = promisify(execFile);
const LATENESS_MS = 60_000;
let pair: AdsPair;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/rtdw.mjs', 'reconcile', '--checks', 'ads,screens', '--from', FROM, '--to', TO, '--recheck-after', '0', '--json', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...pair.env, RTDW_ALLOWED_LATENESS_MS: String(LATENESS_MS), LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const TIME = new Set(['window_start', 'window_end', 'minute']);
/** A row as canonical text: times in epoch ms (the model's are DateTime text), numbers as integers, amounts without trailing zeros. */
function canonical(table: string, row: Record<string, unknown>, modelTimes: boolean): string {
  const def = ADS_TABLE_DEFS.find((d) => d.table === table);
  const amounts = new Set(def?.figures.filter((f) => f.kind === 'amount').map((f) => f.name));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (k === '_version' || k === '_is_deleted') continue;
    out[k] = TIME.has(k) && modelTimes ? String(Date.parse(`${String(v).replace(' ', 'T')}Z`)) : amounts.has(k) ? canonicalDecimal(String(v)) : String(v);
  }
  return JSON.stringify(out);
}

/** The first minute a 1-min window of the trend's judged part (watermark 16:00 UTC in the last test) does not reach. */
const CUT = Date.parse('2026-01-01T15:59:00Z');

/** A trend key, one of its minutes satisfying `where`, and its clicks, in the model's screens. */
function trendField(where: (minute: number) => boolean): [string, string, string] {
  for (const [key, fields] of pair.model.screens) {
    if (!key.startsWith('ad_click_trend_1m:')) continue;
    for (const [minute, clicks] of fields) if (where(Number(minute))) return [key, minute, clicks];
  }
  throw new Error('no such trend minute');
}

const utcText = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

beforeAll(async () => {
  pair = await createAdsPair();
}, 300_000);

afterAll(async () => {
  await pair?.drop();
});

describe('reconcile check 3: ADS tables and screens', () => {
  it('recomputes every ADS table with SQL over MySQL and dwd_ad_event exactly as the independent model does', async () => {
    const mysql = await connectMysql(pair.config.mysql);
    const clickhouse = connectClickHouse(pair.config.clickhouse);
    try {
      const recompute = new AdsRecompute(mysql, clickhouse, pair.mysqlDb, ZONE);
      for (const def of ADS_TABLE_DEFS) {
        const w = judgedWindows(def.window, ZONE, Date.parse(FROM), Date.parse(TO), { job: def.table, watermark: FAR_WATERMARK, allowedLatenessMs: LATENESS_MS });
        const got = (await recompute.table(def, w)).map((r) => canonical(def.table, r, false)).sort();
        const want = (pair.model.tables[def.table] ?? []).map((r) => canonical(def.table, r, true)).sort();
        expect(want.length, def.table).toBeGreaterThan(0);
        expect(got, def.table).toEqual(want);
      }
    } finally {
      await mysql.close();
      await clickhouse.close();
    }
  });

  it('exits 0 on an untouched warehouse, every window judged and every screen key compared', async () => {
    const { code, stdout, stderr } = await cli([]);
    expect(code, stderr + stdout.slice(0, 3000)).toBe(0);
    const report = JSON.parse(stdout) as ReconcileReport;
    expect(report.totals).toMatchObject({ mismatches: 0, pending: 0 });
    const judged = Object.fromEntries(report.results.map((r) => [`${r.check} ${r.table}`, r.judged]));
    // 12 h of windows starting every 5 min / minute, and the two Shanghai days of the range
    expect(judged['ads ads_order_city_1h']).toEqual({ count: 144, unit: '1 h windows' });
    expect(judged['ads ads_ad_click_trend_1m']).toEqual({ count: 720, unit: '1-min windows' });
    expect(judged['ads ads_daily_kpi']).toEqual({ count: 2, unit: 'days' });
    // every key of the model's screens (all inside the range) was read
    const keys = (kind: string) => [...pair.model.screens.keys()].filter((k) => k.startsWith(`${kind}:`)).length;
    for (const kind of ['order_city_1h', 'order_top3_city_1h', 'ad_clicks_1h', 'ad_click_trend_1m', 'hot_ads_daily', 'daily_kpi']) {
      expect(judged[`screens ${kind}`], kind).toEqual({ count: keys(kind), unit: 'Redis keys' });
    }
  });

  it('finds figures changed, keys deleted and added in ClickHouse and fields changed and added in Redis, and exits 1', async () => {
    const { model, namespace } = pair;
    const city = model.tables.ads_order_city_1h?.[3] as Record<string, string | number>;
    const kpi = model.tables.ads_daily_kpi?.[0] as Record<string, string | number>;
    const hot = (model.tables.ads_hot_ads_daily ?? []).find((r) => r.rank === 1) as Record<string, string | number>;
    const clicksWindow = model.tables.ads_ad_clicks_1h?.[5] as Record<string, string | number>;
    // ClickHouse: a city's amount up by 1.00, a day's KPIs deleted, a rank's ad changed, an ad window added
    await pair.insert('ads_order_city_1h', [{ ...city, amount: (Number(city.amount) + 1).toFixed(2), _version: 10, _is_deleted: 0 }]);
    await pair.insert('ads_daily_kpi', [{ ...kpi, _version: 10, _is_deleted: 1 }]);
    await pair.insert('ads_hot_ads_daily', [{ ...hot, ad_id: 4242, _version: 10, _is_deleted: 0 }]);
    await pair.insert('ads_ad_clicks_1h', [{ ...clicksWindow, ad_id: 777, clicks: 3, _version: 10, _is_deleted: 0 }]);
    // Redis: a trend minute changed, a field added to a window of order_city_1h
    const [trend, minute, clicks] = trendField((m) => m < CUT);
    await pair.redis.hset(`${namespace}:${trend}`, minute, String(Number(clicks) + 2));
    const cityWindow = Date.parse(`${String(city.window_start).replace(' ', 'T')}Z`);
    await pair.redis.hset(`${namespace}:order_city_1h:${cityWindow}`, '火星|基地', '{"orders":1,"amount":"5.00"}');

    const { code, stdout, stderr } = await cli([]);
    expect(code, stderr).toBe(1);
    const report = JSON.parse(stdout) as ReconcileReport;
    const found = (check: string) => report.results.filter((r) => r.check === check).flatMap((r) => r.mismatches).map((m: Mismatch) => ({ table: m.table, location: m.location, kind: m.kind, differences: m.differences }));
    const window = `window_start=${utcText(cityWindow)} window_end=${utcText(cityWindow + 3_600_000)}`;
    const amount = String(city.amount);
    const raised = canonicalDecimal((Number(city.amount) + 1).toFixed(2));
    const kpiFigures = ['pv', 'uv', 'ip', 'vv', 'dau', 'orders', 'gmv', 'paid_gmv'];
    expect(found('ads')).toEqual([
      { table: 'ads_order_city_1h', location: `${window} province=${city.province} city=${city.city}`, kind: 'different', differences: [{ measure: 'amount', source: amount, sink: raised, difference: '+1' }] },
      {
        table: 'ads_ad_clicks_1h',
        location: `window_start=${String(clicksWindow.window_start)} window_end=${String(clicksWindow.window_end)} ad_id=777`,
        kind: 'extra',
        differences: [{ measure: 'clicks', source: null, sink: '3', difference: 'extra in ClickHouse' }],
      },
      { table: 'ads_hot_ads_daily', location: `day=${hot.day} province=${hot.province} rank=1`, kind: 'different', differences: [{ measure: 'ad_id', source: String(hot.ad_id), sink: '4242', difference: 'changed' }] },
      { table: 'ads_daily_kpi', location: `day=${kpi.day}`, kind: 'missing', differences: kpiFigures.map((f) => ({ measure: f, source: String(kpi[f]), sink: null, difference: 'missing in ClickHouse' })) },
    ]);
    const screens = found('screens');
    const cityKey = `${namespace}:order_city_1h:${cityWindow}`;
    const hotRanking = (model.screens.get(`hot_ads_daily:${hot.day}`)?.get(String(hot.province)) ?? '').replace(`"ad_id":${hot.ad_id},`, '"ad_id":4242,');
    expect(screens).toEqual([
      { table: 'order_city_1h', location: `${cityKey} ${city.province}|${city.city}`, kind: 'different', differences: [{ measure: 'amount', source: raised.includes('.') ? (Number(city.amount) + 1).toFixed(2) : raised, sink: amount, difference: '-1' }] },
      { table: 'order_city_1h', location: `${cityKey} 火星|基地`, kind: 'extra', differences: [{ measure: 'value', source: null, sink: '{"orders":1,"amount":"5.00"}', difference: 'extra in Redis' }] },
      // ClickHouse's new ad for the window is not on the screen: a field of the key present is missing
      {
        table: 'ad_clicks_1h',
        location: `${namespace}:ad_clicks_1h:${Date.parse(`${String(clicksWindow.window_start).replace(' ', 'T')}Z`)} 777`,
        kind: 'missing',
        differences: [{ measure: 'value', source: '3', sink: null, difference: 'missing in Redis' }],
      },
      { table: 'ad_click_trend_1m', location: `${namespace}:${trend} ${minute}`, kind: 'different', differences: [{ measure: 'value', source: clicks, sink: String(Number(clicks) + 2), difference: '+2' }] },
      {
        table: 'hot_ads_daily',
        location: `${namespace}:hot_ads_daily:${hot.day} ${hot.province}`,
        kind: 'different',
        differences: [{ measure: 'value', source: hotRanking, sink: model.screens.get(`hot_ads_daily:${hot.day}`)?.get(String(hot.province)) ?? '', difference: 'changed' }],
      },
      // fields in name order
      ...[...kpiFigures].sort().map((f) => ({ table: 'daily_kpi', location: `${namespace}:daily_kpi:${kpi.day} ${f}`, kind: 'extra', differences: [{ measure: 'value', source: null, sink: String(kpi[f]), difference: 'extra in Redis' }] })),
    ]);
    expect(report.totals.mismatches).toBe(4 + screens.length);
  });

  it('leaves the windows a table\'s watermark has not passed pending, and does not judge them', async () => {
    // the trend's job has passed 16:00 UTC by the lateness: minutes starting before 15:59 are judged
    const watermark = Date.parse('2026-01-01T16:00:00Z');
    await publishProgress(pair, 'ads_ad_click_trend_1m', watermark);
    // a minute changed in Redis after the cut, besides the one before it changed by the previous test
    const [later, minute, clicks] = trendField((m) => m >= CUT);
    await pair.redis.hset(`${pair.namespace}:${later}`, minute, String(Number(clicks) + 5));
    const { stdout } = await cli(['--tables', 'ads_ad_click_trend_1m']);
    const report = JSON.parse(stdout) as ReconcileReport;
    const ads = report.results.find((r) => r.check === 'ads' && r.table === 'ads_ad_click_trend_1m');
    // minute m is judged once m + 60 s - 1 + 60 s <= watermark: up to 15:58 inclusive
    const judgedMinutes = (CUT - Date.parse(FROM)) / 60_000;
    expect(ads?.judged).toEqual({ count: judgedMinutes, unit: '1-min windows' });
    expect(ads?.pending.map((p) => [p.from, p.to, p.buckets])).toEqual([['2026-01-01T15:59:00.000Z', '2026-01-01T20:00:00.000Z', 720 - judgedMinutes]]);
    // only the minute before the cut is reported
    const screens = report.results.find((r) => r.check === 'screens' && r.table === 'ad_click_trend_1m');
    const [before, judgedMinute] = trendField((m) => m < CUT);
    expect(screens?.mismatches.map((m) => m.location)).toEqual([`${pair.namespace}:${before} ${judgedMinute}`]);
    expect(report.results.map((r) => r.table)).toEqual(['ads_ad_click_trend_1m', 'ad_click_trend_1m']);
  });
});

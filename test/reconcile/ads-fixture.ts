/**
 * A private warehouse for check 3: the final source rows of the ADS scenario (test/warehouse/ads-scenario.ts)
 * in a MySQL database of its own, its events in ClickHouse dwd_ad_event as the DWD job leaves them (older
 * versions of flipped clicks and duplicates around them, so only FINAL reads them right), the ADS tables
 * and Redis screens filled with the independent model's figures (test/warehouse/ads-model.ts), and every
 * ADS job's progress published far past the scenario.
 */
import { Redis } from 'ioredis';
import { config } from '../support/stack.js';
import { countedEvents, expected, type Expected } from '../warehouse/ads-model.js';
import { scenario, ZONE, type Scenario } from '../warehouse/ads-scenario.js';
import { applyMigration, createPair, fillSource, publishProgress, type Pair, type Row } from './fixture.js';

export const ADS_TABLES = ['ads_order_city_1h', 'ads_order_top3_city_1h', 'ads_order_payment_5m', 'ads_ad_clicks_1h', 'ads_ad_click_trend_1m', 'ads_hot_ads_daily', 'ads_ad_ctr_5m', 'ads_channel_daily', 'ads_daily_kpi'];
/** The range covering the scenario: 16:00 on 1 January to 04:00 on 2 January in Shanghai. */
export const FROM = '2026-01-01T08:00:00Z';
export const TO = '2026-01-01T20:00:00Z';
export const FAR_WATERMARK = Date.parse('2026-01-05T00:00:00Z');

const shanghai = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 23);
const utc = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

export interface AdsPair extends Pair {
  scenario: Scenario;
  /**
   * The model over the source's current rows: every counted order, also the one the stream never counts
   * (written past the state retention, it goes to late_changes), since reconcile judges against the source.
   */
  model: Expected;
  namespace: string;
  redis: Redis;
  insert(table: string, rows: Record<string, unknown>[]): Promise<void>;
}

export async function createAdsPair(): Promise<AdsPair> {
  const pair = await createPair('rca', ZONE);
  for (const file of ['0002_dwd.sql', '0004_ads.sql']) await applyMigration(pair.ch, pair.clickhouseDb, file);
  const s = scenario();
  const model = expected({ ...s, lateOrder: -1 });
  const source: Record<string, Row[]> = {
    areas: [...s.db.areas].map(([id, a]) => ({ id: String(id), province: a.province, city: a.city })),
    orders: [...s.db.orders.values()].map((o) => ({ id: String(o.id), user_id: String(o.user), area_id: String(o.area), amount: o.amount, status: o.status, created_at: shanghai(o.created), updated_at: shanghai(o.created) })),
    payments: [...s.db.payments.values()].map((p) => ({ id: String(p.id), order_id: String(p.order), amount: p.amount, status: p.status, paid_at: shanghai(p.paid) })),
  };
  await fillSource(pair, source);
  const insert = async (table: string, rows: Record<string, unknown>[]): Promise<void> => {
    for (let i = 0; i < rows.length; i += 5000) {
      await pair.ch.insert({ table: `${pair.clickhouseDb}.${table}`, values: rows.slice(i, i + 5000), format: 'JSONEachRow', clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' } });
    }
  };
  const events = countedEvents(s.events).map((e) => {
    const area = s.db.areas.get(e.area_id);
    return {
      event_id: e.event_id,
      type: e.type,
      ts: utc(e.ts),
      user_id: e.user_id,
      ad_id: e.ad_id ?? null,
      province: area?.province ?? '',
      city: area?.city ?? '',
      channel: e.channel,
      device_id: e.device_id,
      session_id: e.session_id,
      ip: e.ip,
      counted: e.counted ? 1 : 0,
      _version: 5,
    };
  });
  // what FINAL must see past: every click first written with the opposite flag, one event in ten twice
  const older = events.filter((e, i) => e.type === 'ad_click' || i % 10 === 0).map((e) => ({ ...e, counted: e.type === 'ad_click' ? 1 - e.counted : e.counted, _version: 2 }));
  await insert('dwd_ad_event', older);
  await insert('dwd_ad_event', events);
  for (const table of ADS_TABLES) {
    const rows = model.tables[table] ?? [];
    // a stale version of some keys, and a key written then deleted
    await insert(table, rows.filter((_, i) => i % 7 === 0).map((r) => ({ ...r, ...staleFigures(r), _version: 1, _is_deleted: 0 })));
    if (rows[0] !== undefined) await insert(table, [{ ...rows[0], ...ghostKey(rows[0]), _version: 1, _is_deleted: 0 }, { ...rows[0], ...ghostKey(rows[0]), _version: 2, _is_deleted: 1 }]);
    await insert(table, rows.map((r) => ({ ...r, _version: 3, _is_deleted: 0 })));
  }
  for (const table of ADS_TABLES) await publishProgress(pair, table, FAR_WATERMARK);
  const namespace = pair.clickhouseDb;
  const redis = new Redis(config.redis.url);
  const pipeline = redis.pipeline();
  for (const [key, fields] of model.screens) pipeline.hset(`${namespace}:${key}`, Object.fromEntries(fields));
  await pipeline.exec();
  return {
    ...pair,
    env: { ...pair.env, RTDW_NAMESPACE: namespace },
    scenario: s,
    model,
    namespace,
    redis,
    insert,
    async drop() {
      const keys = await redis.keys(`${namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await pair.drop();
    },
  };
}

/** Figures that differ from the row's (a stale version under FINAL). */
function staleFigures(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !['rank', 'ad_id'].includes(k)) out[k] = v + 1000;
  return out;
}

/** Another key of the row's table in the same window: a province, channel or ad no figure has. */
function ghostKey(r: Record<string, unknown>): Record<string, unknown> {
  if ('province' in r) return { province: 'ghost' };
  if ('channel' in r) return { channel: 'ghost' };
  if ('ad_id' in r) return { ad_id: 999_999 };
  return { day: '2025-12-31' };
}

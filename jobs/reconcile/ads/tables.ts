/**
 * The ADS tables of issue 11 (schemas/clickhouse/0004_ads.sql) as reconcile compares them: each
 * table's window (what its rows are per), key columns and figures. Rows on both sides are canonical
 * text: window columns as epoch ms, days as YYYY-MM-DD, everything else as ClickHouse prints it.
 */
export type WindowKind = 'hop_1h' | 'tumble_5m' | 'tumble_1m' | 'day';

export type FigureKind = 'count' | 'amount' | 'text';

export interface AdsTableDef {
  table: string;
  window: WindowKind;
  /** the ORDER BY key of the table, window columns first */
  keys: readonly string[];
  figures: ReadonlyArray<{ name: string; kind: FigureKind }>;
}

const count = (name: string) => ({ name, kind: 'count' as const });
const amount = (name: string) => ({ name, kind: 'amount' as const });
const text = (name: string) => ({ name, kind: 'text' as const });

export const ADS_TABLE_DEFS: readonly AdsTableDef[] = [
  { table: 'ads_order_city_1h', window: 'hop_1h', keys: ['window_start', 'window_end', 'province', 'city'], figures: [count('orders'), amount('amount')] },
  { table: 'ads_order_top3_city_1h', window: 'hop_1h', keys: ['window_start', 'window_end', 'province', 'rank'], figures: [text('city'), count('orders'), amount('amount')] },
  { table: 'ads_order_payment_5m', window: 'tumble_5m', keys: ['window_start', 'province'], figures: [count('orders'), count('paid_orders'), amount('paid_amount')] },
  { table: 'ads_ad_clicks_1h', window: 'hop_1h', keys: ['window_start', 'window_end', 'ad_id'], figures: [count('clicks')] },
  { table: 'ads_ad_click_trend_1m', window: 'tumble_1m', keys: ['minute', 'ad_id'], figures: [count('clicks')] },
  { table: 'ads_hot_ads_daily', window: 'day', keys: ['day', 'province', 'rank'], figures: [text('ad_id'), count('clicks')] },
  { table: 'ads_ad_ctr_5m', window: 'tumble_5m', keys: ['window_start', 'ad_id'], figures: [count('impressions'), count('clicks')] },
  { table: 'ads_channel_daily', window: 'day', keys: ['day', 'channel'], figures: [count('clicks'), count('clickers'), count('orders'), amount('amount')] },
  {
    table: 'ads_daily_kpi',
    window: 'day',
    keys: ['day'],
    figures: [count('pv'), count('uv'), count('ip'), count('vv'), count('dau'), count('orders'), amount('gmv'), amount('paid_gmv')],
  },
];

export const ADS_TABLE_NAMES: readonly string[] = ADS_TABLE_DEFS.map((d) => d.table);

/** Columns holding a window's start or a minute (DateTime('UTC')); `day` is a Date. */
export const TIME_COLUMNS: ReadonlySet<string> = new Set(['window_start', 'window_end', 'minute']);

/** A canonical row: column → text. */
export type AdsRow = Record<string, string>;

/** Key text of a row: the JSON array of its key values. */
export function rowKey(def: AdsTableDef, row: AdsRow): string {
  return JSON.stringify(def.keys.map((k) => row[k] ?? ''));
}

/** The key as the report prints it: `window_start=2026-01-01 14:30:00 province=浙江` (times in UTC). */
export function keyLabel(def: AdsTableDef, row: AdsRow): string {
  return def.keys
    .map((k) => {
      const v = row[k] ?? '';
      return `${k}=${TIME_COLUMNS.has(k) ? new Date(Number(v)).toISOString().replace('T', ' ').slice(0, 19) : v}`;
    })
    .join(' ');
}

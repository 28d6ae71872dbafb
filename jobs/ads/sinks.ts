/**
 * The records ADS stages write for the sinks.
 * - ClickHouse: one JSON row per record on `<ns>.ads_<table>`, exactly the table's columns plus
 *   `_version` (grows per key) and `_is_deleted` (ReplacingMergeTree(_version, _is_deleted), read with
 *   FINAL); DateTime('UTC') as 'YYYY-MM-DD HH:MM:SS', Date as 'YYYY-MM-DD', decimals as exact text.
 * - Redis: screen records on `<ns>.ads_redis` in the Redis sink's format (connectors/redis/records.ts),
 *   keyed by the Redis key they write (`<kind>:<id>`), so the versions of a key (its Kafka offsets) are
 *   in the order the one task owning it wrote them.
 */
import { formatUtc } from '../runtime/core/index.js';
import { toJson } from '../runtime/json.js';
import type { Emitted } from '../runtime/stage.js';
import type { AdsContext, AdsTable } from './context.js';

/** DateTime('UTC') text of a whole-second instant. */
export function dateTime(instant: number): string {
  if (instant % 1000 !== 0) throw new RangeError(`${formatUtc(instant)} is not a whole second: a DateTime column cannot hold it`);
  return formatUtc(instant).slice(0, 19);
}

/** The calendar day (in the pipeline's zone) of a daily window starting at `start`. */
export function dayOf(ctx: AdsContext, start: number): string {
  return ctx.zone.dayOf(start).day;
}

/** A row of an ADS table: its columns, then the version and whether the key is deleted. */
export function tableRow(ctx: AdsContext, table: AdsTable, key: readonly unknown[], columns: Record<string, unknown>, version: number, deleted: boolean): Emitted {
  return { topic: ctx.topics.tables[table], key: JSON.stringify(key), value: toJson({ ...columns, _version: version, _is_deleted: deleted ? 1 : 0 }) };
}

/** The Redis hashes of the screens (schemas/redis-keys.ts): window hashes by start, the trend by ad, daily ones by day. */
export type ScreenKind = 'order_city_1h' | 'order_top3_city_1h' | 'ad_clicks_1h' | 'ad_click_trend_1m' | 'hot_ads_daily' | 'daily_kpi';

export type ScreenScope = { readonly window_start: number; readonly window_end: number } | { readonly ad_id: number } | { readonly day: string };

/**
 * A screen record: `replace` makes the hash exactly `entries` (a whole window), `upsert` sets the listed
 * fields, `remove` deletes them (entries hold only the fields' identities).
 */
export function screenRecord(ctx: AdsContext, kind: ScreenKind, scope: ScreenScope, op: 'replace' | 'upsert' | 'remove', entries: readonly object[]): Emitted {
  const id = 'window_start' in scope ? scope.window_start : 'ad_id' in scope ? scope.ad_id : scope.day;
  return { topic: ctx.topics.redis, key: `${kind}:${id}`, value: toJson({ kind, ...scope, op, entries }) };
}

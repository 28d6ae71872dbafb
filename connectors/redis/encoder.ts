/**
 * Records (records.ts) → Redis writes: key names, field names and value texts of the layout
 * (schemas/redis-keys.ts), amounts normalised to two places. Pure: the sink (sink.ts) turns the
 * writes into Lua script calls and pipelines.
 */
import { formatDecimal, parseDecimal } from '../../jobs/runtime/core/decimal.js';
import {
  AMOUNT_KPIS,
  adIdText,
  alertElement,
  epochMsId,
  hotAdsValue,
  orderCityField,
  orderCityValue,
  top3CityValue,
  type HashKind,
  type RedisLayout,
} from '../../schemas/redis-keys.js';
import { RecordError, type HashRecord, type ScreenRecord } from './records.js';

/** One hash's figures written by one script call, atomically, if its version is newer than theirs. */
export interface HashWrite {
  type: 'hash';
  kind: HashKind;
  key: string;
  versionKey: string;
  op: 'replace' | 'upsert' | 'remove';
  /** replace and upsert: field, value, field, value, …; remove: the fields */
  args: string[];
  version: number;
}

/** A field of a hash that only moves forward (`latest`, `watermark`). */
export interface AdvanceWrite {
  type: 'advance';
  key: string;
  field: string;
  value: string;
  /** how two values compare: epoch ms as numbers, days YYYY-MM-DD as text */
  order: 'number' | 'text';
}

export interface SetAddWrite {
  type: 'set-add';
  key: string;
  member: string;
}

export interface AlertWrite {
  type: 'alert';
  key: string;
  time: number;
  element: string;
}

export type RedisWrite = HashWrite | AdvanceWrite | SetAddWrite | AlertWrite;

function amount(text: string): string {
  try {
    return formatDecimal(parseDecimal(text, 2), 2);
  } catch (err) {
    throw new RecordError(`amount ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

/** Field and value of each entry (replace, upsert), or the field of each identity (remove). */
function fieldsOf(record: HashRecord): Array<readonly [string, string | undefined]> {
  switch (record.kind) {
    case 'order_city_1h':
      return record.op === 'remove'
        ? record.entries.map((e) => [orderCityField(e.province, e.city), undefined] as const)
        : record.entries.map((e) => [orderCityField(e.province, e.city), orderCityValue(e.orders, amount(e.amount))] as const);
    case 'order_top3_city_1h':
      return record.op === 'remove'
        ? record.entries.map((e) => [e.province, undefined] as const)
        : record.entries.map((e) => [e.province, top3CityValue(e.ranking.map((r) => ({ ...r, amount: amount(r.amount) })))] as const);
    case 'ad_clicks_1h':
      return record.op === 'remove' ? record.entries.map((e) => [String(e.ad_id), undefined] as const) : record.entries.map((e) => [String(e.ad_id), String(e.clicks)] as const);
    case 'ad_click_trend_1m':
      return record.op === 'remove'
        ? record.entries.map((e) => [String(e.minute_start), undefined] as const)
        : record.entries.map((e) => [String(e.minute_start), String(e.clicks)] as const);
    case 'hot_ads_daily':
      return record.op === 'remove' ? record.entries.map((e) => [e.province, undefined] as const) : record.entries.map((e) => [e.province, hotAdsValue(e.ranking)] as const);
    case 'daily_kpi':
      return record.op === 'remove'
        ? record.entries.map((e) => [e.kpi, undefined] as const)
        : record.entries.map((e) => [e.kpi, AMOUNT_KPIS.has(e.kpi) ? amount(String(e.value)) : String(e.value)] as const);
  }
}

/** The key's id, and what `latest` moves to when the record completes a window (undefined: it does not move). */
function scopeOf(record: HashRecord): { id: string; latest: { value: string; order: 'number' | 'text' } | undefined } {
  const moves = record.complete && record.op !== 'remove';
  if ('window_start' in record) return { id: epochMsId(record.window_start), latest: moves ? { value: String(record.window_start), order: 'number' } : undefined };
  if ('day' in record) return { id: record.day, latest: moves ? { value: record.day, order: 'text' } : undefined };
  // The trend of one ad: `latest` follows its newest minute.
  const newest = record.entries.reduce((m, e) => Math.max(m, e.minute_start), -1);
  return { id: adIdText(record.ad_id), latest: moves && newest >= 0 ? { value: String(newest), order: 'number' } : undefined };
}

function encodeHash(record: HashRecord, version: number, layout: RedisLayout): RedisWrite[] {
  const args: string[] = [];
  const seen = new Set<string>();
  for (const [field, value] of fieldsOf(record)) {
    if (seen.has(field)) throw new RecordError(`${record.kind} record: field ${JSON.stringify(field)} appears twice`);
    seen.add(field);
    args.push(field);
    if (value !== undefined) args.push(value);
  }
  const { id, latest } = scopeOf(record);
  const writes: RedisWrite[] = [{ type: 'hash', kind: record.kind, key: layout.hash(record.kind, id), versionKey: layout.versions(record.kind, id), op: record.op, args, version }];
  if (latest !== undefined) writes.push({ type: 'advance', key: layout.latest(), field: record.kind, ...latest });
  return writes;
}

/**
 * The writes of one record at `version` (its Kafka offset): a later version of the same key wins,
 * an equal or older one changes nothing. Throws a RecordError when the record cannot be written.
 */
export function encodeScreenRecord(record: ScreenRecord, version: number, layout: RedisLayout): RedisWrite[] {
  if (!Number.isSafeInteger(version) || version < 0) throw new RangeError(`version must be a non-negative safe integer, got ${version}`);
  switch (record.kind) {
    case 'blacklist':
      return [{ type: 'set-add', key: layout.blacklist(), member: String(record.user_id) }];
    case 'watermark':
      return [{ type: 'advance', key: layout.watermark(), field: record.job, value: String(record.watermark), order: 'number' }];
    case 'alert':
      return [{ type: 'alert', key: layout.alerts(), time: record.alert.time, element: alertElement(record.alert) }];
    default:
      return encodeHash(record, version, layout);
  }
}

/**
 * The DWD rows the ADS jobs read, typed, from the JSON the DWD jobs write for ClickHouse
 * (jobs/dwd/order-wide.ts, jobs/dwd/ad-event.ts): DateTime64 text in UTC as epoch ms, decimals kept as
 * exact text with two places. A record that is not such a row throws with the reason.
 */
import type { KafkaMessage } from 'kafkajs';
import { formatDecimal, parseDecimal, TimeZone } from '../runtime/core/index.js';
import type { ChangelogRow } from '../runtime/normalize-stage.js';

const UTC = TimeZone.of('UTC');

export interface OrderWide {
  readonly orderId: number;
  readonly userId: number;
  readonly province: string;
  readonly city: string;
  /** Decimal(18,2) text, two places */
  readonly amount: string;
  readonly status: string;
  readonly createdAt: number;
  readonly firstPaidAt: number | null;
  readonly paidAmount: string | null;
}

export interface AdEventRow {
  readonly eventId: string;
  readonly type: 'page_view' | 'ad_impression' | 'ad_click';
  readonly ts: number;
  readonly userId: number | null;
  readonly adId: number | null;
  readonly province: string;
  readonly city: string;
  readonly channel: string;
  readonly deviceId: string;
  readonly sessionId: string;
  readonly ip: string;
  readonly counted: boolean;
}

type Json = Record<string, unknown>;

function parseJson(table: string, message: KafkaMessage): Json {
  if (message.value === null) throw new Error(`${table}: empty record`);
  let row: unknown;
  try {
    row = JSON.parse(message.value.toString());
  } catch {
    throw new Error(`${table}: not JSON`);
  }
  if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new Error(`${table}: not a JSON object`);
  return row as Json;
}

function get<T>(table: string, row: Json, column: string, check: (v: unknown) => v is T, what: string): T {
  const value = row[column];
  if (!check(value)) throw new Error(`${table}.${column} must be ${what}, got ${JSON.stringify(value)}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isIdOrNull = (v: unknown): v is number | null => v === null || isId(v);
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function instant(table: string, column: string, text: string): number {
  try {
    return UTC.parse(text);
  } catch (err) {
    throw new Error(`${table}.${column}: ${(err as Error).message}`);
  }
}

function decimal(table: string, column: string, text: string): string {
  try {
    return formatDecimal(parseDecimal(text, 2), 2);
  } catch (err) {
    throw new Error(`${table}.${column}: ${(err as Error).message}`);
  }
}

/** A dwd_order_wide record: the order's current row, or its deletion (_is_deleted = 1). */
export function parseOrderWide(message: KafkaMessage): ChangelogRow<OrderWide> {
  const t = 'dwd_order_wide';
  const r = parseJson(t, message);
  const orderId = get(t, r, 'order_id', isId, 'an id');
  const version = get(t, r, '_version', isId, 'a version');
  const createdAt = instant(t, 'created_at', get(t, r, 'created_at', isString, 'a time'));
  const deleted = get(t, r, '_is_deleted', (v): v is 0 | 1 => v === 0 || v === 1, '0 or 1') === 1;
  const key = String(orderId);
  if (deleted) return { key, version, time: createdAt, row: undefined };
  const firstPaid = get(t, r, 'first_paid_at', isStringOrNull, 'a time or null');
  const paidAmount = get(t, r, 'paid_amount', isStringOrNull, 'a decimal or null');
  return {
    key,
    version,
    time: createdAt,
    row: {
      orderId,
      userId: get(t, r, 'user_id', isId, 'an id'),
      province: get(t, r, 'province', isString, 'a string'),
      city: get(t, r, 'city', isString, 'a string'),
      amount: decimal(t, 'amount', get(t, r, 'amount', isString, 'a decimal')),
      status: get(t, r, 'status', isString, 'a string'),
      createdAt,
      firstPaidAt: firstPaid === null ? null : instant(t, 'first_paid_at', firstPaid),
      paidAmount: paidAmount === null ? null : decimal(t, 'paid_amount', paidAmount),
    },
  };
}

const EVENT_TYPES = new Set(['page_view', 'ad_impression', 'ad_click']);

/** A dwd_ad_event record: an event, again when its counted flag changes. */
export function parseAdEvent(message: KafkaMessage): ChangelogRow<AdEventRow> {
  const t = 'dwd_ad_event';
  const r = parseJson(t, message);
  const eventId = get(t, r, 'event_id', isString, 'a string');
  const type = get(t, r, 'type', (v): v is AdEventRow['type'] => typeof v === 'string' && EVENT_TYPES.has(v), 'page_view, ad_impression or ad_click');
  const ts = instant(t, 'ts', get(t, r, 'ts', isString, 'a time'));
  return {
    key: eventId,
    version: get(t, r, '_version', isId, 'a version'),
    time: ts,
    row: {
      eventId,
      type,
      ts,
      userId: get(t, r, 'user_id', isIdOrNull, 'an id or null'),
      adId: get(t, r, 'ad_id', isIdOrNull, 'an id or null'),
      province: get(t, r, 'province', isString, 'a string'),
      city: get(t, r, 'city', isString, 'a string'),
      channel: get(t, r, 'channel', isString, 'a string'),
      deviceId: get(t, r, 'device_id', isString, 'a string'),
      sessionId: get(t, r, 'session_id', isString, 'a string'),
      ip: get(t, r, 'ip', isString, 'a string'),
      counted: get(t, r, 'counted', (v): v is 0 | 1 => v === 0 || v === 1, '0 or 1') === 1,
    },
  };
}

/** A counted order: a current orders row whose status is not `cancelled` (issue 11). */
export const isCounted = (o: OrderWide): boolean => o.status !== 'cancelled';

/** A counted click: a deduplicated ad_click not removed by the blacklist. */
export const isCountedClick = (e: AdEventRow): boolean => e.type === 'ad_click' && e.counted;

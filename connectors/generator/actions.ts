/**
 * What the traffic model yields: writes to the source tables, deliveries of events to the event
 * log, and markers of the abuse it injects (ground truth for tests and alerts, written nowhere).
 * Money is a decimal string with two places made from integer cents; DATETIME(3) values are text
 * on the source zone's wall clock, exactly as MySQL prints them.
 */
import type { AdEvent, SourceTable } from '../../schemas/events.js';

export type OrderStatus = 'created' | 'paid' | 'cancelled' | 'refunded';
export type PaymentStatus = 'success' | 'fail';

export interface AreaRow {
  id: number;
  province: string;
  city: string;
}
export interface UserRow {
  id: number;
  name: string;
  area_id: number;
  channel: string;
  created_at: string;
}
export interface ProductRow {
  id: number;
  name: string;
  category: string;
  price: string;
}
export interface OrderRow {
  id: number;
  user_id: number;
  area_id: number;
  amount: string;
  status: OrderStatus;
  created_at: string;
  updated_at: string;
}
export interface OrderItemRow {
  id: number;
  order_id: number;
  product_id: number;
  quantity: number;
  price: string;
}
export interface PaymentRow {
  id: number;
  order_id: number;
  amount: string;
  status: PaymentStatus;
  paid_at: string;
}
export interface RefundRow {
  id: number;
  order_id: number;
  amount: string;
  created_at: string;
}

export interface SourceRows {
  areas: AreaRow;
  users: UserRow;
  products: ProductRow;
  orders: OrderRow;
  order_items: OrderItemRow;
  payments: PaymentRow;
  refunds: RefundRow;
}

/** The columns of schemas/source/shop.sql, in table order (a test holds the two together). */
export const SOURCE_COLUMNS: { readonly [T in SourceTable]: ReadonlyArray<keyof SourceRows[T] & string> } = {
  areas: ['id', 'province', 'city'],
  users: ['id', 'name', 'area_id', 'channel', 'created_at'],
  products: ['id', 'name', 'category', 'price'],
  orders: ['id', 'user_id', 'area_id', 'amount', 'status', 'created_at', 'updated_at'],
  order_items: ['id', 'order_id', 'product_id', 'quantity', 'price'],
  payments: ['id', 'order_id', 'amount', 'status', 'paid_at'],
  refunds: ['id', 'order_id', 'amount', 'created_at'],
};

/** Reference data the generator (re)writes idempotently before any traffic: upserted, never duplicated. */
export const DIMENSION_TABLES: ReadonlySet<SourceTable> = new Set<SourceTable>(['areas', 'users', 'products']);

type RowActionOf<T extends SourceTable> =
  | { kind: 'row'; at: number; table: T; op: 'insert'; row: SourceRows[T] }
  | { kind: 'row'; at: number; table: T; op: 'update'; id: number; set: Partial<Omit<SourceRows[T], 'id'>> }
  | { kind: 'row'; at: number; table: T; op: 'delete'; id: number };

/** A write to one row of a source table at model time `at` (epoch ms). */
export type RowAction = { [T in SourceTable]: RowActionOf<T> }[SourceTable];

/**
 * How an event reaches the log: `on_time` at its event time; `out_of_order` a few seconds after,
 * within the watermark's bound; `late` beyond the bound plus the allowed lateness.
 */
export type Delivery = 'on_time' | 'out_of_order' | 'late';

export interface EventAction {
  kind: 'event';
  /** when it is delivered, epoch ms; `event.ts` is when it happened */
  at: number;
  event: AdEvent;
  delivery: Delivery;
  /** a second delivery of an event already delivered (same event_id) */
  duplicate: boolean;
}

export type AbuseEpisode =
  | { type: 'click_bot'; user_id: number; ad_id: number; clicks: number; device_id: string; ip: string }
  | { type: 'order_brushing'; user_id: number; orders: number }
  | { type: 'payment_failure_burst'; from: number; to: number; failure_rate: number };

/** The start of an injected abuse episode, with what it will do. */
export interface AbuseAction {
  kind: 'abuse';
  at: number;
  abuse: AbuseEpisode;
}

export type Action = RowAction | EventAction | AbuseAction;

const CENTS_PER_UNIT = 100;

/** Integer cents → DECIMAL(12,2) text: 12345 → "123.45", -5 → "-0.05". */
export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new Error(`money must be whole cents, got ${cents}`);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const units = Math.floor(abs / CENTS_PER_UNIT);
  const rest = abs % CENTS_PER_UNIT;
  return `${sign}${units}.${rest < 10 ? '0' : ''}${rest}`;
}

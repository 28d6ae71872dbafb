/**
 * Typed rows of the source tables the DWD jobs read (schemas/source/shop.sql), from Canal's text
 * values: ids as numbers (up to 2^53 - 1), DECIMAL(12,2) as exact text with two decimals, DATETIME(3)
 * (wall-clock in the pipeline's zone) as UTC instants. A value that does not fit throws with the reason.
 */
import type { CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { formatDecimal, parseDecimal, type TimeZone } from '../runtime/core/index.js';

export interface OrderRow {
  readonly id: number;
  readonly userId: number;
  readonly areaId: number;
  readonly amount: string;
  readonly status: string;
  /** UTC instant, epoch ms */
  readonly createdAt: number;
}

export interface PaymentRow {
  readonly id: number;
  readonly orderId: number;
  readonly amount: string;
  readonly status: string;
  readonly paidAt: number;
}

export interface AreaRow {
  readonly id: number;
  readonly province: string;
  readonly city: string;
}

/** DWD decimals are Decimal(18,2). */
const MAX_UNSCALED = 10n ** 18n;

function text(table: string, row: CanalRow, column: string): string {
  const value = Object.hasOwn(row, column) ? row[column] : undefined;
  if (value === undefined) throw new Error(`${table}: no column ${column}`);
  if (value === null) throw new Error(`${table}.${column} is NULL`);
  return value;
}

function idValue(table: string, column: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${table}.${column} is not a non-negative integer: ${JSON.stringify(value)}`);
  const id = Number(value);
  if (!Number.isSafeInteger(id)) throw new Error(`${table}.${column} ${value} is beyond 2^53 - 1`);
  return id;
}

function id(table: string, row: CanalRow, column: string): number {
  return idValue(table, column, text(table, row, column));
}

function decimal(table: string, row: CanalRow, column: string): string {
  const value = text(table, row, column);
  const unscaled = parseDecimal(value, 2);
  if (unscaled >= MAX_UNSCALED || unscaled <= -MAX_UNSCALED) throw new Error(`${table}.${column} ${value} does not fit Decimal(18,2)`);
  return formatDecimal(unscaled, 2);
}

function instant(table: string, row: CanalRow, column: string, zone: TimeZone): number {
  const value = text(table, row, column);
  try {
    return zone.parse(value);
  } catch (err) {
    throw new Error(`${table}.${column}: ${(err as Error).message}`);
  }
}

export function orderRow(row: CanalRow, zone: TimeZone): OrderRow {
  return {
    id: id('orders', row, 'id'),
    userId: id('orders', row, 'user_id'),
    areaId: id('orders', row, 'area_id'),
    amount: decimal('orders', row, 'amount'),
    status: text('orders', row, 'status'),
    createdAt: instant('orders', row, 'created_at', zone),
  };
}

export function paymentRow(row: CanalRow, zone: TimeZone): PaymentRow {
  return {
    id: id('payments', row, 'id'),
    orderId: id('payments', row, 'order_id'),
    amount: decimal('payments', row, 'amount'),
    status: text('payments', row, 'status'),
    paidAt: instant('payments', row, 'paid_at', zone),
  };
}

export function areaRow(row: CanalRow): AreaRow {
  return { id: id('areas', row, 'id'), province: text('areas', row, 'province'), city: text('areas', row, 'city') };
}

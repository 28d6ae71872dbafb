/** The alerts the detectors of this folder raise, and what they send to the late output. */
import type { TimeWindow } from '../windows.js';

export type AlertKind = 'order_brushing' | 'payment_failure' | 'click_bot';

export type AlertDetail = { readonly [field: string]: number | string | boolean };

export interface Alert {
  /** Event time, epoch ms: a window's max timestamp (end − 1, as Flink stamps window results), or the blacklisting. */
  readonly time: number;
  readonly kind: AlertKind;
  /** Who or what: a user id, or `payments`. */
  readonly subject: string;
  /** What was measured: orders in the window, the failure rate, the clicks that blacklisted. */
  readonly value: number;
  /** What it exceeded: the learned threshold, or the blacklist's click limit. */
  readonly threshold: number;
  readonly detail: AlertDetail;
}

/** Input for state already cleaned up: counted in `lateCount`, for the stage to route to its late topic. */
export interface LateAlertInput {
  readonly kind: 'late';
  readonly reason: 'window-expired' | 'retention-expired';
  readonly key: string;
  /** The window of a window result; absent for a blacklist row. */
  readonly window?: TimeWindow;
  readonly time: number;
}

export type AlertOutput = { readonly kind: 'alert'; readonly alert: Alert } | LateAlertInput;

export const NO_OUTPUT: readonly never[] = Object.freeze([]);

export function requireNonNegativeMs(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer of ms, got ${value}`);
}

export function requirePositiveMs(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${what} must be a positive integer of ms, got ${value}`);
}

export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

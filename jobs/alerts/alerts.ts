/**
 * What the alert jobs share: their settings (RTDW_ALERT_*), their topics, and the records an alert makes.
 *
 * An alert lands in three sinks, each from the same deterministic fields, so a replay after a crash writes
 * the same records and every sink folds a repeat away:
 * - `<ns>.alerts`: one row of ClickHouse `alerts` (schemas/clickhouse/0006_alerts.sql) per alert, keyed by
 *   alert_id = `<kind>:<subject>:<time>` (ReplacingMergeTree on that identity);
 * - `<ns>.ads_redis`: `{"kind":"alert","alert":{time,kind,subject,value,threshold,detail}}`, which the Redis
 *   sink pushes onto `<ns>:alerts` unless that exact element is already there; it also logs the alerts it adds.
 */
import { type Alert, formatUtc } from '../runtime/core/index.js';
import type { Emitted, StageOutput } from '../runtime/stage.js';
import type { AdsContext } from '../ads/context.js';

/** The learned thresholds' parameters (Siffer et al.'s defaults for q, level and d), and what the alerts count. */
export interface AlertSettings {
  /** SPOT/DSPOT risk: the probability of a normal value exceeding the threshold */
  readonly q: number;
  /** quantile of the calibration batch taken as the initial threshold */
  readonly level: number;
  /** DSPOT's moving-average depth d, in minutes (payment_failure) */
  readonly depth: number;
  /** order_brushing: window counts in SPOT's calibration batch */
  readonly brushingCalibration: number;
  /** payment_failure: minutes in DSPOT's calibration (the first `depth` fill the moving average) */
  readonly paymentCalibrationMinutes: number;
  /** payment_failure: minutes with fewer payments say little about a rate and are skipped */
  readonly minPayments: number;
  /** order_brushing counts orders with an amount below this (DECIMAL text) */
  readonly smallOrderBelow: string;
}

export const ALERT_DEFAULTS: AlertSettings = {
  q: 1e-4,
  level: 0.98,
  depth: 10,
  brushingCalibration: 1000,
  paymentCalibrationMinutes: 120,
  minPayments: 20,
  smallOrderBelow: '20.00',
};

/** The alerts' topic, a ClickHouse table's rows (`<ns>.alerts` into `alerts`). */
export const ALERTS_TABLE = 'alerts';

/** Internal topics of the alert jobs, `<ns>.alerts.<job>.<step>`. */
export function alertTopic(ctx: AdsContext, job: string, step: string, partitions = ctx.partitions): StageOutput {
  return { topic: `${ctx.namespace}.alerts.${job}.${step}`, partitions, forwardWatermarks: true };
}

/** What every detector stage writes: the alert rows, the Redis records, late and dead letters. */
export function alertOutputs(ctx: AdsContext, lateTopic: string): StageOutput[] {
  return [
    { topic: `${ctx.namespace}.${ALERTS_TABLE}`, partitions: ctx.partitions },
    { topic: ctx.topics.redis, partitions: ctx.partitions },
    { topic: lateTopic, partitions: ctx.partitions },
    { topic: ctx.topics.deadLetter, partitions: ctx.partitions },
  ];
}

/** Figures rounded to 6 places: the Decimal(18, 6) of ClickHouse, and the same number in Redis and Kafka. */
export function figure(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function alertId(alert: Alert): string {
  return `${alert.kind}:${alert.subject}:${alert.time}`;
}

/** The detail as JSON text with its instants as UTC text: `window_start`, `window_end` (epoch ms in the detector). */
export function detailText(alert: Alert): string {
  const detail: Record<string, number | string | boolean> = {};
  for (const [name, value] of Object.entries(alert.detail)) {
    detail[name] = (name === 'window_start' || name === 'window_end') && typeof value === 'number' ? formatUtc(value) : typeof value === 'number' ? figure(value) : value;
  }
  return JSON.stringify(detail);
}

/** The records of one alert: its ClickHouse row on `<ns>.alerts` and its Redis record. */
export function alertRecords(ctx: AdsContext, alert: Alert): Emitted[] {
  const id = alertId(alert);
  const detail = detailText(alert);
  const value = figure(alert.value);
  const threshold = figure(alert.threshold);
  return [
    {
      topic: `${ctx.namespace}.${ALERTS_TABLE}`,
      key: id,
      value: JSON.stringify({ alert_id: id, time: formatUtc(alert.time), kind: alert.kind, subject: alert.subject, value, threshold, detail }),
    },
    // keyed by the Redis key it writes, as every screen record is
    { topic: ctx.topics.redis, key: 'alerts', value: JSON.stringify({ kind: 'alert', alert: { time: alert.time, kind: alert.kind, subject: alert.subject, value, threshold, detail } }) },
  ];
}

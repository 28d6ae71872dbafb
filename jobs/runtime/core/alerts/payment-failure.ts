/**
 * payment_failure: the per-minute failure rate of payments (failed / all in 1-minute tumbling windows of paid_at) far
 * above normal, by DSPOT, so that a slow drift of the normal rate does not alert and a burst does.
 *
 * The pipeline: each payment change gives its contributions (paymentContributions) → a tumbling-window operator with
 * paymentOutcomes() → this detector in one task. Results for one window from several keys (e.g. one per upstream
 * partition) are summed. A window is fed to DSPOT once the watermark passes its max timestamp, windows in order, so
 * the rates enter in minute order whatever the arrival order; a minute with fewer than `minPayments` payments says
 * little about a rate and is skipped (counted). Late results within the allowed lateness are judged against the current
 * threshold and may alert once per window, without training DSPOT again.
 *
 * DSPOT takes its calibration minutes as normal, and q as the share of abnormal ones: bursts must be rare and absent
 * from calibration. Measured (100 payments a minute, 60 calibration minutes): bursts of 1–3 min at 0.5 an hour → 14 of
 * 14 alerted, 3 false alerts in 1,540 minutes; at 3 an hour (about 10 % of minutes) → 17 of 80, the bursts learned.
 */
import type { AggregateSpec, Sign } from '../aggregates.js';
import { Dspot, type DspotOptions, type DspotSnapshot } from '../evt/dspot.js';
import { entriesOf, type KeyedSnapshots, takeAll } from '../keyed-snapshots.js';
import { MIN_TIMESTAMP } from '../watermark.js';
import { type TimeWindow, type WindowOutput, isWindowLate, maxTimestamp } from '../windows.js';
import { type Alert, type AlertOutput, NO_OUTPUT, requireNonNegativeMs, requirePositiveMs } from './alert.js';

export interface PaymentCounts {
  payments: number;
  failures: number;
}

/** The `payments` columns this alert reads; paid_at in epoch ms. */
export interface FailurePayment {
  readonly status: string;
  readonly paid_at: number;
}

/** One payment's contribution to the per-minute counts: `failed` or not, at `timestamp`; `sign` −1 retracts it. */
export interface PaymentContribution {
  readonly timestamp: number;
  readonly failed: boolean;
  readonly sign: Sign;
}

/** `fail` is a failure, `success` is not; any other status is refused. */
export function isFailedPayment(payment: FailurePayment): boolean {
  if (payment.status === 'fail') return true;
  if (payment.status === 'success') return false;
  throw new RangeError(`payment status must be success or fail, got ${JSON.stringify(payment.status)}`);
}

/** The changes a payment's insert (before null), update or delete (after null) makes; none when nothing it counts changed. */
export function paymentContributions(before: FailurePayment | null, after: FailurePayment | null): PaymentContribution[] {
  const old = before === null ? undefined : contribution(before, -1);
  const now = after === null ? undefined : contribution(after, 1);
  if (old !== undefined && now !== undefined && old.timestamp === now.timestamp && old.failed === now.failed) return [];
  return [old, now].filter((c): c is PaymentContribution => c !== undefined);
}

function contribution(payment: FailurePayment, sign: Sign): PaymentContribution {
  if (!Number.isSafeInteger(payment.paid_at)) throw new RangeError(`payment paid_at must be epoch ms, got ${payment.paid_at}`);
  return { timestamp: payment.paid_at, failed: isFailedPayment(payment), sign };
}

/** COUNT(*) and COUNT(failed) with retraction, for the upstream window operator. */
export function paymentOutcomes(): AggregateSpec<boolean, PaymentCounts, PaymentCounts, readonly [number, number]> {
  return {
    create: () => ({ payments: 0, failures: 0 }),
    add(acc, failed, sign) {
      acc.payments += sign;
      if (failed) acc.failures += sign;
      return acc;
    },
    merge(target, source) {
      target.payments += source.payments;
      target.failures += source.failures;
      return target;
    },
    result: (acc) => ({ payments: acc.payments, failures: acc.failures }),
    save: (acc) => [acc.payments, acc.failures] as const,
    load: ([payments, failures]) => ({ payments, failures }),
  };
}

export interface PaymentFailureOptions {
  /** DSPOT over the minute rates: q 1e-4, level 0.98, depth 10, 1000 minutes of calibration by default. */
  readonly dspot?: DspotOptions;
  /** Minutes with fewer payments are skipped. Default 20. */
  readonly minPayments?: number;
  /** The upstream windows' size; 1 min by default. */
  readonly windowSize?: number;
  /** The upstream window operator's allowed lateness; 0 by default. */
  readonly allowedLateness?: number;
}

interface MinuteState {
  readonly window: TimeWindow;
  readonly byKey: Map<string, PaymentCounts>;
  /** Fed to DSPOT (or skipped): later results are late corrections. */
  judged: boolean;
  alerted: boolean;
}

export interface SavedMinute {
  readonly start: number;
  readonly counts: ReadonlyArray<readonly [key: string, payments: number, failures: number]>;
  readonly judged: boolean;
  readonly alerted: boolean;
}

export interface PaymentFailureSnapshot {
  readonly windowSize: number;
  readonly allowedLateness: number;
  readonly minPayments: number;
  readonly watermark: number;
  readonly lateCount: number;
  readonly skippedCount: number;
  readonly dspot: DspotSnapshot;
  /** One entry per window, keyed by its end. */
  readonly minutes: ReadonlyArray<readonly [windowEnd: string, state: SavedMinute]>;
}

export class PaymentFailureDetector implements KeyedSnapshots<PaymentFailureSnapshot> {
  static restore(options: PaymentFailureOptions, snapshot: PaymentFailureSnapshot): PaymentFailureDetector {
    const detector = new PaymentFailureDetector(options);
    if (snapshot.windowSize !== detector.size || snapshot.allowedLateness !== detector.lateness || snapshot.minPayments !== detector.minPayments) {
      throw new RangeError('snapshot was taken with a different window size, allowed lateness or minimum of payments');
    }
    detector.dspot = Dspot.restore(snapshot.dspot);
    detector.watermark = snapshot.watermark;
    detector.late = snapshot.lateCount;
    detector.skipped = snapshot.skippedCount;
    for (const [end, saved] of snapshot.minutes) {
      const byKey = new Map(saved.counts.map(([key, payments, failures]) => [key, { payments, failures }] as const));
      detector.minutes.set(end, { window: { start: saved.start, end: Number(end) }, byKey, judged: saved.judged, alerted: saved.alerted });
    }
    return detector;
  }

  readonly keyedField = 'minutes';
  private readonly size: number;
  private readonly lateness: number;
  private readonly minPayments: number;
  private dspot: Dspot;
  /** By window end as a string (the changelog key). */
  private readonly minutes = new Map<string, MinuteState>();
  private readonly changed = new Set<string>();
  private watermark = MIN_TIMESTAMP;
  private late = 0;
  private skipped = 0;

  constructor(options: PaymentFailureOptions = {}) {
    const { windowSize = 60_000, allowedLateness = 0, minPayments = 20 } = options;
    requirePositiveMs('window size', windowSize);
    requireNonNegativeMs('allowed lateness', allowedLateness);
    if (!Number.isSafeInteger(minPayments) || minPayments < 1) throw new RangeError(`minimum of payments must be a positive integer, got ${minPayments}`);
    this.size = windowSize;
    this.lateness = allowedLateness;
    this.minPayments = minPayments;
    this.dspot = new Dspot(options.dspot);
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  /** Minutes skipped for having fewer than `minPayments` payments. */
  get skippedCount(): number {
    return this.skipped;
  }

  /** The threshold the next minute's rate is compared with, once calibrated. */
  get threshold(): number | undefined {
    return this.dspot.current?.threshold;
  }

  process(input: WindowOutput<unknown, PaymentCounts>): readonly AlertOutput[] {
    if (input.kind === 'late') return NO_OUTPUT;
    const { key, window } = input;
    if (window.end - window.start !== this.size) throw new RangeError(`window [${window.start}, ${window.end}) is not ${this.size} ms long`);
    // Flink WindowOperator.isWindowLate: cleanupTime <= watermark
    if (isWindowLate(window, this.lateness, this.watermark)) {
      this.late += 1;
      return [{ kind: 'late', reason: 'window-expired', key, window, time: maxTimestamp(window) }];
    }
    const id = String(window.end);
    let minute = this.minutes.get(id);
    if (minute === undefined) {
      minute = { window: { start: window.start, end: window.end }, byKey: new Map(), judged: false, alerted: false };
      this.minutes.set(id, minute);
    }
    if (input.kind === 'retract') minute.byKey.delete(key);
    else minute.byKey.set(key, assertCounts(input.value));
    this.changed.add(id);
    if (!minute.judged || minute.alerted) return NO_OUTPUT;
    // A late correction of a judged minute: judged against the current threshold, not learned from
    const { payments, failures } = total(minute);
    const threshold = this.threshold;
    if (payments < this.minPayments || threshold === undefined || !(failures / payments > threshold)) return NO_OUTPUT;
    minute.alerted = true;
    return [{ kind: 'alert', alert: this.alert(minute, payments, failures, threshold, this.dspot.current?.movingAverage as number, true) }];
  }

  /** Feeds the minutes whose max timestamp the watermark reaches to DSPOT in order; drops those past cleanup. */
  advanceWatermark(watermark: number): readonly AlertOutput[] {
    if (watermark <= this.watermark) return NO_OUTPUT;
    this.watermark = watermark;
    const outputs: AlertOutput[] = [];
    const due = Array.from(this.minutes.values())
      .filter((m) => !m.judged && maxTimestamp(m.window) <= watermark)
      .sort((a, b) => a.window.end - b.window.end);
    for (const minute of due) {
      minute.judged = true;
      this.changed.add(String(minute.window.end));
      const { payments, failures } = total(minute);
      if (payments < this.minPayments) {
        this.skipped += 1;
        continue;
      }
      const verdict = this.dspot.step(failures / payments);
      if (verdict.kind === 'alarm') {
        minute.alerted = true;
        outputs.push({ kind: 'alert', alert: this.alert(minute, payments, failures, verdict.threshold, verdict.movingAverage, false) });
      }
    }
    for (const [id, minute] of this.minutes) {
      if (isWindowLate(minute.window, this.lateness, watermark)) {
        this.minutes.delete(id);
        this.changed.add(id);
      }
    }
    return outputs;
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): PaymentFailureSnapshot {
    return {
      windowSize: this.size,
      allowedLateness: this.lateness,
      minPayments: this.minPayments,
      watermark: this.watermark,
      lateCount: this.late,
      skippedCount: this.skipped,
      dspot: this.dspot.snapshot(),
      minutes: entriesOf(this.minutes, only).map(([id, m]) => [
        id,
        { start: m.window.start, counts: Array.from(m.byKey, ([key, c]) => [key, c.payments, c.failures] as const), judged: m.judged, alerted: m.alerted },
      ] as const),
    };
  }

  private alert(minute: MinuteState, payments: number, failures: number, threshold: number, movingAverage: number, late: boolean): Alert {
    return {
      time: maxTimestamp(minute.window),
      kind: 'payment_failure',
      subject: 'payments',
      value: failures / payments,
      threshold,
      detail: { window_start: minute.window.start, window_end: minute.window.end, payments, failures, moving_average: movingAverage, late },
    };
  }
}

function total(minute: MinuteState): PaymentCounts {
  let payments = 0;
  let failures = 0;
  for (const c of minute.byKey.values()) {
    payments += c.payments;
    failures += c.failures;
  }
  return { payments, failures };
}

function assertCounts(value: PaymentCounts): PaymentCounts {
  const { payments, failures } = value;
  if (!Number.isSafeInteger(payments) || !Number.isSafeInteger(failures) || failures < 0 || payments < failures) {
    throw new RangeError(`not payment counts: ${JSON.stringify(value)}`);
  }
  return { payments, failures };
}

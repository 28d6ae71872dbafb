import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeChanges } from '../../changelog-codec.js';
import { count } from '../aggregates.js';
import { uniforms } from '../evt/evt-test-support.js';
import type { KeyedSnapshots } from '../keyed-snapshots.js';
import { SlicedWindowOperator, type SlicedWindowSnapshot } from '../sliced-window.js';
import { slidingWindows } from '../windows.js';
import type { Alert, AlertOutput } from './alert.js';
import { type BrushingOrder, OrderBrushingDetector, type OrderBrushingOptions, type OrderBrushingSnapshot, smallOrderContributions } from './order-brushing.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 0, 5);

describe('smallOrderContributions', () => {
  const order = (over: Partial<BrushingOrder> = {}): BrushingOrder => ({ user_id: 7, amount: '9.90', status: 'created', created_at: START, ...over });

  it('adds a small counted order, retracts it when cancelled or raised to 20.00, moves it with its user or time', () => {
    expect(smallOrderContributions(null, order())).toEqual([{ key: '7', timestamp: START, sign: 1 }]);
    expect(smallOrderContributions(order(), order({ status: 'paid' }))).toEqual([]);
    expect(smallOrderContributions(order(), order({ status: 'cancelled' }))).toEqual([{ key: '7', timestamp: START, sign: -1 }]);
    expect(smallOrderContributions(order(), order({ amount: '20.00' }))).toEqual([{ key: '7', timestamp: START, sign: -1 }]);
    expect(smallOrderContributions(order({ amount: '25.00' }), order({ amount: '19.99' }))).toEqual([{ key: '7', timestamp: START, sign: 1 }]);
    expect(smallOrderContributions(order(), order({ user_id: 8 }))).toEqual([
      { key: '7', timestamp: START, sign: -1 },
      { key: '8', timestamp: START, sign: 1 },
    ]);
    expect(smallOrderContributions(order({ status: 'refunded' }), null)).toEqual([{ key: '7', timestamp: START, sign: -1 }]);
    expect(smallOrderContributions(order(), null, '5.00')).toEqual([]);
  });

  it('refuses amounts and times it cannot read', () => {
    expect(() => smallOrderContributions(null, order({ amount: 'ten' }))).toThrow(SyntaxError);
    expect(() => smallOrderContributions(null, order({ amount: '1.005' }))).toThrow(RangeError);
    expect(() => smallOrderContributions(null, order({ created_at: Number.NaN }))).toThrow(RangeError);
  });
});

interface Change {
  /** when it reaches the job */
  readonly arrival: number;
  readonly before: BrushingOrder | null;
  readonly after: BrushingOrder | null;
}

interface Traffic {
  readonly changes: Change[];
  /** brushing episodes: user and the time of their first and last order */
  readonly brushers: ReadonlyArray<{ user: string; from: number; to: number }>;
}

/**
 * `hours` of orders: 3,000 users ordering about once an hour, 15 % below 20.00, 5 % cancelled 1–5 minutes later;
 * one brusher an hour (a random user: 20–40 orders of 1.00–9.90, 5–25 s apart, as the generator plants them).
 * Arrival = event time plus up to 4 s of disorder (`jitterSeed`); cancellations arrive when they happen.
 */
function traffic(hours: number, jitterSeed: number, cancellations = true): Traffic {
  const u = uniforms(99);
  const jitter = uniforms(jitterSeed);
  const end = START + hours * 60 * MINUTE;
  const changes: Change[] = [];
  const users = 3_000;
  let t = START;
  while (true) {
    t += -Math.log(u()) * (3_600_000 / users);
    if (t >= end) break;
    const created = Math.floor(t);
    const user = 1 + Math.floor(u() * users);
    const small = u() < 0.15;
    const amount = small ? (1 + u() * 18.99).toFixed(2) : (20 + u() * 500).toFixed(2);
    const row: BrushingOrder = { user_id: user, amount, status: 'created', created_at: created };
    changes.push({ arrival: created + Math.floor(jitter() * 4_000), before: null, after: row });
    if (cancellations && u() < 0.05) changes.push({ arrival: created + MINUTE + Math.floor(u() * 4 * MINUTE), before: row, after: { ...row, status: 'cancelled' } });
  }
  const brushers: Array<{ user: string; from: number; to: number }> = [];
  for (let h = 0; h < hours; h++) {
    const user = 1 + Math.floor(u() * users);
    const orders = 20 + Math.floor(u() * 21);
    let at = START + h * 60 * MINUTE + Math.floor(u() * 45 * MINUTE);
    const from = at;
    for (let k = 0; k < orders; k++) {
      changes.push({ arrival: at + Math.floor(jitter() * 4_000), before: null, after: { user_id: user, amount: (1 + Math.floor(u() * 890) / 100).toFixed(2), status: 'created', created_at: at } });
      if (k + 1 < orders) at += 5_000 + Math.floor(u() * 20_000);
    }
    brushers.push({ user: String(user), from, to: at });
  }
  changes.sort((a, b) => a.arrival - b.arrival);
  return { changes, brushers };
}

const windowOptions = { assigner: slidingWindows(10 * MINUTE, MINUTE), aggregate: count(), allowedLateness: 5 * MINUTE };
const detectorOptions: OrderBrushingOptions = { allowedLateness: 5 * MINUTE };

/** The pipeline: contributions → sliding count windows → the detector; watermark = max event time − 5 s − 1. */
class Pipeline {
  windows = new SlicedWindowOperator(windowOptions);
  detector = new OrderBrushingDetector(detectorOptions);
  readonly alerts: Alert[] = [];
  readonly late: AlertOutput[] = [];
  countsFed = 0;
  private maxSeen = Number.MIN_SAFE_INTEGER;

  step(change: Change): void {
    for (const c of smallOrderContributions(change.before, change.after)) this.forward(this.windows.process(c.key, c.timestamp, null, c.sign));
    if (change.after !== null) this.maxSeen = Math.max(this.maxSeen, change.after.created_at);
    const watermark = this.maxSeen - 5_000 - 1;
    const fired = this.windows.advanceWatermark(watermark);
    this.countsFed += fired.filter((o) => o.kind === 'result').length;
    this.forward(fired);
    this.collect(this.detector.advanceWatermark(watermark));
  }

  snapshot(): string {
    return JSON.stringify({ windows: this.windows.snapshot(), detector: this.detector.snapshot() });
  }

  restore(json: string): void {
    const saved = JSON.parse(json) as { windows: SlicedWindowSnapshot<number>; detector: OrderBrushingSnapshot };
    this.windows = SlicedWindowOperator.restore(windowOptions, saved.windows);
    this.detector = OrderBrushingDetector.restore(detectorOptions, saved.detector);
  }

  private forward(outputs: ReturnType<SlicedWindowOperator<unknown, number, number, number>['process']>): void {
    for (const output of outputs) this.collect(this.detector.process(output));
  }

  private collect(outputs: readonly AlertOutput[]): void {
    for (const o of outputs) {
      if (o.kind === 'alert') this.alerts.push(o.alert);
      else this.late.push(o);
    }
  }
}

function run(changes: readonly Change[]): Pipeline {
  const pipeline = new Pipeline();
  for (const change of changes) pipeline.step(change);
  return pipeline;
}

/** An alert whose window overlaps a planted episode's orders is the brusher's. */
function isPlanted(alert: Alert, brushers: Traffic['brushers']): boolean {
  return brushers.some((b) => b.user === alert.subject && (alert.detail.window_start as number) <= b.to && (alert.detail.window_end as number) > b.from);
}

describe('order_brushing on synthetic traffic with planted brushers', () => {
  const hours = 12;
  const planted = traffic(hours, 1);

  it('alerts once on every brusher, and seldom on normal users', { timeout: 120_000 }, () => {
    const pipeline = run(planted.changes);
    const { alerts } = pipeline;
    const falseAlerts = alerts.filter((a) => !isPlanted(a, planted.brushers));
    const perBrusher = planted.brushers.map((b) => alerts.filter((a) => isPlanted(a, [b])).length);
    console.log(
      `order_brushing: ${planted.brushers.length} brushers, alerts per brusher ${JSON.stringify(perBrusher)}; ${falseAlerts.length} false alerts ` +
        `over ${pipeline.countsFed} window counts in ${hours} h (${((falseAlerts.length / pipeline.countsFed) * 100).toFixed(3)} %); threshold ${pipeline.detector.threshold?.toFixed(2)}; ` +
        `${pipeline.late.length} late results`,
    );
    // calibration takes the first 1,000 counts, about 13 minutes of traffic: here before the first brusher
    expect(perBrusher.every((n) => n === 1)).toBe(true);
    expect(falseAlerts.length / pipeline.countsFed).toBeLessThan(1e-3);
    for (const alert of alerts) {
      expect(alert).toMatchObject({ kind: 'order_brushing', time: (alert.detail.window_end as number) - 1 });
      expect(alert.value).toBeGreaterThan(alert.threshold);
    }
  });

  it('gives the same alerts whatever the arrival order of on-time orders', { timeout: 120_000 }, () => {
    const a = run(traffic(3, 1, false).changes);
    const b = run(traffic(3, 2, false).changes);
    expect(a.alerts.length).toBeGreaterThan(0);
    expect(b.alerts).toEqual(a.alerts);
  });

  it('restored from JSON mid-stream, or from an incremental changelog, gives what an uninterrupted run gives', { timeout: 120_000 }, () => {
    const { changes } = traffic(3, 3);
    const whole = run(changes);
    for (const cut of [Math.floor(changes.length * 0.07), Math.floor(changes.length * 0.6)]) {
      const pipeline = new Pipeline();
      changes.slice(0, cut).forEach((c) => pipeline.step(c));
      const before = pipeline.alerts.length;
      pipeline.restore(pipeline.snapshot());
      changes.slice(cut).forEach((c) => pipeline.step(c));
      expect(pipeline.alerts).toEqual(whole.alerts);
      expect(before).toBeLessThan(whole.alerts.length);
    }
    // a changelog holding only the changed keys' records always decodes to the whole state
    const pipeline = new Pipeline();
    const log = new Map<string, string>();
    changes.forEach((c, i) => {
      pipeline.step(c);
      if (i % 97 === 0) checkpoint(pipeline.detector, log);
    });
    checkpoint(pipeline.detector, log);
    expect(decodeSnapshot<OrderBrushingSnapshot>(log)?.snapshot).toEqual(JSON.parse(JSON.stringify(pipeline.detector.snapshot())));
  });
});

function checkpoint<S extends object>(operator: KeyedSnapshots<S>, log: Map<string, string>): void {
  const changed = operator.takeChangedKeys();
  for (const [key, value] of encodeChanges(operator.snapshot(changed), operator.keyedField, changed, null)) {
    if (value === null) log.delete(key);
    else log.set(key, value);
  }
}

describe('OrderBrushingDetector rules', () => {
  /** A calibrated detector: 1,000 counts of 1–2 in windows ending at minute 1..100 of user u<i>. */
  function calibrated(): OrderBrushingDetector {
    const detector = new OrderBrushingDetector({ spot: { calibrationSize: 1_000 }, windowSize: 10 * MINUTE });
    for (let m = 1; m <= 100; m++) {
      const end = START + m * MINUTE;
      for (let i = 0; i < 10; i++) detector.process({ kind: 'result', key: `u${i}`, window: { start: end - 10 * MINUTE, end }, value: (m + i) % 20 === 0 ? 2 : 1 });
      detector.advanceWatermark(end - 1);
    }
    if (detector.threshold === undefined) throw new Error('not calibrated');
    return detector;
  }

  const window = (endMinute: number) => ({ start: START + (endMinute - 10) * MINUTE, end: START + endMinute * MINUTE });

  it('alerts once for consecutive over-threshold slides, again once an episode no longer overlaps', () => {
    const detector = calibrated();
    const alerted: number[] = [];
    for (const m of [101, 102, 103, 104, 120, 121, 135]) {
      const w = window(m);
      detector.process({ kind: 'result', key: 'brusher', window: w, value: 30 });
      for (const o of detector.advanceWatermark(w.end - 1)) if (o.kind === 'alert') alerted.push((o.alert.detail.window_end as number - START) / MINUTE);
    }
    // 101–104 one episode [91, 104); 120 starts at 110 ≥ 104: a new one, 121 extends it; 135 starts at 125 ≥ 121
    expect(alerted).toEqual([101, 120, 135]);
  });

  it('judges a late update against the threshold without learning from it; drops what is past cleanup to the late output', () => {
    const detector = new OrderBrushingDetector({ spot: { calibrationSize: 100 }, allowedLateness: 2 * MINUTE });
    for (let m = 1; m <= 10; m++) {
      const end = START + m * MINUTE;
      for (let i = 0; i < 10; i++) detector.process({ kind: 'result', key: `u${i}`, window: { start: end - 10 * MINUTE, end }, value: 1 + ((m * i) % 3) });
      detector.advanceWatermark(end - 1);
    }
    const spot = detector.snapshot().spot;
    const w = window(10);
    const outputs = detector.process({ kind: 'update', key: 'u1', window: w, value: 50 });
    expect(outputs).toEqual([{ kind: 'alert', alert: expect.objectContaining({ subject: 'u1', value: 50, detail: { window_start: w.start, window_end: w.end, late: true } }) as Alert }]);
    expect(detector.snapshot().spot).toEqual(spot);
    detector.advanceWatermark(w.end - 1 + 2 * MINUTE);
    expect(detector.process({ kind: 'update', key: 'u2', window: w, value: 50 })).toEqual([{ kind: 'late', reason: 'window-expired', key: 'u2', window: w, time: w.end - 1 }]);
    expect(detector.lateCount).toBe(1);
  });

  it('forgets a count retracted before its window is judged, and refuses windows of another size or non-counts', () => {
    const detector = new OrderBrushingDetector({ spot: { calibrationSize: 100 } });
    const w = window(10);
    detector.process({ kind: 'result', key: 'a', window: w, value: 3 });
    detector.process({ kind: 'retract', key: 'a', window: w });
    expect(detector.snapshot().users).toEqual([]);
    detector.advanceWatermark(w.end);
    expect(detector.snapshot().spot.calibration).toEqual([]);
    expect(() => detector.process({ kind: 'result', key: 'a', window: { start: 0, end: MINUTE }, value: 1 })).toThrow(/not 600000 ms long/);
    expect(() => detector.process({ kind: 'result', key: 'a', window: window(20), value: 0 })).toThrow(/not a window count/);
  });
});

import { describe, expect, it } from 'vitest';
import { count, sumDecimal } from './aggregates.js';
import { parseDecimal } from './decimal.js';
import { createWindowOperator, restoreWindowOperator, type WindowOperatorSnapshot } from './window-operator.js';
import { DAY_MS, HOUR_MS, type WindowAssigner, dailyWindows, sessionWindows, slidingWindows, tumblingWindows } from './windows.js';

const counting = (assigner: WindowAssigner, allowedLateness = 0) => createWindowOperator({ assigner, aggregate: count(), allowedLateness });

describe('window boundaries', () => {
  it('puts an event at end - 1 in the window and one at end in the next', () => {
    const op = counting(tumblingWindows(10));
    op.process('k', 9, null);
    op.process('k', 10, null);
    expect(op.advanceWatermark(100)).toEqual([
      { kind: 'result', key: 'k', window: { start: 0, end: 10 }, value: 1 },
      { kind: 'result', key: 'k', window: { start: 10, end: 20 }, value: 1 },
    ]);
  });

  it('does not fire at watermark end - 2 and fires at end - 1', () => {
    const op = counting(tumblingWindows(10));
    op.process('k', 3, null);
    expect(op.advanceWatermark(8)).toEqual([]);
    expect(op.advanceWatermark(9)).toEqual([{ kind: 'result', key: 'k', window: { start: 0, end: 10 }, value: 1 }]);
    expect(op.advanceWatermark(50)).toEqual([]);
  });

  it('applies the offset and handles negative timestamps', () => {
    const op = counting(tumblingWindows(10, 3));
    op.process('k', -8, null); // window [-17, -7)
    op.process('k', 2, null); // window [-7, 3)
    op.process('k', 3, null); // window [3, 13)
    expect(op.advanceWatermark(100).map((o) => (o.kind === 'late' ? o : o.window))).toEqual([
      { start: -17, end: -7 },
      { start: -7, end: 3 },
      { start: 3, end: 13 },
    ]);
  });

  it('fires each sliding window of an element once, by window end', () => {
    const op = counting(slidingWindows(15, 5));
    op.process('k', 12, null); // in [0, 15), [5, 20), [10, 25)
    expect(op.advanceWatermark(14)).toEqual([{ kind: 'result', key: 'k', window: { start: 0, end: 15 }, value: 1 }]);
    expect(op.advanceWatermark(30).map((o) => (o.kind === 'late' ? o : o.window))).toEqual([
      { start: 5, end: 20 },
      { start: 10, end: 25 },
    ]);
  });

  it('sums 1 h windows sliding by 5 min exactly', () => {
    const minute = 60_000;
    const op = createWindowOperator({ assigner: slidingWindows(HOUR_MS, 5 * minute), aggregate: sumDecimal(2) });
    for (let m = 0; m < 60; m++) op.process('shop', m * minute, parseDecimal('0.10', 2));
    const results = op.advanceWatermark(2 * HOUR_MS);
    expect(results).toHaveLength(23);
    expect(results.find((o) => o.kind === 'result' && o.window.start === 0)).toMatchObject({ value: '6.00' });
    expect(results[0]).toMatchObject({ window: { start: -55 * minute, end: 5 * minute }, value: '0.50' });
  });
});

describe('daily windows in a time zone', () => {
  it('cuts days at local midnight: UTC+8 is Flink of(days(1), hours(-8))', () => {
    const utc8 = dailyWindows(8 * HOUR_MS);
    expect(utc8).toEqual({ kind: 'tumbling', size: DAY_MS, offset: -8 * HOUR_MS });
    const op = counting(utc8);
    const localMidnight = Date.parse('2024-01-02T00:00:00+08:00'); // 2024-01-01T16:00Z
    op.process('k', localMidnight - 1, null);
    op.process('k', localMidnight, null);
    expect(op.advanceWatermark(localMidnight + DAY_MS).map((o) => (o.kind === 'late' ? o : o.window))).toEqual([
      { start: localMidnight - DAY_MS, end: localMidnight },
      { start: localMidnight, end: localMidnight + DAY_MS },
    ]);
  });

  it('handles zones west of UTC', () => {
    const op = counting(dailyWindows(-5 * HOUR_MS));
    const localMidnight = Date.parse('2024-03-01T00:00:00-05:00');
    op.process('k', localMidnight + 1, null);
    expect(op.advanceWatermark(localMidnight + DAY_MS)).toEqual([{ kind: 'result', key: 'k', window: { start: localMidnight, end: localMidnight + DAY_MS }, value: 1 }]);
  });
});

describe('allowed lateness', () => {
  it('re-fires a window as an update for a late element within lateness, and keeps state until watermark >= end - 1 + lateness', () => {
    const op = counting(tumblingWindows(10), 5);
    op.process('k', 1, null);
    expect(op.advanceWatermark(9)).toEqual([{ kind: 'result', key: 'k', window: { start: 0, end: 10 }, value: 1 }]);
    expect(op.process('k', 2, null)).toEqual([{ kind: 'update', key: 'k', window: { start: 0, end: 10 }, value: 2 }]);
    op.advanceWatermark(13);
    expect(op.process('k', 3, null)).toEqual([{ kind: 'update', key: 'k', window: { start: 0, end: 10 }, value: 3 }]);
    op.advanceWatermark(14); // cleanup time 9 + 5
    expect(op.process('k', 4, null)).toEqual([{ kind: 'late', reason: 'window-expired', key: 'k', timestamp: 4, record: null, sign: 1 }]);
    expect(op.lateCount).toBe(1);
  });

  it('emits a first result, not an update, when a late element is the first for its key in a fired window', () => {
    const op = counting(tumblingWindows(10), 5);
    op.process('a', 1, null);
    op.advanceWatermark(9);
    expect(op.process('b', 1, null)).toEqual([{ kind: 'result', key: 'b', window: { start: 0, end: 10 }, value: 1 }]);
  });

  it('without lateness, an element for a window whose end - 1 the watermark has reached is late', () => {
    const op = counting(tumblingWindows(10));
    op.advanceWatermark(9);
    expect(op.process('k', 9, null)).toMatchObject([{ kind: 'late', timestamp: 9 }]);
    expect(op.process('k', 10, null)).toEqual([]);
  });

  it('updates only the sliding windows still within lateness; late for all goes to the late output', () => {
    const op = counting(slidingWindows(20, 10), 5);
    op.process('k', 15, null); // [0, 20) and [10, 30)
    op.advanceWatermark(29);
    // [0, 20) cleanup 24 has passed; [10, 30) fired at 29, cleanup 34
    expect(op.process('k', 16, null)).toEqual([{ kind: 'update', key: 'k', window: { start: 10, end: 30 }, value: 2 }]);
    op.advanceWatermark(34);
    expect(op.process('k', 16, null)).toMatchObject([{ kind: 'late' }]);
  });

  it('re-fires every fired sliding window of a late element, latest window start first (Flink assignWindows order)', () => {
    const op = counting(slidingWindows(15, 5), 100);
    op.process('k', 12, null);
    op.advanceWatermark(30);
    expect(op.process('k', 11, null).map((o) => (o.kind === 'late' ? o : [o.kind, o.window.start]))).toEqual([
      ['update', 10],
      ['update', 5],
      ['update', 0],
    ]);
  });

  it('retracts an emitted window when retractions empty it', () => {
    const op = createWindowOperator({ assigner: tumblingWindows(10), aggregate: sumDecimal(2), allowedLateness: 100 });
    op.process('k', 1, 50n);
    op.advanceWatermark(9);
    expect(op.process('k', 1, 50n, -1)).toEqual([{ kind: 'retract', key: 'k', window: { start: 0, end: 10 } }]);
    expect(op.process('k', 1, 70n)).toEqual([{ kind: 'result', key: 'k', window: { start: 0, end: 10 }, value: '0.70' }]);
  });

  it('applies an update (retract old, add new) as two changes', () => {
    const op = createWindowOperator({ assigner: tumblingWindows(10), aggregate: sumDecimal(2), allowedLateness: 100 });
    op.process('k', 1, 500n);
    op.advanceWatermark(9);
    expect([...op.process('k', 1, 500n, -1), ...op.process('k', 1, 450n)]).toEqual([
      { kind: 'retract', key: 'k', window: { start: 0, end: 10 } },
      { kind: 'result', key: 'k', window: { start: 0, end: 10 }, value: '4.50' },
    ]);
  });
});

describe('createWindowOperator / restoreWindowOperator', () => {
  it('runs session windows through the same interface', () => {
    const op = counting(sessionWindows(10));
    op.process('k', 0, null);
    op.process('k', 8, null);
    expect(op.advanceWatermark(17)).toEqual([{ kind: 'result', key: 'k', window: { start: 0, end: 18 }, value: 2 }]);
  });

  it('restores each kind from its snapshot and refuses the other kind', () => {
    for (const assigner of [tumblingWindows(10), slidingWindows(20, 5), dailyWindows(8 * HOUR_MS), sessionWindows(10)]) {
      const options = { assigner, aggregate: count(), allowedLateness: 3 };
      const op = createWindowOperator(options);
      op.process('k', 4, null);
      const snapshot = JSON.parse(JSON.stringify(op.snapshot())) as WindowOperatorSnapshot<number>;
      const restored = restoreWindowOperator(options, snapshot);
      expect(restored.advanceWatermark(DAY_MS)).toEqual(op.advanceWatermark(DAY_MS));
      const other = assigner.kind === 'session' ? tumblingWindows(10) : sessionWindows(10);
      expect(() => restoreWindowOperator({ ...options, assigner: other }, snapshot)).toThrow(RangeError);
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Sign, aggregateFields, count, field, sumDecimal } from './aggregates.js';
import { SessionWindowOperator, type SessionWindowSnapshot } from './session-window.js';
import { type WindowOutput, sessionWindows } from './windows.js';

interface OracleWindow {
  start: number;
  end: number;
  rows: number;
  sum: number;
  emitted: boolean;
}

/**
 * Flink's algorithm taken literally: TimeWindow.mergeWindows over all of a key's windows plus the new one (sort by
 * start, merge while intersects, cover), then WindowOperator's late check, EventTimeTrigger and cleanup; retractions
 * of merged-away emitted windows as this runtime adds them. Aggregates a count and a sum.
 */
class SessionOracle {
  private readonly windows = new Map<string, OracleWindow[]>();
  private watermark = Number.MIN_SAFE_INTEGER;

  constructor(
    private readonly gap: number,
    private readonly lateness: number,
  ) {}

  process(key: string, timestamp: number, value: number, sign: Sign): Array<WindowOutput<number, { n: number; sum: string | null }>> {
    const outputs: Array<WindowOutput<number, { n: number; sum: string | null }>> = [];
    const fresh: OracleWindow = { start: timestamp, end: timestamp + this.gap, rows: 0, sum: 0, emitted: false };
    const sorted = [...(this.windows.get(key) ?? []), fresh].sort((a, b) => a.start - b.start);
    const groups: OracleWindow[][] = [];
    let cover: { start: number; end: number } | undefined;
    for (const candidate of sorted) {
      const current = groups[groups.length - 1];
      if (cover !== undefined && current !== undefined && cover.start <= candidate.end && cover.end >= candidate.start) {
        current.push(candidate);
        cover = { start: Math.min(cover.start, candidate.start), end: Math.max(cover.end, candidate.end) };
      } else {
        groups.push([candidate]);
        cover = { start: candidate.start, end: candidate.end };
      }
    }
    const group = groups.find((g) => g.includes(fresh)) ?? [fresh];
    const existing = group.filter((w) => w !== fresh);
    const start = Math.min(...group.map((w) => w.start));
    const end = Math.max(...group.map((w) => w.end));
    let actual: OracleWindow;
    if (existing.length === 0) {
      if (end - 1 + this.lateness <= this.watermark) return [{ kind: 'late', reason: 'window-expired', key, timestamp, record: value, sign }];
      actual = fresh;
    } else if (existing.length === 1 && existing[0]?.start === start && existing[0].end === end) {
      actual = existing[0];
    } else {
      actual = { start, end, rows: 0, sum: 0, emitted: false };
      for (const w of existing) {
        if (w.emitted) outputs.push({ kind: 'retract', key, window: { start: w.start, end: w.end } });
        actual.rows += w.rows;
        actual.sum += w.sum;
      }
    }
    const kept = (this.windows.get(key) ?? []).filter((w) => !existing.includes(w));
    this.windows.set(key, [...kept, actual].sort((a, b) => a.start - b.start));
    actual.rows += sign;
    actual.sum += sign * value;
    if (actual.end - 1 <= this.watermark) {
      const fired = this.fire(key, actual);
      if (fired !== undefined) outputs.push(fired);
    }
    return outputs;
  }

  advanceWatermark(watermark: number): Array<WindowOutput<number, { n: number; sum: string | null }>> {
    if (watermark <= this.watermark) return [];
    const previous = this.watermark;
    this.watermark = watermark;
    const due: Array<readonly [number, string, OracleWindow]> = [];
    for (const [key, windows] of this.windows) {
      for (const w of windows) if (w.end - 1 > previous && w.end - 1 <= watermark) due.push([w.end - 1, key, w]);
    }
    due.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const outputs: Array<WindowOutput<number, { n: number; sum: string | null }>> = [];
    for (const [, key, w] of due) {
      const fired = this.fire(key, w);
      if (fired !== undefined) outputs.push(fired);
    }
    for (const [key, windows] of this.windows) {
      const kept = windows.filter((w) => w.end - 1 + this.lateness > watermark);
      if (kept.length === 0) this.windows.delete(key);
      else this.windows.set(key, kept);
    }
    return outputs;
  }

  private fire(key: string, w: OracleWindow): WindowOutput<number, { n: number; sum: string | null }> | undefined {
    const window = { start: w.start, end: w.end };
    if (w.rows !== 0) {
      const kind = w.emitted ? 'update' : 'result';
      w.emitted = true;
      return { kind, key, window, value: { n: w.rows, sum: String(w.sum) } };
    }
    if (!w.emitted) return undefined;
    w.emitted = false;
    return { kind: 'retract', key, window };
  }
}

const counting = (gap: number, allowedLateness = 0) => new SessionWindowOperator({ assigner: sessionWindows(gap), aggregate: count(), allowedLateness });

describe('SessionWindowOperator', () => {
  it('extends a session while elements keep coming within the gap, and fires at watermark >= end - 1', () => {
    const op = counting(10);
    op.process('u', 0, null);
    op.process('u', 5, null);
    expect(op.advanceWatermark(13)).toEqual([]);
    expect(op.advanceWatermark(14)).toEqual([{ kind: 'result', key: 'u', window: { start: 0, end: 15 }, value: 2 }]);
  });

  it('merges sessions that only touch (Flink TimeWindow.intersects is inclusive), not ones with a gap between', () => {
    const op = counting(10);
    op.process('touch', 0, null);
    op.process('touch', 10, null);
    op.process('apart', 0, null);
    op.process('apart', 11, null);
    // Fired in timer order: by maxTimestamp, then key.
    expect(op.advanceWatermark(100)).toEqual([
      { kind: 'result', key: 'apart', window: { start: 0, end: 10 }, value: 1 },
      { kind: 'result', key: 'touch', window: { start: 0, end: 20 }, value: 2 },
      { kind: 'result', key: 'apart', window: { start: 11, end: 21 }, value: 1 },
    ]);
  });

  it('merges out-of-order elements and several sessions at once', () => {
    const op = counting(10);
    op.process('u', 30, null);
    op.process('u', 0, null);
    op.process('u', 50, null);
    expect(op.snapshot().keys[0]?.[1].map(([start, end]) => [start, end])).toEqual([[0, 10], [30, 40], [50, 60]]);
    op.process('u', 19, null); // [19, 29): touches nothing
    op.process('u', 25, null); // [25, 35): bridges [19, 29) and [30, 40)
    op.process('u', 40, null); // [40, 50): touches [25, 40) and [50, 60)
    expect(op.snapshot().keys[0]?.[1].map(([start, end, , rows]) => [start, end, rows])).toEqual([[0, 10, 1], [19, 60, 5]]);
  });

  it('a late element within lateness bridges two fired sessions: both are retracted and the merged one fires', () => {
    const op = counting(10, 100);
    op.process('u', 0, null);
    op.process('u', 20, null);
    expect(op.advanceWatermark(40)).toHaveLength(2);
    expect(op.process('u', 10, null)).toEqual([
      { kind: 'retract', key: 'u', window: { start: 0, end: 10 } },
      { kind: 'retract', key: 'u', window: { start: 20, end: 30 } },
      { kind: 'result', key: 'u', window: { start: 0, end: 30 }, value: 3 },
    ]);
    expect(op.process('u', 3, null)).toEqual([{ kind: 'update', key: 'u', window: { start: 0, end: 30 }, value: 4 }]);
  });

  it('a late element that extends a fired session past the watermark retracts it and waits for the new end', () => {
    const op = counting(10, 100);
    op.process('u', 0, null);
    expect(op.advanceWatermark(12)).toHaveLength(1);
    expect(op.process('u', 8, null)).toEqual([{ kind: 'retract', key: 'u', window: { start: 0, end: 10 } }]);
    expect(op.advanceWatermark(16)).toEqual([]);
    expect(op.advanceWatermark(17)).toEqual([{ kind: 'result', key: 'u', window: { start: 0, end: 18 }, value: 2 }]);
  });

  it('accepts an element whose own window is late when it merges into a session still open (Flink merges first)', () => {
    const op = counting(100);
    op.process('u', 100, null); // [100, 200)
    op.advanceWatermark(150);
    expect(op.process('u', 0, null)).toEqual([]); // [0, 100) alone is late, but touches [100, 200)
    expect(op.advanceWatermark(199)).toEqual([{ kind: 'result', key: 'u', window: { start: 0, end: 200 }, value: 2 }]);
  });

  it('fires a new session within lateness at once, and sends one past cleanup (watermark >= end - 1 + lateness) to the late output', () => {
    const op = counting(10, 5);
    op.advanceWatermark(100);
    // [87, 97): cleanup 96 + 5 = 101 > 100
    expect(op.process('u', 87, null)).toEqual([{ kind: 'result', key: 'u', window: { start: 87, end: 97 }, value: 1 }]);
    // [86, 96) would touch [87, 97), so use another key: cleanup 95 + 5 = 100 <= 100
    expect(op.process('v', 86, null, 1)).toEqual([{ kind: 'late', reason: 'window-expired', key: 'v', timestamp: 86, record: null, sign: 1 }]);
    expect(op.lateCount).toBe(1);
    expect(op.snapshot().keys.map(([key]) => key)).toEqual(['u']);
  });

  it('retracts a fired session once retractions empty it, and stays silent for one that never fired', () => {
    const op = new SessionWindowOperator({ assigner: sessionWindows(10), aggregate: sumDecimal(2), allowedLateness: 50 });
    op.process('a', 0, 100n);
    op.process('a', 0, 100n, -1);
    op.process('b', 0, 250n);
    expect(op.advanceWatermark(9)).toEqual([{ kind: 'result', key: 'b', window: { start: 0, end: 10 }, value: '2.50' }]);
    expect(op.process('b', 0, 250n, -1)).toEqual([{ kind: 'retract', key: 'b', window: { start: 0, end: 10 } }]);
    expect(op.process('b', 0, 300n)).toEqual([{ kind: 'result', key: 'b', window: { start: 0, end: 10 }, value: '3.00' }]);
  });

  it('frees a session at its cleanup time', () => {
    const op = counting(10, 5);
    op.process('u', 0, null);
    op.advanceWatermark(13);
    expect(op.snapshot().keys).toHaveLength(1);
    op.advanceWatermark(14);
    expect(op.snapshot().keys).toEqual([]);
  });

  type Op = readonly ['add', string, number, number] | readonly ['retract', number] | readonly ['watermark', number];
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constant('add' as const), fc.constantFrom('a', 'b'), fc.integer({ min: -30, max: 30 }), fc.integer({ min: 1, max: 9 })) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('retract' as const), fc.nat()) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('watermark' as const), fc.integer({ min: 0, max: 15 })) },
  );
  const scenarioArb = fc.record({
    gap: fc.integer({ min: 1, max: 12 }),
    lateness: fc.integer({ min: 0, max: 20 }),
    ops: fc.array(opArb, { maxLength: 80 }),
    cut: fc.nat(),
  });
  const aggregate = aggregateFields({ n: field(count(), (v: number) => v), sum: field(sumDecimal(0), (v: number) => BigInt(v)) });
  type Operator = SessionWindowOperator<number, unknown[], ReturnType<typeof aggregate.result>, ReturnType<typeof aggregate.save>>;
  interface Driver {
    process(key: string, timestamp: number, value: number, sign: Sign): ReadonlyArray<WindowOutput<number, unknown>>;
    advanceWatermark(watermark: number): ReadonlyArray<WindowOutput<number, unknown>>;
  }

  function drive<D extends Driver>(start: D, ops: readonly Op[], cut = -1, swap: (op: D) => D = (op) => op): Array<WindowOutput<number, unknown>> {
    let op = start;
    let watermark = 0;
    const inserts: Array<readonly [string, number, number]> = [];
    const outputs: Array<WindowOutput<number, unknown>> = [...op.advanceWatermark(watermark)];
    ops.forEach((step, i) => {
      if (i === cut) op = swap(op);
      if (step[0] === 'add') {
        inserts.push([step[1], watermark + step[2], step[3]]);
        outputs.push(...op.process(step[1], watermark + step[2], step[3], 1));
      } else if (step[0] === 'retract') {
        const insert = inserts[step[1] % Math.max(1, inserts.length)];
        if (insert !== undefined) outputs.push(...op.process(insert[0], insert[1], insert[2], -1));
      } else {
        watermark += step[1];
        outputs.push(...op.advanceWatermark(watermark));
      }
    });
    outputs.push(...op.advanceWatermark(watermark + 1_000));
    return outputs;
  }

  it("equals Flink's merge-all-windows algorithm on random streams with disorder, lateness and retractions", () => {
    fc.assert(
      fc.property(scenarioArb, ({ gap, lateness, ops }) => {
        const op: Operator = new SessionWindowOperator({ assigner: sessionWindows(gap), aggregate, allowedLateness: lateness });
        expect(drive(op, ops)).toEqual(drive(new SessionOracle(gap, lateness), ops));
        expect(op.snapshot().keys).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('restores from a snapshot taken mid-stream and continues with identical outputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ gap, lateness, ops, cut }) => {
        const options = { assigner: sessionWindows(gap), aggregate, allowedLateness: lateness };
        const restoredRun = drive<Operator>(new SessionWindowOperator(options), ops, cut % (ops.length + 1), (op) =>
          SessionWindowOperator.restore(options, JSON.parse(JSON.stringify(op.snapshot())) as SessionWindowSnapshot<ReturnType<typeof aggregate.save>>),
        );
        expect(restoredRun).toEqual(drive<Operator>(new SessionWindowOperator(options), ops));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a snapshot from a different gap', () => {
    expect(() => SessionWindowOperator.restore({ assigner: sessionWindows(5), aggregate: count() }, counting(10).snapshot())).toThrow(RangeError);
  });
});

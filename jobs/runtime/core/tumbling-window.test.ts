import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Sign, aggregateFields, count, field, sumDecimal } from './aggregates.js';
import { TimeZone } from './time-zone.js';
import { type TumblingAssigner, TumblingWindowOperator, calendarDays, fixedWindows } from './tumbling-window.js';
import type { TimeWindow, WindowOutput } from './windows.js';

const HOUR = 3_600_000;

/** Windows between arbitrary sorted boundaries (what calendar days are: no fixed length), 7 ms long outside them. */
function boundaries(cuts: readonly number[]): TumblingAssigner {
  const sorted = [...new Set(cuts)].sort((a, b) => a - b);
  const first = sorted[0] ?? 0;
  const last = sorted[sorted.length - 1] ?? 0;
  return {
    id: `cuts:${sorted.join(',')}`,
    windowOf(t) {
      if (t < first) {
        const start = first - Math.ceil((first - t) / 7) * 7;
        return { start, end: start + 7 };
      }
      if (t >= last) {
        const start = last + Math.floor((t - last) / 7) * 7;
        return { start, end: start + 7 };
      }
      let i = 0;
      while ((sorted[i + 1] as number) <= t) i++;
      return { start: sorted[i] as number, end: sorted[i + 1] as number };
    },
  };
}

type Value = { rows: number; total: string | null };

const aggregate = aggregateFields({
  rows: field(count(), (v: number) => v),
  total: field(sumDecimal(0), (v: number) => BigInt(v)),
});

/** The HAVING of the tests: a window whose values sum to zero counts as no row. */
const zeroTotal = (v: Value): boolean => v.total === '0';

/** The literal definition: one state per (key, window), every element into its window, fired and re-fired as Flink's WindowOperator does. */
class Model {
  private readonly states = new Map<string, { key: string; window: TimeWindow; values: number[]; rows: number; emitted: boolean }>();
  private watermark = Number.MIN_SAFE_INTEGER;

  constructor(
    private readonly assigner: TumblingAssigner,
    private readonly lateness: number,
    private readonly having: boolean,
  ) {}

  private present(s: { values: number[]; rows: number }): Value | undefined {
    if (s.rows === 0) return undefined;
    const value = { rows: s.rows, total: String(s.values.reduce((a, b) => a + b, 0)) };
    return this.having && zeroTotal(value) ? undefined : value;
  }

  private fire(s: { key: string; window: TimeWindow; values: number[]; rows: number; emitted: boolean }): WindowOutput<number, Value>[] {
    const value = this.present(s);
    if (value !== undefined) {
      const kind = s.emitted ? 'update' : 'result';
      s.emitted = true;
      return [{ kind, key: s.key, window: s.window, value }];
    }
    if (!s.emitted) return [];
    s.emitted = false;
    return [{ kind: 'retract', key: s.key, window: s.window }];
  }

  process(key: string, timestamp: number, value: number, sign: Sign): WindowOutput<number, Value>[] {
    const window = this.assigner.windowOf(timestamp);
    if (window.end - 1 + this.lateness <= this.watermark) return [{ kind: 'late', reason: 'window-expired', key, timestamp, record: value, sign }];
    const id = `${key}|${window.start}`;
    let s = this.states.get(id);
    if (s === undefined) {
      s = { key, window, values: [], rows: 0, emitted: false };
      this.states.set(id, s);
    }
    s.values.push(sign * value);
    s.rows += sign;
    return window.end - 1 <= this.watermark ? this.fire(s) : [];
  }

  advanceWatermark(watermark: number): WindowOutput<number, Value>[] {
    if (watermark <= this.watermark) return [];
    const previous = this.watermark;
    this.watermark = watermark;
    const due = [...this.states.values()]
      .filter((s) => s.window.end - 1 > previous && s.window.end - 1 <= watermark)
      .sort((a, b) => a.window.end - b.window.end || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const outputs = due.flatMap((s) => this.fire(s));
    for (const [id, s] of this.states) if (s.window.end - 1 + this.lateness <= watermark) this.states.delete(id);
    return outputs;
  }
}

type Op = { type: 'add'; key: string; delta: number; value: number } | { type: 'retract'; pick: number } | { type: 'watermark'; advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c'), delta: fc.integer({ min: -25, max: 25 }), value: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('retract' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('watermark' as const), advance: fc.integer({ min: 0, max: 12 }) }) },
);

const assignerArb: fc.Arbitrary<TumblingAssigner> = fc.oneof(
  fc.integer({ min: 1, max: 9 }).chain((size) => fc.integer({ min: 1 - size, max: size - 1 }).map((offset) => fixedWindows(size, offset))),
  fc.array(fc.integer({ min: -60, max: 160 }), { minLength: 2, maxLength: 25 }).map(boundaries),
);

const scenarioArb = fc.record({
  assigner: assignerArb,
  lateness: fc.integer({ min: 0, max: 20 }),
  having: fc.boolean(),
  ops: fc.array(opArb, { maxLength: 120 }),
  cut: fc.nat(),
});

interface Driver {
  process(key: string, timestamp: number, value: number, sign: Sign): readonly WindowOutput<number, Value>[];
  advanceWatermark(watermark: number): readonly WindowOutput<number, Value>[];
}

function drive<D extends Driver>(start: D, ops: readonly Op[], cut = -1, swap: (d: D) => D = (d) => d): WindowOutput<number, Value>[][] {
  let driver = start;
  let watermark = 0;
  const inserts: Array<readonly [string, number, number]> = [];
  const batches: WindowOutput<number, Value>[][] = [[...driver.advanceWatermark(watermark)]];
  ops.forEach((op, i) => {
    if (i === cut) driver = swap(driver);
    if (op.type === 'add') {
      const timestamp = watermark + op.delta;
      inserts.push([op.key, timestamp, op.value]);
      batches.push([...driver.process(op.key, timestamp, op.value, 1)]);
    } else if (op.type === 'retract') {
      const insert = inserts[op.pick % Math.max(1, inserts.length)];
      if (insert !== undefined) batches.push([...driver.process(insert[0], insert[1], insert[2], -1)]);
    } else {
      watermark += op.advance;
      batches.push([...driver.advanceWatermark(watermark)]);
    }
  });
  batches.push([...driver.advanceWatermark(watermark + 1_000)]);
  return batches;
}

describe('TumblingWindowOperator', () => {
  it('equals the per-window model on random streams with disorder, lateness, retractions, a HAVING and irregular bounds', () => {
    fc.assert(
      fc.property(scenarioArb, ({ assigner, lateness, having, ops }) => {
        const options = { assigner, aggregate, allowedLateness: lateness, ...(having ? { isEmpty: zeroTotal } : {}) };
        const operator = new TumblingWindowOperator(options);
        expect(drive(operator, ops)).toEqual(drive(new Model(assigner, lateness, having), ops));
        expect(operator.keyCount).toBe(0);
      }),
      { numRuns: 600 },
    );
  });

  it('restores from a snapshot taken mid-stream and continues with identical outputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ assigner, lateness, having, ops, cut }) => {
        const options = { assigner, aggregate, allowedLateness: lateness, ...(having ? { isEmpty: zeroTotal } : {}) };
        const uninterrupted = drive(new TumblingWindowOperator(options), ops);
        const restored = drive(new TumblingWindowOperator(options), ops, cut % (ops.length + 1), (op) =>
          TumblingWindowOperator.restore(options, JSON.parse(JSON.stringify(op.snapshot())) as ReturnType<typeof op.snapshot>),
        );
        expect(restored).toEqual(uninterrupted);
      }),
      { numRuns: 300 },
    );
  });

  it('snapshots only the keys asked for, and reports the keys it changed', () => {
    const op = new TumblingWindowOperator({ assigner: fixedWindows(10), aggregate: count() });
    op.process('a', 1, null);
    op.process('b', 2, null);
    expect(op.takeChangedKeys().sort()).toEqual(['a', 'b']);
    expect(op.snapshot(['b', 'zz']).keys).toEqual([['b', [[0, 10, 1, 1, false]]]]);
    op.advanceWatermark(9);
    expect(op.takeChangedKeys().sort()).toEqual(['a', 'b']);
    expect(op.snapshot().keys).toEqual([]);
  });

  it('calendar days in Asia/Shanghai start at local midnight, 16:00 UTC', () => {
    const days = calendarDays(TimeZone.of('Asia/Shanghai'));
    const op = new TumblingWindowOperator({ assigner: days, aggregate: count(), allowedLateness: HOUR });
    const midnight = Date.UTC(2026, 0, 1, 16);
    op.process('k', midnight - 1, null);
    op.process('k', midnight, null);
    expect(op.advanceWatermark(midnight - 1)).toEqual([{ kind: 'result', key: 'k', window: { start: midnight - 24 * HOUR, end: midnight }, value: 1 }]);
    // within the lateness the closed day is updated at once
    expect(op.process('k', midnight - 5, null)).toEqual([{ kind: 'update', key: 'k', window: { start: midnight - 24 * HOUR, end: midnight }, value: 2 }]);
    expect(op.advanceWatermark(midnight - 1 + HOUR)).toEqual([]);
    expect(op.process('k', midnight - 5, null)).toEqual([expect.objectContaining({ kind: 'late', reason: 'window-expired' })]);
  });

  it('calendar days across DST in Europe/Berlin are 23 and 25 hours long', () => {
    const days = calendarDays(TimeZone.of('Europe/Berlin'));
    // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; 2026-10-25: from 03:00 CEST back to 02:00 CET
    const spring = days.windowOf(Date.UTC(2026, 2, 29, 12));
    expect(spring).toEqual({ start: Date.UTC(2026, 2, 28, 23), end: Date.UTC(2026, 2, 29, 22) });
    const autumn = days.windowOf(Date.UTC(2026, 9, 25, 12));
    expect(autumn).toEqual({ start: Date.UTC(2026, 9, 24, 22), end: Date.UTC(2026, 9, 25, 23) });
    const op = new TumblingWindowOperator({ assigner: days, aggregate: count() });
    op.process('k', spring.end - 1, null);
    op.process('k', spring.end, null);
    expect(op.advanceWatermark(spring.end - 1)).toEqual([{ kind: 'result', key: 'k', window: spring, value: 1 }]);
  });

  it('refuses a snapshot from another assigner or lateness, and non-finite timestamps', () => {
    const op = new TumblingWindowOperator({ assigner: fixedWindows(10), aggregate: count() });
    expect(() => TumblingWindowOperator.restore({ assigner: fixedWindows(20), aggregate: count() }, op.snapshot())).toThrow(RangeError);
    expect(() => TumblingWindowOperator.restore({ assigner: fixedWindows(10), aggregate: count(), allowedLateness: 5 }, op.snapshot())).toThrow(RangeError);
    expect(() => op.process('k', Number.NaN, null)).toThrow(RangeError);
  });
});

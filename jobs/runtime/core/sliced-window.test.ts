import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AggregateSpec, type Sign, aggregateFields, count, distinctCount, field, maxWithRetraction, numberValues, sumDecimal } from './aggregates.js';
import { SlicedWindowOperator, type SlicedWindowSnapshot } from './sliced-window.js';
import { MIN_TIMESTAMP } from './watermark.js';
import {
  type AlignedWindows,
  type TimeWindow,
  type WindowOutput,
  assignWindows,
  cleanupTime,
  isWindowLate,
  maxTimestamp,
  slidingWindows,
  tumblingWindows,
} from './windows.js';

interface NaiveState<Acc> {
  readonly key: string;
  readonly window: TimeWindow;
  acc: Acc;
  rows: number;
  emitted: boolean;
}

/** Flink's WindowOperator without panes: every element goes into each of its windows' own state. */
class NaiveWindowOperator<In, Acc, Out> {
  private readonly states = new Map<string, NaiveState<Acc>>();
  private watermark = MIN_TIMESTAMP;

  constructor(
    private readonly assigner: AlignedWindows,
    private readonly aggregate: AggregateSpec<In, Acc, Out, unknown>,
    private readonly lateness: number,
  ) {}

  process(key: string, timestamp: number, value: In, sign: Sign): WindowOutput<In, Out>[] {
    const outputs: WindowOutput<In, Out>[] = [];
    let accepted = false;
    for (const window of assignWindows(this.assigner, timestamp)) {
      if (isWindowLate(window, this.lateness, this.watermark)) continue;
      accepted = true;
      const id = `${key}|${window.start}`;
      let state = this.states.get(id);
      if (state === undefined) {
        state = { key, window, acc: this.aggregate.create(), rows: 0, emitted: false };
        this.states.set(id, state);
      }
      state.acc = this.aggregate.add(state.acc, value, sign);
      state.rows += sign;
      if (maxTimestamp(window) <= this.watermark) {
        if (state.rows !== 0) {
          outputs.push({ kind: state.emitted ? 'update' : 'result', key, window, value: this.aggregate.result(state.acc) });
          state.emitted = true;
        } else if (state.emitted) {
          outputs.push({ kind: 'retract', key, window });
          state.emitted = false;
        }
      }
    }
    if (!accepted && timestamp + this.lateness <= this.watermark) outputs.push({ kind: 'late', reason: 'window-expired', key, timestamp, record: value, sign });
    return outputs;
  }

  advanceWatermark(watermark: number): WindowOutput<In, Out>[] {
    if (watermark <= this.watermark) return [];
    const previous = this.watermark;
    this.watermark = watermark;
    const due = Array.from(this.states.values())
      .filter((s) => maxTimestamp(s.window) > previous && maxTimestamp(s.window) <= watermark)
      .sort((a, b) => a.window.end - b.window.end || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const outputs: WindowOutput<In, Out>[] = [];
    for (const state of due) {
      if (state.rows === 0) continue;
      outputs.push({ kind: 'result', key: state.key, window: state.window, value: this.aggregate.result(state.acc) });
      state.emitted = true;
    }
    for (const [id, state] of this.states) if (cleanupTime(state.window, this.lateness) <= watermark) this.states.delete(id);
    return outputs;
  }
}

type Op =
  | { readonly type: 'add'; readonly key: string; readonly delta: number; readonly value: number }
  | { readonly type: 'retract'; readonly pick: number }
  | { readonly type: 'watermark'; readonly advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c'), delta: fc.integer({ min: -20, max: 20 }), value: fc.integer({ min: -9, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('retract' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('watermark' as const), advance: fc.integer({ min: 0, max: 12 }) }) },
);

const assignerArb: fc.Arbitrary<AlignedWindows> = fc.oneof(
  fc.integer({ min: 1, max: 8 }).chain((size) => fc.integer({ min: 1 - size, max: size - 1 }).map((offset) => tumblingWindows(size, offset))),
  fc
    .record({ slide: fc.integer({ min: 1, max: 6 }), multiple: fc.integer({ min: 1, max: 5 }) })
    .chain(({ slide, multiple }) => fc.integer({ min: 1 - slide, max: slide - 1 }).map((offset) => slidingWindows(slide * multiple, slide, offset))),
  // size not a multiple of slide: panes are gcd(size, slide)
  fc
    .record({ slide: fc.integer({ min: 2, max: 6 }), size: fc.integer({ min: 1, max: 20 }) })
    .chain(({ slide, size }) => fc.integer({ min: 1 - slide, max: slide - 1 }).map((offset) => slidingWindows(size, slide, offset))),
);

const scenarioArb = fc.record({
  assigner: assignerArb,
  lateness: fc.integer({ min: 0, max: 20 }),
  base: fc.integer({ min: -200, max: 200 }),
  ops: fc.array(opArb, { maxLength: 120 }),
  cut: fc.nat(),
});

const aggregate = aggregateFields({
  rows: field(count(), (v: number) => v),
  total: field(sumDecimal(2), (v: number) => BigInt(v)),
  max: field(maxWithRetraction(numberValues), (v: number) => v),
  distinct: field(distinctCount(numberValues), (v: number) => v),
});

interface Driver<In, Out> {
  process(key: string, timestamp: number, value: In, sign: Sign): readonly WindowOutput<In, Out>[];
  advanceWatermark(watermark: number): readonly WindowOutput<In, Out>[];
}

/**
 * Runs ops and returns the outputs of each call; `swap` (called once, before op number `cut`) may replace the operator,
 * e.g. by one restored from a snapshot.
 */
function drive<Out, D extends Driver<number, Out>>(start: D, base: number, ops: readonly Op[], cut = -1, swap: (op: D) => D = (op) => op): WindowOutput<number, Out>[][] {
  let operator = start;
  let watermark = base;
  const inserts: Array<readonly [string, number, number]> = [];
  const batches: WindowOutput<number, Out>[][] = [[...operator.advanceWatermark(watermark)]];
  ops.forEach((op, i) => {
    if (i === cut) operator = swap(operator);
    if (op.type === 'add') {
      const timestamp = watermark + op.delta;
      inserts.push([op.key, timestamp, op.value]);
      batches.push([...operator.process(op.key, timestamp, op.value, 1)]);
    } else if (op.type === 'retract') {
      const insert = inserts[op.pick % Math.max(1, inserts.length)];
      if (insert !== undefined) batches.push([...operator.process(insert[0], insert[1], insert[2], -1)]);
    } else {
      watermark += op.advance;
      batches.push([...operator.advanceWatermark(watermark)]);
    }
  });
  batches.push([...operator.advanceWatermark(watermark + 1_000)]);
  return batches;
}

/** Within one call, windows fire by end; keys of one window may come in any order (the operator uses arrival order). */
function byWindowThenKey<Out>(batch: WindowOutput<number, Out>[]): WindowOutput<number, Out>[] {
  const end = (o: WindowOutput<number, Out>): number => (o.kind === 'late' ? 0 : o.window.end);
  return [...batch].sort((a, b) => end(a) - end(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

describe('SlicedWindowOperator', () => {
  it('equals naive per-window assignment on random streams with disorder, lateness and retractions', () => {
    fc.assert(
      fc.property(scenarioArb, ({ assigner, lateness, base, ops }) => {
        const sliced = new SlicedWindowOperator({ assigner, aggregate, allowedLateness: lateness });
        const naive = new NaiveWindowOperator(assigner, aggregate, lateness);
        expect(drive(sliced, base, ops).map(byWindowThenKey)).toEqual(drive(naive, base, ops).map(byWindowThenKey));
        expect(sliced.paneCount).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('restores from a snapshot taken mid-stream and continues with identical outputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ assigner, lateness, base, ops, cut }) => {
        const options = { assigner, aggregate, allowedLateness: lateness };
        const uninterrupted = drive(new SlicedWindowOperator(options), base, ops);
        const restoredRun = drive(new SlicedWindowOperator(options), base, ops, cut % (ops.length + 1), (op) =>
          SlicedWindowOperator.restore(options, JSON.parse(JSON.stringify(op.snapshot())) as ReturnType<typeof op.snapshot>),
        );
        expect(restoredRun).toEqual(uninterrupted);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a pane while any window holding it may still fire, and frees it after its last cleanup', () => {
    // 1h windows sliding by 5 min: each pane is in 12 windows, the last one ending at pane start + 1h.
    const minute = 60_000;
    const op = new SlicedWindowOperator({ assigner: slidingWindows(60 * minute, 5 * minute), aggregate: count(), allowedLateness: minute });
    op.process('k', 0, null);
    expect(op.paneCount).toBe(1);
    expect(op.advanceWatermark(5 * minute - 1)).toEqual([{ kind: 'result', key: 'k', window: { start: -55 * minute, end: 5 * minute }, value: 1 }]);
    op.advanceWatermark(61 * minute - 2);
    expect(op.paneCount).toBe(1);
    op.advanceWatermark(61 * minute - 1); // last window [0, 60 min): cleanup at 60 min - 1 + lateness
    expect(op.paneCount).toBe(0);
  });

  it('refuses a snapshot from a different assigner', () => {
    const op = new SlicedWindowOperator({ assigner: tumblingWindows(10), aggregate: count() });
    expect(() => SlicedWindowOperator.restore({ assigner: tumblingWindows(20), aggregate: count() }, op.snapshot())).toThrow(RangeError);
  });

  it('rejects timestamps that are not finite', () => {
    const op = new SlicedWindowOperator({ assigner: tumblingWindows(10), aggregate: count() });
    expect(() => op.process('k', Number.NaN, null)).toThrow(RangeError);
    expect(() => op.process('k', Number.POSITIVE_INFINITY, null)).toThrow(RangeError);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixedWindows } from './tumbling-window.js';
import { type LateMeasure, type MeasureDeltas, WindowedMeasures } from './windowed-measures.js';

type Op =
  | { type: 'add'; group: string; delta: number; amount: number }
  | { type: 'distinct'; group: string; field: 'd' | 'e'; value: string; delta: number; sign: 1 | -1 }
  | { type: 'flush' }
  | { type: 'watermark'; advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('add' as const), group: fc.constantFrom('g', 'h'), delta: fc.integer({ min: -25, max: 15 }), amount: fc.integer({ min: -5, max: 5 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('distinct' as const),
      group: fc.constantFrom('g', 'h'),
      field: fc.constantFrom('d' as const, 'e' as const),
      value: fc.constantFrom('x', 'y', 'z'),
      delta: fc.integer({ min: -25, max: 15 }),
      sign: fc.constantFrom(1 as const, 1 as const, -1 as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('flush' as const) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('watermark' as const), advance: fc.integer({ min: 0, max: 10 }) }) },
);

const SIZE = 7;
const assigner = fixedWindows(SIZE);

/**
 * The definition: every accepted contribution kept; a field's value per group and window is the sum of
 * its deltas, or the number of values whose multiplicities sum to a positive number; a flush gives the
 * change of each value since the previous flush.
 */
class Model {
  private readonly sums = new Map<string, number>();
  private readonly multiplicities = new Map<string, number>();
  private readonly flushed = new Map<string, number>();
  private watermark = Number.MIN_SAFE_INTEGER;
  constructor(private readonly lateness: Record<string, number>) {}

  private late(group: string, field: string, timestamp: number): LateMeasure | undefined {
    const start = Math.floor(timestamp / SIZE) * SIZE;
    if (start + SIZE - 1 + (this.lateness[field] as number) > this.watermark) return undefined;
    return { kind: 'late', reason: 'window-expired', group, field, timestamp, watermark: this.watermark };
  }

  add(group: string, field: string, timestamp: number, delta: number): LateMeasure | undefined {
    const late = this.late(group, field, timestamp);
    if (late !== undefined) return late;
    const id = JSON.stringify([group, Math.floor(timestamp / SIZE) * SIZE, field]);
    this.sums.set(id, (this.sums.get(id) ?? 0) + delta);
    return undefined;
  }

  distinct(group: string, field: string, value: string, timestamp: number, sign: number): LateMeasure | undefined {
    const late = this.late(group, field, timestamp);
    if (late !== undefined) return late;
    const id = JSON.stringify([group, Math.floor(timestamp / SIZE) * SIZE, field, value]);
    this.multiplicities.set(id, (this.multiplicities.get(id) ?? 0) + sign);
    return undefined;
  }

  flush(): MeasureDeltas[] {
    const values = new Map(this.sums);
    for (const [id, m] of this.multiplicities) {
      const [group, start, field] = JSON.parse(id) as [string, number, string];
      const key = JSON.stringify([group, start, field]);
      values.set(key, (values.get(key) ?? 0) + (m > 0 ? 1 : 0));
    }
    const byWindow = new Map<string, Array<[string, bigint]>>();
    for (const key of new Set([...values.keys(), ...this.flushed.keys()])) {
      const delta = (values.get(key) ?? 0) - (this.flushed.get(key) ?? 0);
      this.flushed.set(key, values.get(key) ?? 0);
      if (delta === 0) continue;
      const [group, start, field] = JSON.parse(key) as [string, number, string];
      const w = JSON.stringify([start, group]);
      byWindow.set(w, [...(byWindow.get(w) ?? []), [field, BigInt(delta)]]);
    }
    return [...byWindow]
      .map(([w, deltas]) => {
        const [start, group] = JSON.parse(w) as [number, string];
        return { group, window: { start, end: start + SIZE }, deltas: deltas.sort(([a], [b]) => (a < b ? -1 : 1)) };
      })
      .sort((a, b) => a.window.start - b.window.start || (a.group < b.group ? -1 : 1));
  }

  advanceWatermark(watermark: number): void {
    this.watermark = Math.max(this.watermark, watermark);
  }
}

interface Driver {
  add(group: string, field: string, timestamp: number, delta: bigint): LateMeasure | undefined;
  distinct(group: string, field: string, value: string, timestamp: number, sign: 1 | -1): LateMeasure | undefined;
  flush(): MeasureDeltas[];
  advanceWatermark(watermark: number): void;
}

function drive(start: Driver, ops: readonly Op[], cut = -1, swap: (d: Driver) => Driver = (d) => d): unknown[] {
  let driver = start;
  let watermark = 0;
  const out: unknown[] = [];
  ops.forEach((op, i) => {
    if (i === cut) driver = swap(driver);
    if (op.type === 'add') out.push(driver.add(op.group, 's', watermark + op.delta, BigInt(op.amount)));
    else if (op.type === 'distinct') out.push(driver.distinct(op.group, op.field, op.value, watermark + op.delta, op.sign));
    else if (op.type === 'flush') out.push(driver.flush());
    else {
      watermark += op.advance;
      driver.advanceWatermark(watermark);
    }
  });
  out.push(driver.flush());
  return out;
}

const modelDriver = (m: Model): Driver => ({
  add: (g, f, t, d) => m.add(g, f, t, Number(d)),
  distinct: (g, f, v, t, s) => m.distinct(g, f, v, t, s),
  flush: () => m.flush(),
  advanceWatermark: (w) => m.advanceWatermark(w),
});

const latenessArb = fc.record({ s: fc.integer({ min: 0, max: 12 }), d: fc.integer({ min: 0, max: 12 }), e: fc.integer({ min: 0, max: 30 }) });

describe('WindowedMeasures', () => {
  it('flushes exactly the change of every sum and distinct count since the last flush, and sends contributions past cleanup to late', () => {
    fc.assert(
      fc.property(latenessArb, fc.array(opArb, { maxLength: 150 }), (lateness, ops) => {
        const options = { assigner, latenessOf: (f: string) => lateness[f as 's' | 'd' | 'e'] };
        expect(drive(new WindowedMeasures(options), ops)).toEqual(drive(modelDriver(new Model(lateness)), ops));
      }),
      { numRuns: 500 },
    );
  });

  it('restores from a snapshot mid-stream (pending deltas included) with identical outputs', () => {
    fc.assert(
      fc.property(latenessArb, fc.array(opArb, { maxLength: 150 }), fc.nat(), (lateness, ops, cut) => {
        const options = { assigner, latenessOf: (f: string) => lateness[f as 's' | 'd' | 'e'] };
        const uninterrupted = drive(new WindowedMeasures(options), ops);
        const restored = drive(new WindowedMeasures(options), ops, cut % (ops.length + 1), (d) =>
          WindowedMeasures.restore(options, JSON.parse(JSON.stringify((d as WindowedMeasures).snapshot())) as ReturnType<WindowedMeasures['snapshot']>),
        );
        expect(restored).toEqual(uninterrupted);
      }),
      { numRuns: 300 },
    );
  });

  it('drops multiplicities at their cleanup time and reports the keys it changed', () => {
    const m = new WindowedMeasures({ assigner, latenessOf: () => 3 });
    m.distinct('g', 'd', 'x', 1, 1);
    expect(m.takeChangedKeys()).toEqual([JSON.stringify(['g', 'd', 'x'])]);
    expect(m.valueCount).toBe(1);
    m.advanceWatermark(8);
    expect(m.valueCount).toBe(1);
    m.advanceWatermark(9);
    expect(m.valueCount).toBe(0);
    expect(m.takeChangedKeys()).toEqual([JSON.stringify(['g', 'd', 'x'])]);
  });
});

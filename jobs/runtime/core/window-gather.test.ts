import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GatherOutput, WindowGather } from './window-gather.js';
import type { TimeWindow } from './windows.js';

type Op =
  | { type: 'set'; table: 'hour' | 'day'; slot: number; row: string; value: number | null }
  | { type: 'watermark'; advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('set' as const),
      table: fc.constantFrom('hour' as const, 'day' as const),
      slot: fc.integer({ min: -2, max: 3 }),
      row: fc.constantFrom('x', 'y', 'z'),
      value: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('watermark' as const), advance: fc.integer({ min: 0, max: 8 }) }) },
);

const SIZES = { hour: 5, day: 11 } as const;

/** The definition: per window its rows; whole once complete, row by row after, nothing past cleanup. */
class Model {
  private readonly windows = new Map<string, { table: string; window: TimeWindow; rows: Map<string, number>; complete: boolean }>();
  private watermark = Number.MIN_SAFE_INTEGER;
  constructor(private readonly lateness: Record<string, number>) {}

  process(table: string, window: TimeWindow, row: string, value: number | undefined): GatherOutput<number>[] {
    const lateness = this.lateness[table] as number;
    if (window.end - 1 + lateness <= this.watermark) return [{ kind: 'late', reason: 'window-expired', table, window, row, value }];
    const id = `${table}\u0001${window.start}`;
    let w = this.windows.get(id);
    if (w === undefined) {
      if (value === undefined) return [];
      w = { table, window, rows: new Map(), complete: window.end - 1 <= this.watermark };
      this.windows.set(id, w);
    }
    const before = w.rows.get(row);
    if (value === undefined) w.rows.delete(row);
    else w.rows.set(row, value);
    if (!w.complete || before === value) return [];
    return [{ kind: 'change', table, window, row, before, after: value, rows: new Map(w.rows) }];
  }

  advanceWatermark(watermark: number): GatherOutput<number>[] {
    if (watermark <= this.watermark) return [];
    this.watermark = watermark;
    const out: GatherOutput<number>[] = [];
    const ids = [...this.windows.keys()].sort();
    const due = ids.filter((id) => !(this.windows.get(id)?.complete ?? true) && (this.windows.get(id)?.window.end ?? 0) - 1 <= watermark);
    due.sort((a, b) => (this.windows.get(a)?.window.end ?? 0) - (this.windows.get(b)?.window.end ?? 0));
    for (const id of due) {
      const w = this.windows.get(id);
      if (w === undefined) continue;
      w.complete = true;
      if (w.rows.size > 0) out.push({ kind: 'complete', table: w.table, window: w.window, rows: [...w.rows].sort(([a], [b]) => (a < b ? -1 : 1)) });
    }
    for (const [id, w] of this.windows) if (w.window.end - 1 + (this.lateness[w.table] as number) <= watermark) this.windows.delete(id);
    return out;
  }
}

interface Driver {
  process(table: string, window: TimeWindow, row: string, value: number | undefined): readonly GatherOutput<number>[];
  advanceWatermark(watermark: number): readonly GatherOutput<number>[];
}

/** Outputs with `rows` copied (the operator's map is live). */
function drive(start: Driver, ops: readonly Op[], cut = -1, swap: (d: Driver) => Driver = (d) => d): unknown[][] {
  let driver = start;
  let watermark = 0;
  const copy = (outs: readonly GatherOutput<number>[]): unknown[] => outs.map((o) => (o.kind === 'change' ? { ...o, rows: [...o.rows].sort() } : o));
  const batches: unknown[][] = [];
  ops.forEach((op, i) => {
    if (i === cut) driver = swap(driver);
    if (op.type === 'watermark') {
      watermark += op.advance;
      batches.push(copy(driver.advanceWatermark(watermark)));
    } else {
      const size = SIZES[op.table];
      const start = (Math.floor(watermark / size) + op.slot) * size;
      batches.push(copy(driver.process(op.table, { start, end: start + size }, op.row, op.value ?? undefined)));
    }
  });
  batches.push(copy(driver.advanceWatermark(watermark + 1_000)));
  return batches;
}

const latenessArb = fc.record({ hour: fc.integer({ min: 0, max: 9 }), day: fc.integer({ min: 0, max: 15 }) });

describe('WindowGather', () => {
  it('equals the model: whole windows once complete, changed rows after, late rows past cleanup', () => {
    fc.assert(
      fc.property(latenessArb, fc.array(opArb, { maxLength: 120 }), (lateness, ops) => {
        const gather = new WindowGather<number>({ latenessOf: (t) => lateness[t as 'hour' | 'day'] });
        expect(drive(gather, ops)).toEqual(drive(new Model(lateness), ops));
        expect(gather.windowCount).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('restores from the entries of its changed keys, checkpoint by checkpoint, with identical outputs', () => {
    fc.assert(
      fc.property(latenessArb, fc.array(opArb, { maxLength: 120 }), fc.nat(), (lateness, ops, cut) => {
        const options = { latenessOf: (t: string) => lateness[t as 'hour' | 'day'] };
        const uninterrupted = drive(new WindowGather<number>(options), ops);
        // the changelog as a checkpoint after every op writes it: changed keys' entries or tombstones
        const changelog = new Map<string, string>();
        const checkpointed = (g: WindowGather<number>): WindowGather<number> => {
          const changed = g.takeChangedKeys();
          const present = new Map(g.snapshot(changed).entries.map(([k, e]) => [k, JSON.stringify(e)]));
          for (const key of changed) {
            const json = present.get(key);
            if (json === undefined) changelog.delete(key);
            else changelog.set(key, json);
          }
          return g;
        };
        const tracked = new WindowGather<number>(options);
        const driver: Driver = {
          process: (...args) => {
            const out = tracked.process(...args);
            checkpointed(tracked);
            return out;
          },
          advanceWatermark: (w) => {
            const out = tracked.advanceWatermark(w);
            checkpointed(tracked);
            return out;
          },
        };
        const restored = drive(driver, ops, cut % (ops.length + 1), () => {
          const entries = [...changelog].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, json]) => [k, JSON.parse(json)] as const);
          return WindowGather.restore<number>(options, { watermark: tracked.currentWatermark, lateCount: tracked.lateCount, entries });
        });
        expect(restored).toEqual(uninterrupted);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a window that ends elsewhere than the one gathered at its start', () => {
    const g = new WindowGather<number>({ latenessOf: () => 0 });
    g.process('t', { start: 0, end: 10 }, 'x', 1);
    expect(() => g.process('t', { start: 0, end: 20 }, 'x', 1)).toThrow(/ends at 10, not 20/);
  });
});

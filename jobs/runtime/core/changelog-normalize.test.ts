import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChangelogNormalize, type NormalizeOutput } from './changelog-normalize.js';

type Op =
  | { type: 'upsert'; key: string; delta: number; value: number; remember: boolean }
  | { type: 'delete'; key: string; delta: number }
  | { type: 'watermark'; advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('upsert' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), delta: fc.integer({ min: -30, max: 10 }), value: fc.integer({ min: 0, max: 5 }), remember: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), delta: fc.integer({ min: -30, max: 10 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('watermark' as const), advance: fc.integer({ min: 0, max: 12 }) }) },
);

/** The definition: the last row per key, kept while its time + retention >= watermark. */
class Model {
  private readonly rows = new Map<string, { time: number; value: number }>();
  private watermark = Number.MIN_SAFE_INTEGER;
  constructor(private readonly retention: number) {}

  process(key: string, time: number, value: number | undefined, remember: boolean): NormalizeOutput<number> | undefined {
    const row = this.rows.get(key);
    if (row === undefined && time + this.retention < this.watermark) return { kind: 'late', reason: 'older-than-retention', key, time, watermark: this.watermark };
    if (value === undefined || !remember || time + this.retention < this.watermark) this.rows.delete(key);
    else this.rows.set(key, { time, value });
    if (row === undefined && value === undefined) return undefined;
    return { kind: 'change', key, before: row?.value, after: value };
  }

  advanceWatermark(watermark: number): void {
    this.watermark = Math.max(this.watermark, watermark);
    for (const [key, row] of this.rows) if (row.time + this.retention < this.watermark) this.rows.delete(key);
  }

  size(): number {
    return this.rows.size;
  }
}

interface Driver {
  process(key: string, version: number, time: number, value: number | undefined, remember: boolean): NormalizeOutput<number> | undefined;
  advanceWatermark(watermark: number): void;
}

function drive(start: Driver, ops: readonly Op[], cut = -1, swap: (d: Driver) => Driver = (d) => d): Array<NormalizeOutput<number> | undefined> {
  let driver = start;
  let watermark = 100;
  let version = 0;
  const out: Array<NormalizeOutput<number> | undefined> = [];
  driver.advanceWatermark(watermark);
  ops.forEach((op, i) => {
    if (i === cut) driver = swap(driver);
    if (op.type === 'watermark') {
      watermark += op.advance;
      driver.advanceWatermark(watermark);
    } else {
      version += 1;
      out.push(driver.process(op.key, version, watermark + op.delta, op.type === 'upsert' ? op.value : undefined, op.type === 'upsert' ? op.remember : true));
    }
  });
  return out;
}

const modelDriver = (m: Model): Driver => ({ process: (key, _v, time, value, remember) => m.process(key, time, value, remember), advanceWatermark: (w) => m.advanceWatermark(w) });

describe('ChangelogNormalize', () => {
  it('pairs every row with the previous row of its key, drops keys past the retention and sends older rows of dropped keys to late', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.array(opArb, { maxLength: 150 }), (retention, ops) => {
        const normalize = new ChangelogNormalize<number>({ retentionMs: retention });
        const model = new Model(retention);
        expect(drive(normalize, ops)).toEqual(drive(modelDriver(model), ops));
        expect(normalize.keyCount).toBe(model.size());
      }),
      { numRuns: 500 },
    );
  });

  it('restores from a snapshot mid-stream with identical outputs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.array(opArb, { maxLength: 150 }), fc.nat(), (retention, ops, cut) => {
        const options = { retentionMs: retention };
        const uninterrupted = drive(new ChangelogNormalize<number>(options), ops);
        const restored = drive(new ChangelogNormalize<number>(options), ops, cut % (ops.length + 1), (d) =>
          ChangelogNormalize.restore<number>(options, JSON.parse(JSON.stringify((d as ChangelogNormalize<number>).snapshot())) as ReturnType<ChangelogNormalize<number>['snapshot']>),
        );
        expect(restored).toEqual(uninterrupted);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a version that is not newer than the applied one', () => {
    const n = new ChangelogNormalize<string>({ retentionMs: 10 });
    n.process('k', 5, 0, 'x');
    expect(() => n.process('k', 5, 0, 'y')).toThrow(/version 5 is not newer than version 5/);
    expect(n.process('k', 6, 0, 'y')).toEqual({ kind: 'change', key: 'k', before: 'x', after: 'y' });
  });

  it('keeps a key whose time moved later until the later time expires, and reports changed keys', () => {
    const n = new ChangelogNormalize<string>({ retentionMs: 10 });
    n.process('k', 1, 0, 'x');
    n.process('k', 2, 50, 'y');
    expect(n.takeChangedKeys()).toEqual(['k']);
    n.advanceWatermark(60);
    expect(n.keyCount).toBe(1);
    expect(n.takeChangedKeys()).toEqual([]);
    n.advanceWatermark(61);
    expect(n.keyCount).toBe(0);
    expect(n.takeChangedKeys()).toEqual(['k']);
    expect(n.snapshot().keys).toEqual([]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IntervalExistsOutput, IntervalExists } from './interval-exists.js';

type Op =
  | { type: 'left'; key: string; id: string; delta: number }
  | { type: 'right'; key: string; group: string; delta: number; sign: 1 | -1 }
  | { type: 'watermark'; advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('left' as const), key: fc.constantFrom('u', 'v'), id: fc.constantFrom('o1', 'o2', 'o3', 'o4'), delta: fc.integer({ min: -30, max: 10 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({ type: fc.constant('right' as const), key: fc.constantFrom('u', 'v'), group: fc.constantFrom('app', 'web'), delta: fc.integer({ min: -30, max: 10 }), sign: fc.constantFrom(1 as const, 1 as const, -1 as const) }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('watermark' as const), advance: fc.integer({ min: 0, max: 8 }) }) },
);

type Out = IntervalExistsOutput<string>;

/**
 * The definition: after each change, the matches (left id, group) of the left rows kept are those with a
 * right row of positive multiplicity in the interval; the output is the difference, by id then group.
 * Right rows are never dropped here, which also checks that dropping them never changes a match.
 */
class Model {
  private readonly lefts = new Map<string, { key: string; id: string; time: number }>();
  private readonly rights = new Map<string, number>();
  /** JSON [key, id, group] -> the left row's time */
  private matches = new Map<string, number>();
  private watermark = Number.MIN_SAFE_INTEGER;
  constructor(
    private readonly lower: number,
    private readonly upper: number,
    private readonly retention: number,
  ) {}

  private current(): Map<string, number> {
    const out = new Map<string, number>();
    for (const l of this.lefts.values()) {
      for (const [r, count] of this.rights) {
        const [key, group, time] = JSON.parse(r) as [string, string, number];
        if (key === l.key && count > 0 && time - l.time >= this.lower && time - l.time <= this.upper) out.set(JSON.stringify([l.key, l.id, group]), l.time);
      }
    }
    return out;
  }

  private diff(): Out[] {
    const now = this.current();
    const changed = [...new Set([...now.keys(), ...this.matches.keys()])]
      .filter((m) => now.has(m) !== this.matches.has(m))
      .map((m) => JSON.parse(m) as [string, string, string])
      .sort(([, ia, ga], [, ib, gb]) => (ia < ib ? -1 : ia > ib ? 1 : ga < gb ? -1 : 1));
    const out = changed.map(([key, id, group]): Out => {
      const m = JSON.stringify([key, id, group]);
      return { kind: 'match', key, id, time: (now.get(m) ?? this.matches.get(m)) as number, row: `row-${id}`, group, sign: now.has(m) ? 1 : -1 };
    });
    this.matches = now;
    return out;
  }

  left(key: string, id: string, time: number, sign: 1 | -1): Out[] {
    const present = this.lefts.has(`${key}|${id}`);
    if (!present && time + this.retention < this.watermark) return [{ kind: 'late', reason: 'older-than-retention', side: 'left', key, time, watermark: this.watermark }];
    if (sign === -1) this.lefts.delete(`${key}|${id}`);
    else this.lefts.set(`${key}|${id}`, { key, id, time });
    return this.diff();
  }

  right(key: string, group: string, time: number, sign: 1 | -1): Out[] {
    if (time - this.lower + this.retention < this.watermark) return [{ kind: 'late', reason: 'older-than-retention', side: 'right', key, time, watermark: this.watermark }];
    const id = JSON.stringify([key, group, time]);
    this.rights.set(id, (this.rights.get(id) ?? 0) + sign);
    return this.diff();
  }

  advanceWatermark(watermark: number): void {
    this.watermark = Math.max(this.watermark, watermark);
    for (const [k, l] of this.lefts) {
      if (l.time + this.retention >= this.watermark) continue;
      this.lefts.delete(k);
      // a dropped row's matches stand, without output
      for (const m of [...this.matches.keys()]) {
        const [key, id] = JSON.parse(m) as [string, string];
        if (key === l.key && id === l.id) this.matches.delete(m);
      }
    }
  }
}

interface Driver {
  left(key: string, id: string, time: number, sign: 1 | -1): readonly Out[];
  right(key: string, group: string, time: number, sign: 1 | -1): readonly Out[];
  advanceWatermark(watermark: number): void;
}

const joinDriver = (j: IntervalExists<string>): Driver => ({
  left: (key, id, time, sign) => j.left(key, id, time, `row-${id}`, sign),
  right: (key, group, time, sign) => j.right(key, group, time, sign),
  advanceWatermark: (w) => j.advanceWatermark(w),
});

/** A left op inserts its id when it is not there (as the retention keeps it), and retracts it when it is. */
function drive(start: Driver, retention: number, ops: readonly Op[], cut = -1, swap: (d: Driver) => Driver = (d) => d): Out[][] {
  let driver = start;
  let watermark = 0;
  const out: Out[][] = [];
  const present = new Map<string, number>();
  ops.forEach((op, i) => {
    if (i === cut) driver = swap(driver);
    if (op.type === 'left') {
      const id = `${op.key}|${op.id}`;
      const sign = present.has(id) ? -1 : 1;
      const time = present.get(id) ?? watermark + op.delta;
      const o = [...driver.left(op.key, op.id, time, sign)];
      if (!o.some((x) => x.kind === 'late')) {
        if (sign === 1) present.set(id, time);
        else present.delete(id);
      }
      out.push(o);
    } else if (op.type === 'right') {
      out.push([...driver.right(op.key, op.group, watermark + op.delta, op.sign)]);
    } else {
      watermark += op.advance;
      driver.advanceWatermark(watermark);
      for (const [id, time] of present) if (time + retention < watermark) present.delete(id);
    }
  });
  return out;
}

const boundsArb = fc.record({ lower: fc.integer({ min: -12, max: 0 }), width: fc.integer({ min: 0, max: 12 }), retention: fc.integer({ min: 1, max: 25 }) });

describe('IntervalExists', () => {
  it('emits exactly the changes of the (left row, group) matches of the kept rows, bounds inclusive', () => {
    fc.assert(
      fc.property(boundsArb, fc.array(opArb, { maxLength: 120 }), ({ lower, width, retention }, ops) => {
        const options = { lowerBound: lower, upperBound: lower + width, retentionMs: retention };
        const model = new Model(lower, lower + width, retention);
        const modelDriver: Driver = { left: (...a) => model.left(...a), right: (...a) => model.right(...a), advanceWatermark: (w) => model.advanceWatermark(w) };
        expect(drive(joinDriver(new IntervalExists<string>(options)), retention, ops)).toEqual(drive(modelDriver, retention, ops));
      }),
      { numRuns: 500 },
    );
  });

  it('restores from a snapshot mid-stream with identical outputs', () => {
    fc.assert(
      fc.property(boundsArb, fc.array(opArb, { maxLength: 120 }), fc.nat(), ({ lower, width, retention }, ops, cut) => {
        const options = { lowerBound: lower, upperBound: lower + width, retentionMs: retention };
        const uninterrupted = drive(joinDriver(new IntervalExists<string>(options)), retention, ops);
        let live = new IntervalExists<string>(options);
        const restored = drive(joinDriver(live), retention, ops, cut % (ops.length + 1), () => {
          live = IntervalExists.restore<string>(options, JSON.parse(JSON.stringify(live.snapshot())) as ReturnType<IntervalExists<string>['snapshot']>);
          return joinDriver(live);
        });
        expect(restored).toEqual(uninterrupted);
      }),
      { numRuns: 300 },
    );
  });

  it('matches a click exactly at created_at - 1 h and at created_at, not 1 ms outside', () => {
    const hour = 3_600_000;
    const j = new IntervalExists<string>({ lowerBound: -hour, upperBound: 0, retentionMs: 48 * hour });
    expect(j.right('u', 'web', 10 * hour - hour - 1, 1)).toEqual([]);
    expect(j.left('u', 'o', 10 * hour, 'o', 1)).toEqual([]);
    expect(j.right('u', 'app', 10 * hour - hour, 1)).toEqual([{ kind: 'match', key: 'u', id: 'o', time: 10 * hour, row: 'o', group: 'app', sign: 1 }]);
    expect(j.right('u', 'mini', 10 * hour, 1)).toEqual([{ kind: 'match', key: 'u', id: 'o', time: 10 * hour, row: 'o', group: 'mini', sign: 1 }]);
    expect(j.right('u', 'mini', 10 * hour + 1, 1)).toEqual([]);
    // a second click in the same channel changes nothing; taking back the first leaves the match
    expect(j.right('u', 'app', 10 * hour - 1, 1)).toEqual([]);
    expect(j.right('u', 'app', 10 * hour - hour, -1)).toEqual([]);
    expect(j.right('u', 'app', 10 * hour - 1, -1)).toEqual([{ kind: 'match', key: 'u', id: 'o', time: 10 * hour, row: 'o', group: 'app', sign: -1 }]);
    expect(j.left('u', 'o', 10 * hour, 'o', -1)).toEqual([{ kind: 'match', key: 'u', id: 'o', time: 10 * hour, row: 'o', group: 'mini', sign: -1 }]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalJoin, type IntervalJoinOptions, type IntervalJoinOutput, type IntervalJoinSnapshot } from './interval-join.js';

const joinedRights = (outputs: readonly IntervalJoinOutput<string, string>[]): string[] =>
  outputs.flatMap((o) => (o.kind === 'joined' ? [o.right] : []));

describe('IntervalJoin', () => {
  it('includes both bounds by default: left.ts + lower <= right.ts <= left.ts + upper', () => {
    const join = new IntervalJoin<string, string>({ lowerBound: -5, upperBound: 10 });
    for (const ts of [94, 95, 100, 110, 111]) join.processRight('k', ts, `r${ts}`);
    expect(joinedRights(join.processLeft('k', 100, 'l'))).toEqual(['r95', 'r100', 'r110']);
  });

  it('finds the same pairs when the right side arrives second', () => {
    const join = new IntervalJoin<string, string>({ lowerBound: -5, upperBound: 10 });
    join.processLeft('k', 100, 'l');
    const rights = [94, 95, 110, 111].map((ts) => joinedRights(join.processRight('k', ts, `r${ts}`)));
    expect(rights).toEqual([[], ['r95'], ['r110'], []]);
  });

  it('excludes a bound when asked: lower edge and upper edge', () => {
    const lowerExclusive = new IntervalJoin<string, string>({ lowerBound: -5, upperBound: 10, lowerBoundExclusive: true });
    const upperExclusive = new IntervalJoin<string, string>({ lowerBound: -5, upperBound: 10, upperBoundExclusive: true });
    for (const join of [lowerExclusive, upperExclusive]) for (const ts of [95, 96, 109, 110]) join.processRight('k', ts, `r${ts}`);
    expect(joinedRights(lowerExclusive.processLeft('k', 100, 'l'))).toEqual(['r96', 'r109', 'r110']);
    expect(joinedRights(upperExclusive.processLeft('k', 100, 'l'))).toEqual(['r95', 'r96', 'r109']);
  });

  it('stamps a pair with max(left.ts, right.ts) and joins only within a key', () => {
    const join = new IntervalJoin<string, string>({ lowerBound: -10, upperBound: 10 });
    join.processRight('k', 95, 'early');
    join.processRight('other', 100, 'x');
    expect(join.processLeft('k', 100, 'l')).toEqual([{ kind: 'joined', key: 'k', left: 'l', right: 'early', timestamp: 100 }]);
    expect(join.processRight('k', 104, 'later')).toEqual([{ kind: 'joined', key: 'k', left: 'l', right: 'later', timestamp: 104 }]);
  });

  it('sends an input with timestamp < watermark to the late output, counted; timestamp == watermark is on time', () => {
    const join = new IntervalJoin<string, string>({ lowerBound: 0, upperBound: 5 });
    join.advanceWatermark(100);
    expect(join.processRight('k', 99, 'r')).toEqual([{ kind: 'late', reason: 'behind-watermark', side: 'right', key: 'k', timestamp: 99, record: 'r' }]);
    expect(join.processLeft('k', 98, 'l')).toMatchObject([{ kind: 'late', side: 'left' }]);
    expect(join.processLeft('k', 100, 'l')).toEqual([]);
    expect(join.lateCount).toBe(2);
  });

  it('evicts a left record once the watermark reaches ts + upper, and a right one at ts - lower', () => {
    const join = new IntervalJoin<string, string>({ lowerBound: -5, upperBound: 10 });
    join.processLeft('k', 100, 'l');
    join.processRight('k', 200, 'r');
    join.advanceWatermark(109);
    expect(join.snapshot().keys[0]?.[1].left).toEqual([[100, ['l']]]);
    join.advanceWatermark(110);
    expect(join.snapshot().keys[0]?.[1].left).toEqual([]);
    // Like Flink: a right record at exactly the watermark is not late, but its partner is already gone.
    expect(join.processRight('k', 110, 'edge')).toEqual([]);
    join.advanceWatermark(114);
    expect(join.snapshot().keys[0]?.[1].right.map(([ts]) => ts)).toEqual([110, 200]);
    join.advanceWatermark(204);
    expect(join.snapshot().keys[0]?.[1].right.map(([ts]) => ts)).toEqual([200]);
    join.advanceWatermark(205);
    expect(join.snapshot().keys).toEqual([]);
  });

  it('cleans up at the element timestamp when a bound does not reach past it', () => {
    const join = new IntervalJoin<string, string>({ lowerBound: 5, upperBound: 10 });
    join.processRight('k', 100, 'r'); // right cleanup at ts, as -lower < 0
    join.processLeft('k', 50, 'l'); // left cleanup at ts + upper = 60
    join.advanceWatermark(99);
    expect(join.snapshot().keys[0]?.[1].right).toEqual([[100, ['r']]]);
    join.advanceWatermark(100);
    expect(join.snapshot().keys).toEqual([]);
  });

  it('rejects lower > upper, as Flink does', () => {
    expect(() => new IntervalJoin({ lowerBound: 1, upperBound: 0 })).toThrow(RangeError);
  });

  type Op = readonly ['left' | 'right', string, number] | readonly ['watermark', number];
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('left' as const, 'right' as const), fc.constantFrom('a', 'b'), fc.integer({ min: -15, max: 20 })) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('watermark' as const), fc.integer({ min: 0, max: 10 })) },
  );
  const scenarioArb = fc.record({
    lower: fc.integer({ min: -10, max: 10 }),
    width: fc.integer({ min: 0, max: 12 }),
    lowerBoundExclusive: fc.boolean(),
    upperBoundExclusive: fc.boolean(),
    ops: fc.array(opArb, { maxLength: 80 }),
    cut: fc.nat(),
  });

  function drive(ops: readonly Op[], start: IntervalJoin<string, string>, cut = -1, swap = (join: IntervalJoin<string, string>) => join): IntervalJoinOutput<string, string>[] {
    let join = start;
    let watermark = 0;
    const outputs: IntervalJoinOutput<string, string>[] = [];
    ops.forEach((op, i) => {
      if (i === cut) join = swap(join);
      if (op[0] === 'watermark') {
        watermark += op[1];
        join.advanceWatermark(watermark);
      } else {
        const ts = watermark + op[2];
        outputs.push(...(op[0] === 'left' ? join.processLeft(op[1], ts, `L${i}`) : join.processRight(op[1], ts, `R${i}`)));
      }
    });
    return outputs;
  }

  /** Flink's operator taken literally: every accepted record stays until its cleanup timer, then is dropped. */
  function oracle(ops: readonly Op[], options: IntervalJoinOptions): IntervalJoinOutput<string, string>[] {
    const lower = options.lowerBound + (options.lowerBoundExclusive === true ? 1 : 0);
    const upper = options.upperBound - (options.upperBoundExclusive === true ? 1 : 0);
    type Held = { side: 'left' | 'right'; key: string; ts: number; record: string; cleanup: number };
    let held: Held[] = [];
    let watermark = Number.MIN_SAFE_INTEGER;
    let current = 0;
    const outputs: IntervalJoinOutput<string, string>[] = [];
    ops.forEach((op, i) => {
      if (op[0] === 'watermark') {
        current += op[1];
        if (current > watermark) {
          watermark = current;
          held = held.filter((h) => h.cleanup > watermark);
        }
        return;
      }
      const [side, key] = op;
      const ts = current + op[2];
      const record = side === 'left' ? `L${i}` : `R${i}`;
      if (ts < watermark) {
        outputs.push(side === 'left' ? { kind: 'late', reason: 'behind-watermark', side, key, timestamp: ts, record } : { kind: 'late', reason: 'behind-watermark', side, key, timestamp: ts, record });
        return;
      }
      const partners = held
        .filter((h) => h.key === key && h.side !== side && (side === 'left' ? h.ts >= ts + lower && h.ts <= ts + upper : ts >= h.ts + lower && ts <= h.ts + upper))
        .sort((a, b) => a.ts - b.ts);
      for (const p of partners) {
        outputs.push(side === 'left'
          ? { kind: 'joined', key, left: record, right: p.record, timestamp: Math.max(ts, p.ts) }
          : { kind: 'joined', key, left: p.record, right: record, timestamp: Math.max(ts, p.ts) });
      }
      const cleanup = side === 'left' ? (upper > 0 ? ts + upper : ts) : -lower > 0 ? ts - lower : ts;
      held.push({ side, key, ts, record, cleanup });
    });
    return outputs;
  }

  it("equals Flink's operator taken literally on random streams", () => {
    fc.assert(
      fc.property(scenarioArb, ({ lower, width, lowerBoundExclusive, upperBoundExclusive, ops }) => {
        const options = { lowerBound: lower, upperBound: lower + width, lowerBoundExclusive, upperBoundExclusive };
        expect(drive(ops, new IntervalJoin(options))).toEqual(oracle(ops, options));
      }),
      { numRuns: 500 },
    );
  });

  it('restores from a snapshot taken mid-stream and continues with identical outputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ lower, width, lowerBoundExclusive, upperBoundExclusive, ops, cut }) => {
        const options = { lowerBound: lower, upperBound: lower + width, lowerBoundExclusive, upperBoundExclusive };
        const restoredRun = drive(ops, new IntervalJoin(options), cut % (ops.length + 1), (join) =>
          IntervalJoin.restore(options, JSON.parse(JSON.stringify(join.snapshot())) as IntervalJoinSnapshot<string, string>),
        );
        expect(restoredRun).toEqual(drive(ops, new IntervalJoin(options)));
      }),
      { numRuns: 300 },
    );
  });
});

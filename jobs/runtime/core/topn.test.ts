import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sumDecimal } from './aggregates.js';
import { parseDecimal } from './decimal.js';
import { TopN, type TopNOutput, type TopNSnapshot } from './topn.js';
import { createWindowOperator } from './window-operator.js';
import { type WindowOutput, tumblingWindows } from './windows.js';

const shopOf = (key: string): string => key.split('|')[0] ?? key;
const byShop = (n: number, allowedLateness = 0) => new TopN<number>({ n, groupOf: shopOf, score: (value) => value, allowedLateness });
const result = (key: string, value: number, start = 0, end = 10): WindowOutput<unknown, number> => ({ kind: 'result', key, window: { start, end }, value });
const update = (key: string, value: number): WindowOutput<unknown, number> => ({ kind: 'update', key, window: { start: 0, end: 10 }, value });
const keys = (outputs: readonly TopNOutput[]): string[][] => outputs.map((o) => (o.kind === 'late' ? [] : o.ranking.map((item) => item.key)));

describe('TopN', () => {
  it('emits each group ranking when the window fires, ties broken by key', () => {
    const topN = byShop(2);
    for (const [key, value] of [['s1|a', 5], ['s1|b', 9], ['s1|c', 9], ['s2|x', 1]] as const) expect(topN.process(result(key, value))).toEqual([]);
    expect(topN.advanceWatermark(8)).toEqual([]);
    expect(topN.advanceWatermark(9)).toEqual([
      { kind: 'result', group: 's1', window: { start: 0, end: 10 }, ranking: [{ rank: 1, key: 's1|b', score: 9 }, { rank: 2, key: 's1|c', score: 9 }] },
      { kind: 'result', group: 's2', window: { start: 0, end: 10 }, ranking: [{ rank: 1, key: 's2|x', score: 1 }] },
    ]);
  });

  it('emits an update when a late re-fire changes the ranking, and nothing when it does not', () => {
    const topN = byShop(2, 100);
    topN.process(result('s|a', 5));
    topN.process(result('s|b', 4));
    topN.process(result('s|c', 1));
    topN.advanceWatermark(9);
    expect(topN.process(update('s|c', 3))).toEqual([]); // still third
    expect(keys(topN.process(update('s|c', 6)))).toEqual([['s|c', 's|a']]);
    expect(topN.process(update('s|c', 6))).toEqual([]);
    expect(topN.process({ kind: 'retract', key: 's|a', window: { start: 0, end: 10 } })).toEqual([
      { kind: 'update', group: 's', window: { start: 0, end: 10 }, ranking: [{ rank: 1, key: 's|c', score: 6 }, { rank: 2, key: 's|b', score: 4 }] },
    ]);
  });

  it('re-ranks from a late element end to end: window operator with lateness, then TopN', () => {
    const minute = 60_000;
    const windows = createWindowOperator({ assigner: tumblingWindows(5 * minute), aggregate: sumDecimal(2), allowedLateness: minute });
    const topN = new TopN<string | null>({ n: 2, groupOf: shopOf, score: (sum) => parseDecimal(sum ?? '0', 2), allowedLateness: minute });
    const feed = (outputs: readonly WindowOutput<bigint, string | null>[]): TopNOutput[] => outputs.flatMap((o) => topN.process(o));
    feed(windows.process('s|apple', 10_000, parseDecimal('30.00', 2)));
    feed(windows.process('s|pear', 20_000, parseDecimal('20.00', 2)));
    feed(windows.process('s|fig', 30_000, parseDecimal('10.00', 2)));
    const fired = feed(windows.advanceWatermark(5 * minute - 1));
    expect(fired).toEqual([]); // results reach TopN before the watermark does
    expect(keys(topN.advanceWatermark(5 * minute - 1))).toEqual([['s|apple', 's|pear']]);
    const late = feed(windows.process('s|fig', 40_000, parseDecimal('25.00', 2)));
    expect(late).toEqual([
      {
        kind: 'update',
        group: 's',
        window: { start: 0, end: 5 * minute },
        ranking: [{ rank: 1, key: 's|fig', score: 3500n }, { rank: 2, key: 's|apple', score: 3000n }],
      },
    ]);
  });

  it('ranks at once a window it first hears of after the watermark passed its end', () => {
    const topN = byShop(3, 50);
    topN.advanceWatermark(20);
    expect(keys(topN.process(result('s|a', 1)))).toEqual([['s|a']]);
  });

  it('sends a result for a window past cleanup to the late output, and ignores upstream late records', () => {
    const topN = byShop(3, 5);
    topN.process(result('s|a', 1));
    topN.advanceWatermark(14);
    expect(topN.snapshot().groups).toEqual([]);
    expect(topN.process(result('s|a', 2))).toEqual([{ kind: 'late', reason: 'window-expired', group: 's', key: 's|a', window: { start: 0, end: 10 } }]);
    expect(topN.lateCount).toBe(1);
    expect(topN.process({ kind: 'late', reason: 'window-expired', key: 's|a', timestamp: 1, record: 1, sign: 1 })).toEqual([]);
  });

  it('emits nothing for a window emptied before it fired, and a result once it gets an item', () => {
    const topN = byShop(3, 50);
    topN.process(result('s|a', 1));
    topN.process({ kind: 'retract', key: 's|a', window: { start: 0, end: 10 } });
    expect(topN.advanceWatermark(9)).toEqual([]);
    expect(topN.process(result('s|b', 2))).toMatchObject([{ kind: 'result', ranking: [{ key: 's|b' }] }]);
  });

  it('restores from a snapshot taken mid-stream and continues with identical outputs', () => {
    type Op = readonly ['result', string, number, number] | readonly ['retract', string, number] | readonly ['watermark', number];
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constant('result' as const), fc.constantFrom('s|a', 's|b', 's|c', 't|x', 't|y'), fc.integer({ min: 0, max: 3 }), fc.integer({ min: -5, max: 5 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('retract' as const), fc.constantFrom('s|a', 's|b', 't|x'), fc.integer({ min: 0, max: 3 })) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('watermark' as const), fc.integer({ min: 0, max: 6 })) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.nat(), fc.boolean(), (ops, cutSeed, bigScores) => {
        const options = { n: 2, groupOf: shopOf, score: (v: number) => (bigScores ? BigInt(v) : v), allowedLateness: 7 };
        const run = (cut: number): TopNOutput[] => {
          let topN = new TopN(options);
          let watermark = 0;
          const outputs: TopNOutput[] = [];
          ops.forEach((op, i) => {
            if (i === cut) topN = TopN.restore(options, JSON.parse(JSON.stringify(topN.snapshot())) as TopNSnapshot);
            if (op[0] === 'watermark') {
              watermark += op[1];
              outputs.push(...topN.advanceWatermark(watermark));
            } else {
              const window = { start: op[2] * 5, end: op[2] * 5 + 5 };
              outputs.push(...topN.process(op[0] === 'result' ? { kind: 'result', key: op[1], window, value: op[3] } : { kind: 'retract', key: op[1], window }));
            }
          });
          return [...outputs, ...topN.advanceWatermark(watermark + 100)];
        };
        expect(run(cutSeed % (ops.length + 1))).toEqual(run(-1));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a non-positive n', () => {
    expect(() => byShop(0)).toThrow(RangeError);
  });
});

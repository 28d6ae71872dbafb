import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AggregateSpec,
  type Sign,
  aggregateFields,
  bigintValues,
  count,
  distinctCount,
  field,
  maxWithRetraction,
  minWithRetraction,
  numberValues,
  stringValues,
  sumDecimal,
} from './aggregates.js';
import { parseDecimal } from './decimal.js';

function run<In, Acc, Out, Saved>(spec: AggregateSpec<In, Acc, Out, Saved>, changes: ReadonlyArray<readonly [In, Sign]>): Acc {
  let acc = spec.create();
  for (const [value, sign] of changes) acc = spec.add(acc, value, sign);
  return acc;
}

/** Every aggregate must give the same result whether changes go into one accumulator or are split and merged. */
function mergeMatchesSequential<In, Acc, Out, Saved>(spec: AggregateSpec<In, Acc, Out, Saved>, value: fc.Arbitrary<In>): void {
  fc.assert(
    fc.property(fc.array(fc.tuple(value, fc.constantFrom<Sign>(1, -1))), fc.nat(), (changes, cut) => {
      const at = changes.length === 0 ? 0 : cut % (changes.length + 1);
      const merged = spec.merge(run(spec, changes.slice(0, at)), run(spec, changes.slice(at)));
      const sequential = run(spec, changes);
      expect(spec.result(merged)).toEqual(spec.result(sequential));
      const restored = spec.load(JSON.parse(JSON.stringify(spec.save(sequential))) as Saved);
      expect(spec.result(restored)).toEqual(spec.result(sequential));
    }),
  );
}

describe('count', () => {
  it('counts net rows', () => {
    const spec = count();
    expect(spec.result(run(spec, [['a', 1], ['b', 1], ['a', -1]]))).toBe(1);
  });
  it('merges like sequential adds', () => mergeMatchesSequential(count(), fc.constant(null)));
});

describe('sumDecimal', () => {
  it('is exact: 0.1 added 10 times and retracted 3 times is 0.7, at the declared scale', () => {
    for (const [scale, expected] of [[1, '0.7'], [2, '0.70'], [6, '0.700000']] as const) {
      const spec = sumDecimal(scale);
      const tenth = parseDecimal('0.1', scale);
      let acc = spec.create();
      for (let i = 0; i < 10; i++) acc = spec.add(acc, tenth, 1);
      for (let i = 0; i < 3; i++) acc = spec.add(acc, tenth, -1);
      expect(spec.result(acc)).toBe(expected);
    }
  });

  it('keeps large and negative amounts exact', () => {
    const spec = sumDecimal(2);
    const acc = run(spec, [[parseDecimal('12345678901234.56', 2), 1], [parseDecimal('-0.01', 2), 1], [parseDecimal('0.45', 2), 1]]);
    expect(spec.result(acc)).toBe('12345678901235.00');
    expect(spec.save(acc)).toEqual({ sum: '1234567890123500', rows: 3 });
  });

  it('is NULL once every row is retracted', () => {
    const spec = sumDecimal(2);
    expect(spec.result(run(spec, [[5n, 1], [5n, -1]]))).toBeNull();
  });

  it('merges like sequential adds', () => mergeMatchesSequential(sumDecimal(3), fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n })));
});

describe('minWithRetraction / maxWithRetraction', () => {
  it('falls back to the next value when the extreme is retracted', () => {
    const min = minWithRetraction(numberValues);
    const acc = run(min, [[5, 1], [3, 1], [3, 1], [8, 1]]);
    expect(min.result(acc)).toBe(3);
    min.add(acc, 3, -1);
    expect(min.result(acc)).toBe(3);
    min.add(acc, 3, -1);
    expect(min.result(acc)).toBe(5);
    min.add(acc, 5, -1);
    min.add(acc, 8, -1);
    expect(min.result(acc)).toBeNull();
  });

  it('tolerates a retraction that arrives before its insert', () => {
    const max = maxWithRetraction(bigintValues);
    const acc = run(max, [[9n, -1], [4n, 1]]);
    expect(max.result(acc)).toBe(4n);
    max.add(acc, 9n, 1);
    expect(max.result(acc)).toBe(4n);
  });

  it('orders strings by code unit', () => {
    const max = maxWithRetraction(stringValues);
    expect(max.result(run(max, [['apple', 1], ['pear', 1], ['fig', 1]]))).toBe('pear');
  });

  it('merges like sequential adds', () => {
    mergeMatchesSequential(minWithRetraction(numberValues), fc.integer({ min: -5, max: 5 }));
    mergeMatchesSequential(maxWithRetraction(bigintValues), fc.bigInt({ min: -5n, max: 5n }));
  });
});

describe('distinctCount', () => {
  it('counts values whose multiplicity is positive', () => {
    const spec = distinctCount(stringValues);
    const acc = run(spec, [['u1', 1], ['u2', 1], ['u1', 1], ['u1', -1]]);
    expect(spec.result(acc)).toBe(2);
    spec.add(acc, 'u1', -1);
    expect(spec.result(acc)).toBe(1);
  });

  it('merges like sequential adds', () => mergeMatchesSequential(distinctCount(numberValues), fc.integer({ min: 0, max: 4 })));
});

describe('aggregateFields', () => {
  interface Order {
    readonly user: string;
    readonly amount: bigint;
  }
  const spec = aggregateFields({
    orders: field(count(), (order: Order) => order),
    revenue: field(sumDecimal(2), (order: Order) => order.amount),
    buyers: field(distinctCount(stringValues), (order: Order) => order.user),
  });

  it('aggregates every field from one input', () => {
    const acc = run(spec, [
      [{ user: 'a', amount: 150n }, 1],
      [{ user: 'b', amount: 250n }, 1],
      [{ user: 'a', amount: 150n }, -1],
    ]);
    const result: { orders: number; revenue: string | null; buyers: number } = spec.result(acc);
    expect(result).toEqual({ orders: 1, revenue: '2.50', buyers: 1 });
  });

  it('merges like sequential adds', () => {
    const order = fc.record({ user: fc.constantFrom('a', 'b', 'c'), amount: fc.bigInt({ min: 0n, max: 1000n }) });
    mergeMatchesSequential(spec, order);
  });
});

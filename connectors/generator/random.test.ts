import { describe, expect, it } from 'vitest';
import { hashInts, hashString, Random, WeightedChoice, zipfWeights } from './random.js';

const draws = (r: Random, n: number, f: (r: Random) => number): number[] => Array.from({ length: n }, () => f(r));
const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('Random', () => {
  it('repeats itself for a seed and stream, and differs across seeds and streams', () => {
    const a = draws(Random.stream(1, 'x'), 1000, (r) => r.uint32());
    expect(draws(Random.stream(1, 'x'), 1000, (r) => r.uint32())).toEqual(a);
    expect(draws(Random.stream(2, 'x'), 1000, (r) => r.uint32())).not.toEqual(a);
    expect(draws(Random.stream(1, 'y'), 1000, (r) => r.uint32())).not.toEqual(a);
  });

  it('draws with the distributions it names', () => {
    const r = new Random(42);
    const u = draws(r, 200_000, (x) => x.next());
    expect(u.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mean(u)).toBeCloseTo(0.5, 2);
    const ints = draws(r, 100_000, (x) => x.intBetween(3, 7));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5, 6, 7]));
    expect(mean(draws(r, 200_000, (x) => x.exponential(12)))).toBeCloseTo(12, 0);
    expect(mean(draws(r, 200_000, (x) => x.geometric(1 / 6)))).toBeCloseTo(5, 1);
    const n = draws(r, 200_000, (x) => x.normal());
    expect(mean(n)).toBeCloseTo(0, 1);
    expect(mean(n.map((x) => x * x))).toBeCloseTo(1, 1);
    const ln = draws(r, 100_001, (x) => x.logNormal(45, 0.9)).sort((a, b) => a - b);
    expect(ln[50_000]).toBeGreaterThan(43);
    expect(ln[50_000]).toBeLessThan(47);
    const idx = draws(r, 100_000, (x) => x.index([0.5, 0.3, 0.2]));
    expect(idx.filter((i) => i === 2).length / idx.length).toBeCloseTo(0.2, 2);
  });
});

describe('WeightedChoice', () => {
  it('draws each index in proportion to its weight (alias method)', () => {
    const weights = [5, 0, 1, 3, 1];
    const choice = new WeightedChoice(weights);
    const r = new Random(7);
    const counts = new Array<number>(weights.length).fill(0);
    const n = 500_000;
    for (let i = 0; i < n; i++) {
      const k = choice.sample(r);
      counts[k] = (counts[k] as number) + 1;
    }
    weights.forEach((w, i) => expect((counts[i] as number) / n).toBeCloseTo(w / 10, 2));
  });

  it('refuses weights it cannot draw from', () => {
    expect(() => new WeightedChoice([])).toThrow();
    expect(() => new WeightedChoice([0, 0])).toThrow();
    expect(() => new WeightedChoice([1, -1])).toThrow();
    expect(() => new WeightedChoice([1, Number.NaN])).toThrow();
  });

  it('Zipf weights fall as 1/k^s', () => {
    expect(zipfWeights(4, 1)).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
  });
});

describe('hashes', () => {
  it('are stable values (device ids and tags must not change between versions)', () => {
    expect(hashString('山东省')).toBe(hashString('山东省'));
    expect(hashString('a')).not.toBe(hashString('b'));
    expect(hashInts(1, 2)).not.toBe(hashInts(2, 1));
    // Values above 2^32 count with both halves.
    expect(hashInts(2 ** 32 + 5)).not.toBe(hashInts(5));
    expect(hashInts(1, 2, 3)).toMatchInlineSnapshot(`3599910357`);
  });
});

import { describe, expect, it } from 'vitest';
import { histogramQuantiles } from './pipeline-probes.js';

describe('histogramQuantiles', () => {
  it('takes the observations between two scrapes and interpolates within a bucket', () => {
    const before: Array<[number, number]> = [[0.1, 10], [0.5, 20], [1, 30], [Number.POSITIVE_INFINITY, 30]];
    const after: Array<[number, number]> = [[0.1, 10], [0.5, 70], [1, 130], [Number.POSITIVE_INFINITY, 130]];
    // 100 new observations: 50 in (0.1, 0.5], 50 in (0.5, 1]
    const { count, quantiles } = histogramQuantiles(before, after, [0.5, 0.99, 0.25]);
    expect(count).toBe(100);
    expect(quantiles[0]).toBeCloseTo(0.5, 9);
    expect(quantiles[1]).toBeCloseTo(0.99, 9);
    expect(quantiles[2]).toBeCloseTo(0.3, 9);
  });

  it('answers the last finite bound for observations beyond it', () => {
    const { quantiles } = histogramQuantiles([], [[1, 0], [Number.POSITIVE_INFINITY, 4]], [0.5]);
    expect(quantiles).toEqual([1]);
  });
});

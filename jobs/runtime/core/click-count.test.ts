import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClickCount, type Mark, countClick, trimTail } from './click-count.js';

const newCount = (): ClickCount => ({ adId: 'a', day: '2026-01-01', end: 0, n: 0, tail: [], crossed: null });
const byMark = (a: Mark, b: Mark): number => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

describe('countClick', () => {
  it('keeps the (threshold + 1)-th click in (time, id) order, whatever order the clicks are counted in (nothing trimmed)', () => {
    const marksArb = fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.constantFrom('a', 'b', 'c', 'd')), { selector: ([t, id]) => `${t}${id}`, maxLength: 40 });
    fc.assert(
      fc.property(marksArb, fc.integer({ min: 0, max: 6 }), (marks, threshold) => {
        const count = newCount();
        const seen: Mark[] = [];
        let last: Mark | null = null;
        for (const mark of marks) {
          const changed = countClick(count, mark, threshold);
          seen.push(mark);
          const model = [...seen].sort(byMark)[threshold] ?? null;
          expect(count.crossed).toEqual(model);
          // reported exactly when it changed, and it only moves earlier
          expect(changed).toEqual(model !== null && JSON.stringify(model) !== JSON.stringify(last) ? model : null);
          if (last !== null && model !== null) expect(byMark(model, last)).toBeLessThanOrEqual(0);
          last = model;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('trims the tail to the clicks within the lateness and says when the next one goes', () => {
    const count = newCount();
    for (const t of [10, 20, 30]) countClick(count, [t, 'x'], 5);
    // t + lateness <= time: gone
    expect(trimTail(count, 24, 5)).toBe(25);
    expect(count.tail).toEqual([[20, 'x'], [30, 'x']]);
    expect(trimTail(count, 25, 5)).toBe(35);
    expect(count.tail).toEqual([[30, 'x']]);
    expect(trimTail(count, 40, 5)).toBeUndefined();
    expect(count.n).toBe(3);
  });
});

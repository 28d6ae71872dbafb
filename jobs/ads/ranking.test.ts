import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints, rankChanges, topN } from './ranking.js';

describe('rankings', () => {
  it('compares strings by code point, as an array of code points compares', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const x = [...a].map((c) => c.codePointAt(0) as number);
        const y = [...b].map((c) => c.codePointAt(0) as number);
        let want = 0;
        for (let i = 0; i < Math.max(x.length, y.length) && want === 0; i++) {
          if (i >= x.length) want = -1;
          else if (i >= y.length) want = 1;
          else want = Math.sign((x[i] as number) - (y[i] as number));
        }
        expect(Math.sign(compareCodePoints(a, b))).toBe(want);
      }),
    );
    // U+FF5E sorts before U+1F600 by code point, after it by UTF-16 code unit
    expect(compareCodePoints('\uff5e', '\u{1f600}')).toBeLessThan(0);
    expect('\uff5e' < '\u{1f600}').toBe(false);
  });

  it('numbers the first n 1..n and says which rank rows change', () => {
    const ranked = topN([{ k: 'b', v: 2 }, { k: 'a', v: 2 }, { k: 'c', v: 5 }, { k: 'd', v: 1 }], 3, (x, y) => y.v - x.v || compareCodePoints(x.k, y.k));
    expect(ranked).toEqual([{ k: 'c', v: 5, rank: 1 }, { k: 'a', v: 2, rank: 2 }, { k: 'b', v: 2, rank: 3 }]);
    expect(rankChanges(ranked, [ranked[0], ranked[2]], 3)).toEqual([
      { rank: 2, entry: ranked[2] },
      { rank: 3, entry: undefined },
    ]);
    expect(rankChanges([], [], 3)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { keysetAfter, keysetRange, selectList } from './snapshot.js';

describe('snapshot SQL', () => {
  it('reads FLOAT columns as DOUBLE, under their own names', () => {
    expect(selectList([{ COLUMN_NAME: 'id', DATA_TYPE: 'int' }, { COLUMN_NAME: 'f`x', DATA_TYPE: 'FLOAT' }, { COLUMN_NAME: 'd', DATA_TYPE: 'double' }])).toBe('`id`, CAST(`f``x` AS DOUBLE) AS `f``x`, `d`');
  });

  it('continues after a key as a range of its first column, each later column compared only where the earlier ones are equal', () => {
    expect(keysetAfter(['`a`'], ['7'])).toEqual({ sql: 'WHERE `a` > ?', params: ['7'] });
    expect(keysetAfter(['`a`', '`b`', '`c`'], ['1', 'x', '3'])).toEqual({
      sql: 'WHERE `a` >= ? AND (`a` > ? OR (`a` = ? AND (`b` > ? OR (`b` = ? AND `c` > ?))))',
      params: ['1', '1', '1', 'x', 'x', '3'],
    });
  });

  it('evaluates like the row comparison (a, b, c) > (x, y, z) it stands for', () => {
    // The generated condition, evaluated over every key of a small grid, against tuple order.
    const after = [1, 1, 1];
    const { sql, params } = keysetAfter(['a', 'b', 'c'], after.map(String));
    let i = 0;
    const js = sql.replace('WHERE ', '').replace(/\?/g, () => String(params[i++])).replace(/ AND /g, ' && ').replace(/ OR /g, ' || ').replace(/ = /g, ' === ');
    const holds = new Function('a', 'b', 'c', `return ${js};`) as (a: number, b: number, c: number) => boolean;
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        for (let c = 0; c < 3; c++) {
          const greater = a !== after[0] ? a > (after[0] as number) : b !== after[1] ? b > (after[1] as number) : c > (after[2] as number);
          expect(holds(a, b, c), `(${a}, ${b}, ${c})`).toBe(greater);
        }
      }
    }
  });

  it('bounds a key range (after, upTo] on both sides, like the row comparisons it stands for', () => {
    expect(keysetRange(['`a`'], null, undefined)).toEqual({ sql: '', params: [] });
    expect(keysetRange(['`a`'], ['3'], ['9'])).toEqual({ sql: 'WHERE `a` > ? AND NOT (`a` > ?)', params: ['3', '9'] });
    const after = [0, 2];
    const upTo = [2, 1];
    const { sql, params } = keysetRange(['a', 'b'], after.map(String), upTo.map(String));
    let i = 0;
    const js = sql.replace('WHERE ', '').replace(/\?/g, () => String(params[i++])).replace(/NOT /g, '!').replace(/ AND /g, ' && ').replace(/ OR /g, ' || ').replace(/ = /g, ' === ');
    const holds = new Function('a', 'b', `return ${js};`) as (a: number, b: number) => boolean;
    const cmp = (x: number[], y: number[]) => (x[0] !== y[0] ? (x[0] as number) - (y[0] as number) : (x[1] as number) - (y[1] as number));
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) expect(holds(a, b), `(${a}, ${b})`).toBe(cmp([a, b], after) > 0 && cmp([a, b], upTo) <= 0);
  });

  it('wants one value per key column', () => {
    expect(() => keysetAfter(['a', 'b'], ['1'])).toThrow(/a key value per key column/);
  });
});

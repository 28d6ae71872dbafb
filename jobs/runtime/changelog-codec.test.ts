import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeChanges, META_KEY } from './changelog-codec.js';

const readable = (records: ReadonlyArray<readonly [string, string | null]>) => records.map(([k, v]) => [k.replace('\u0000', '^').replace('\u0001', '|'), v === null ? null : JSON.parse(v)]);

describe('changelog codec', () => {
  it('writes the meta record, one record per changed key present and a tombstone per changed key absent', () => {
    const partial = { kind: 'sliced', watermark: 42, keys: [['k1', { x: 1 }]] };
    expect(readable(encodeChanges(partial, 'keys', ['k1', 'gone'], { wm: 1 }))).toEqual([
      ['^meta', { fields: { kind: 'sliced', watermark: 42 }, split: ['keys'], extra: { wm: 1 } }],
      ['keys|sk1', { x: 1 }],
      ['keys|sgone', null],
    ]);
  });

  it('decodes the records of several checkpoints, applied in order, into the latest snapshot with keys sorted', () => {
    const log = new Map<string, string>();
    const apply = (records: ReadonlyArray<readonly [string, string | null]>) => {
      for (const [k, v] of records) {
        if (v === null) log.delete(k);
        else log.set(k, v);
      }
    };
    apply(encodeChanges({ watermark: 1, groups: [['b', [1]], ['a', [2]], ['c', [3]]] }, 'groups', ['b', 'a', 'c'], null));
    apply(encodeChanges({ watermark: 2, groups: [['a', [5]]] }, 'groups', ['a', 'c'], { wm: 2 }));
    expect(decodeSnapshot(log)).toEqual({ snapshot: { watermark: 2, groups: [['a', [5]], ['b', [1]]] }, extra: { wm: 2 } });
    expect(log.has(META_KEY)).toBe(true);
  });

  it('keeps an empty keyed field, and returns undefined for an empty changelog', () => {
    expect(decodeSnapshot(new Map(encodeChanges({ n: 3, keys: [] }, 'keys', [], null) as Array<[string, string]>))?.snapshot).toEqual({ n: 3, keys: [] });
    expect(decodeSnapshot(new Map())).toBeUndefined();
  });
});

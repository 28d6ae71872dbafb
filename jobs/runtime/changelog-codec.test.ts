import { describe, expect, it } from 'vitest';
import { decodeSnapshot, diffRecords, encodeSnapshot } from './changelog-codec.js';

const snapshot = {
  kind: 'sliced',
  size: 3_600_000,
  watermark: 42,
  panes: [[300_000, [['b', '7', 1], ['a', '3', 2]]], [600_000, [['a', '1', 1]]]],
  emitted: [],
  keys: [['k1', { x: 1 }], ['k2', { x: 2 }]],
};

describe('changelog codec', () => {
  it('round-trips a snapshot, pair arrays sorted by id, empty arrays kept', () => {
    const records = encodeSnapshot(snapshot, { wm: 1 });
    expect([...records.keys()].filter((k) => k.startsWith('panes'))).toHaveLength(2);
    const decoded = decodeSnapshot<typeof snapshot>(records);
    expect(decoded).toEqual({ snapshot, extra: { wm: 1 } });
  });

  it('sorts numeric ids numerically, not as text', () => {
    const s = { panes: [[5, 'a'], [40, 'b'], [300, 'c']] };
    expect(decodeSnapshot<typeof s>(encodeSnapshot(s, null))?.snapshot.panes).toEqual(s.panes);
  });

  it('writes only changed records and tombstones removed ones', () => {
    const before = encodeSnapshot(snapshot, null);
    const after = encodeSnapshot({ ...snapshot, watermark: 43, panes: [[600_000, [['a', '2', 2]]]] }, null);
    const diff = diffRecords(before, after);
    expect(diff.map(([k, v]) => [k.replace('\u0000', '^').replace('\u0001', '|'), v === null ? null : 'json'])).toEqual([
      ['panes|n600000', 'json'],
      ['^meta', 'json'],
      ['panes|n300000', null],
    ]);
    expect(diffRecords(after, after)).toEqual([]);
  });

  it('returns undefined for an empty changelog', () => {
    expect(decodeSnapshot(new Map())).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { TtlValueState, type TtlValueStateSnapshot } from './keyed-state.js';

describe('TtlValueState', () => {
  it('expires ttlMs after the last write: visible at write + ttl - 1, gone at write + ttl', () => {
    const state = new TtlValueState<string>(1_000);
    state.update('k', 'v', 5_000);
    expect(state.value('k', 5_999)).toBe('v');
    expect(state.value('k', 6_000)).toBeUndefined();
    expect(state.size).toBe(0);
  });

  it('is extended by writes, not by reads', () => {
    const state = new TtlValueState<number>(100);
    state.update('k', 1, 0);
    expect(state.value('k', 90)).toBe(1);
    expect(state.value('k', 100)).toBeUndefined();
    state.update('k', 2, 100);
    state.update('k', 3, 150);
    expect(state.value('k', 249)).toBe(3);
    expect(state.value('k', 250)).toBeUndefined();
  });

  it('clears one key and purges expired entries', () => {
    const state = new TtlValueState<number>(10);
    state.update('a', 1, 0);
    state.update('b', 2, 5);
    state.update('c', 3, 0);
    state.clear('c');
    expect(state.purgeExpired(10)).toBe(1);
    expect(state.size).toBe(1);
    expect(state.value('b', 14)).toBe(2);
  });

  it('restores values and their write times', () => {
    const state = new TtlValueState<{ readonly n: number }>(100);
    state.update('a', { n: 1 }, 0);
    state.update('b', { n: 2 }, 50);
    const restored = TtlValueState.restore(JSON.parse(JSON.stringify(state.snapshot())) as TtlValueStateSnapshot<{ readonly n: number }>);
    expect(restored.value('a', 99)).toEqual({ n: 1 });
    expect(restored.value('a', 100)).toBeUndefined();
    expect(restored.value('b', 149)).toEqual({ n: 2 });
  });

  it('rejects a non-positive TTL', () => {
    expect(() => new TtlValueState(0)).toThrow(RangeError);
  });
});

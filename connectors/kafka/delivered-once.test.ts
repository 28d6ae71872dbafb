import { describe, expect, it } from 'vitest';
import { DeliveredOnce } from './delivered-once.js';

describe('DeliveredOnce', () => {
  it('takes every offset once per topic and partition, whatever is handed over again', () => {
    const once = new DeliveredOnce();
    const delivered = [
      ['a', 0, 0], ['a', 0, 1], ['a', 1, 0], ['a', 0, 0], ['a', 0, 1], ['a', 0, 2], ['b', 0, 0], ['a', 1, 0], ['a', 1, 5],
    ] as const;
    const taken = delivered.filter(([t, p, o]) => once.take(t, p, BigInt(o))).map(([t, p, o]) => `${t}/${p}/${o}`);
    expect(taken).toEqual(['a/0/0', 'a/0/1', 'a/1/0', 'a/0/2', 'b/0/0', 'a/1/5']);
    expect(once.redelivered).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { produceRequests, type TopicRecord } from './produce-requests.js';

const rec = (topic: string, i: number, size = 1): TopicRecord => ({ topic, key: String(i), value: 'x'.repeat(size) });

describe('produceRequests', () => {
  it('groups by topic and keeps order within each request', () => {
    const [first, ...rest] = produceRequests([rec('a', 1), rec('b', 2), rec('a', 3)]);
    expect(rest).toEqual([]);
    expect(first?.map((t) => [t.topic, t.messages.map((m) => m.key)])).toEqual([['a', ['1', '3']], ['b', ['2']]]);
  });

  it('caps requests at 10,000 records and at 768 Ki chars of keys and values, never empty', () => {
    expect(produceRequests(Array.from({ length: 25_000 }, (_, i) => rec('a', i % 10))).map((r) => r[0]?.messages.length)).toEqual([10_000, 10_000, 5000]);
    // 1 char of key + 99 of value: 7864 records make 786,400 chars ≤ 786,432, the next one is over
    expect(produceRequests(Array.from({ length: 10_000 }, (_, i) => rec('a', i % 10, 99))).map((r) => r[0]?.messages.length)).toEqual([7864, 2136]);
    expect(produceRequests([rec('a', 1, 3 * 1024 * 1024), rec('a', 2)]).map((r) => r[0]?.messages.length)).toEqual([1, 1]);
    expect(produceRequests([])).toEqual([]);
  });
});

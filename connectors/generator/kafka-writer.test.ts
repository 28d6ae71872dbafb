import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Random } from './random.js';
import { keyPartition, murmur2 } from './kafka-writer.js';

// kafkajs' own port of the Java client's murmur2 (its default partitioner), as the reference.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string) => number;

describe('key partitioning', () => {
  it('is the Java client’s murmur2 (values of Kafka’s UtilsTest)', () => {
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('a-little-bit-longer-string')).toBe(-1486304829);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
    expect(murmur2('abc')).toBe(479470107);
  });

  it('agrees with kafkajs’ default partitioner on random keys, UTF-8 included', () => {
    const r = new Random(3);
    const alphabet = 'abcdef0123456789山东省青岛市-_';
    for (let i = 0; i < 5_000; i++) {
      const key = Array.from({ length: r.int(40) }, () => alphabet[r.int(alphabet.length)]).join('');
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      const p = keyPartition(key, 7);
      expect(p).toBe((kafkajsMurmur2(key) & 0x7fffffff) % 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });
});

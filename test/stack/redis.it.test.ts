import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { config, uniqueName } from '../support/stack.js';

describe('local Redis', () => {
  const redis = new Redis(config.redis.url);
  const key = uniqueName('it');
  afterAll(async () => {
    await redis.del(`${key}:h`, `${key}:z`);
    redis.disconnect();
  });

  it('applies a MULTI block atomically and persists to AOF', async () => {
    const results = await redis
      .multi()
      .hset(`${key}:h`, { orders: '3', amount: '12.50' })
      .zadd(`${key}:z`, 30, 'hangzhou', 20, 'ningbo')
      .expire(`${key}:h`, 600)
      .hgetall(`${key}:h`)
      .zrevrange(`${key}:z`, 0, -1, 'WITHSCORES')
      .exec();
    expect(results?.map(([err]) => err)).toEqual([null, null, null, null, null]);
    expect(results?.[3]?.[1]).toEqual({ orders: '3', amount: '12.50' });
    expect(results?.[4]?.[1]).toEqual(['hangzhou', '30', 'ningbo', '20']);
    expect(await redis.ttl(`${key}:h`)).toBeGreaterThan(590);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../schemas/config.js';
import { loadRedisSinkOptions } from './config.js';

describe('Redis sink options', () => {
  it('defaults follow the namespace', () => {
    expect(loadRedisSinkOptions('shop1', {})).toEqual({
      namespace: 'shop1',
      ttlSeconds: 172_800,
      hashTags: false,
      topics: ['shop1.ads_redis'],
      groupId: 'shop1-redis-sink',
      alertsMax: 1000,
      retryMaxMs: 5000,
      deadLetterTopic: 'shop1.dead_letter',
      clusterNodes: undefined,
    });
  });

  it('reads topics, TTL, tags and cluster nodes', () => {
    const o = loadRedisSinkOptions('rtdw', { RTDW_REDIS_TOPICS: 'a.x, b.y', RTDW_REDIS_TTL_S: '60', RTDW_REDIS_HASH_TAGS: 'true', REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-b:7001' });
    expect(o).toMatchObject({ topics: ['a.x', 'b.y'], ttlSeconds: 60, hashTags: true, clusterNodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7001 }] });
  });

  it('refuses a cluster without hash tags, and bad values by name', () => {
    expect(() => loadRedisSinkOptions('rtdw', { REDIS_CLUSTER_NODES: 'h:7000' })).toThrow(/RTDW_REDIS_HASH_TAGS: must be true/);
    let error: unknown;
    try {
      loadRedisSinkOptions('rtdw', { RTDW_REDIS_TTL_S: '0', RTDW_REDIS_HASH_TAGS: 'yes', REDIS_CLUSTER_NODES: 'nohostport' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['RTDW_REDIS_TTL_S', 'RTDW_REDIS_HASH_TAGS', 'REDIS_CLUSTER_NODES']) expect(problems).toContain(name);
    expect(() => loadRedisSinkOptions('a-b', {})).toThrow(/namespace/);
  });
});

/**
 * The sink against a Redis Cluster of the test's own (three masters): with hash tags, each
 * window's hash and its version key share a slot, windows spread over the nodes, and the
 * semantics are those of a single server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { encodeScreenRecord, type RedisWrite } from '../../connectors/redis/encoder.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { config, uniqueName } from '../support/stack.js';
import { capturedLogger, PrivateCluster } from './support.js';

const W = 1717200000000;
const H = 3_600_000;
let cluster: PrivateCluster;

beforeAll(async () => {
  cluster = await PrivateCluster.start();
});

afterAll(async () => {
  // Undefined when the start failed (it cleaned up after itself).
  await (cluster as PrivateCluster | undefined)?.stop();
});

describe('Redis Cluster', () => {
  it('writes windows across the nodes atomically and idempotently, with the tagged names', async () => {
    const layout = redisLayout({ namespace: uniqueName('it_redis_cluster'), hashTags: true });
    // REDIS_URL supplies only credentials here: the cluster's nodes are given apart.
    const sink = new RedisSink({ url: config.redis.url, clusterNodes: cluster.nodes, ttlSeconds: 600, alertsMax: 10, retryMaxMs: 500 }, capturedLogger().log);
    const reader = new Cluster(cluster.nodes);
    const windows = (version: number, clicks: (i: number) => number): RedisWrite[] =>
      Array.from({ length: 60 }, (_, i) =>
        encodeScreenRecord(parseScreenRecord({ kind: 'ad_clicks_1h', window_start: W + i * 300_000, window_end: W + i * 300_000 + H, op: 'replace', entries: [{ ad_id: 1, clicks: clicks(i) }, { ad_id: 2, clicks: 1 }] }), version + i, layout),
      ).flat();
    try {
      await sink.ready();
      expect(await sink.write([...windows(100, (i) => i), ...encodeScreenRecord(parseScreenRecord({ kind: 'blacklist', user_id: 5 }), 1, layout)])).toMatchObject({ written: 60, rejected: [] });
      // Replayed, and older versions with other figures: nothing changes.
      expect(await sink.write(windows(100, (i) => i))).toMatchObject({ written: 0, stale: 60 });
      expect(await sink.write(windows(0, () => 999))).toMatchObject({ written: 0, stale: 60 });
      for (let i = 0; i < 60; i++) expect(await reader.hgetall(`{${layout.namespace}:ad_clicks_1h:${W + i * 300_000}}`)).toEqual({ 1: String(i), 2: '1' });
      expect(await reader.hgetall(`{${layout.namespace}}:latest`)).toEqual({ ad_clicks_1h: String(W + 59 * 300_000) });
      expect(await reader.smembers(`{${layout.namespace}}:blacklist`)).toEqual(['5']);
      const perNode = await Promise.all(reader.nodes('master').map((n) => n.dbsize()));
      expect(perNode.filter((n) => n > 0).length).toBe(3);
    } finally {
      reader.disconnect();
      await sink.close();
    }
  });
});

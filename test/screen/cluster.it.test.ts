/**
 * The screen's reader on a Redis Cluster of the test's own (three masters), with the hash-tagged
 * names the sink writes there: the windows sit on different nodes, the singletons on one, and one
 * read gets them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeScreenRecord } from '../../connectors/redis/encoder.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { connected, createScreenRedis, readScreen } from '../../connectors/screen/reader.js';
import { buildSnapshot } from '../../connectors/screen/snapshot.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { config, uniqueName } from '../support/stack.js';
import { capturedLogger, PrivateCluster } from '../redis/support.js';

const H = 3_600_000;
const W = 1717200000000;
const M = 60_000;
let cluster: PrivateCluster;

beforeAll(async () => {
  cluster = await PrivateCluster.start();
});

afterAll(async () => {
  await (cluster as PrivateCluster | undefined)?.stop();
});

describe('screen on a Redis Cluster', () => {
  it('reads every figure through the tagged names', async () => {
    const ns = uniqueName('it_screen_cluster');
    const layout = redisLayout({ namespace: ns, hashTags: true });
    const sink = new RedisSink({ url: config.redis.url, clusterNodes: cluster.nodes, ttlSeconds: 600, alertsMax: 10, retryMaxMs: 500 }, capturedLogger().log);
    const redis = createScreenRedis(config.redis.url, cluster.nodes);
    try {
      await sink.ready();
      let version = 0;
      const records = [
        { kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'replace', entries: [{ province: '浙江省', city: '杭州市', orders: 2, amount: '3.50' }, { province: '浙江省', city: '宁波市', orders: 1, amount: '1.25' }] },
        { kind: 'order_top3_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ province: '浙江省', ranking: [{ rank: 1, city: '杭州市', orders: 2, amount: '3.50' }, { rank: 2, city: '宁波市', orders: 1, amount: '1.25' }] }] },
        { kind: 'ad_clicks_1h', window_start: W, window_end: W + H, op: 'replace', entries: [{ ad_id: 6, clicks: 9 }, { ad_id: 2, clicks: 4 }] },
        { kind: 'ad_click_trend_1m', ad_id: 6, op: 'upsert', entries: [{ minute_start: W + H - M, clicks: 5 }, { minute_start: W + 10 * M, clicks: 4 }] },
        { kind: 'ad_click_trend_1m', ad_id: 2, op: 'upsert', entries: [{ minute_start: W + H - 2 * M, clicks: 4 }] },
        { kind: 'hot_ads_daily', day: '2024-06-01', op: 'upsert', entries: [{ province: '浙江省', ranking: [{ rank: 1, ad_id: 6, clicks: 9 }] }] },
        { kind: 'daily_kpi', day: '2024-06-01', op: 'upsert', complete: false, entries: [{ kpi: 'pv', value: 10 }, { kpi: 'gmv', value: '4.75' }] },
        { kind: 'blacklist', user_id: 3 },
        { kind: 'watermark', job: 'ads', watermark: W + H },
        { kind: 'alert', alert: { time: W, kind: 'click_bot', subject: 'user 3', value: 101, threshold: 100, detail: '' } },
      ];
      expect((await sink.write(records.flatMap((r) => encodeScreenRecord(parseScreenRecord(r), ++version, layout)))).rejected).toEqual([]);
      await connected(redis, 10_000);
      const s = buildSnapshot(await readScreen(redis, layout, '2024-06-01'), { namespace: ns, timezone: 'UTC', readAt: W + H, lag: { state: 'off' } });
      expect(s.problems).toEqual([]);
      expect(s.orders?.provinces).toEqual([
        { province: '浙江省', orders: 3, amount: '4.75', cities: 2, top3: [{ rank: 1, city: '杭州市', orders: 2, amount: '3.50' }, { rank: 2, city: '宁波市', orders: 1, amount: '1.25' }] },
      ]);
      expect(s.ads?.ads).toEqual([{ adId: 6, clicks: 9 }, { adId: 2, clicks: 4 }]);
      // The trend's 60 minutes end at the newest minute written (W + 59 min); W + 10 min is the 11th.
      expect(s.trend?.series.map((x) => [x.adId, x.clicks[59], x.clicks[58], x.clicks[10]])).toEqual([[6, 5, 0, 4], [2, 0, 4, 0]]);
      expect(s.today.hotAds).toEqual([{ province: '浙江省', ranking: [{ rank: 1, ad_id: 6, clicks: 9 }] }]);
      expect(s.today.kpi).toMatchObject({ pv: '10', gmv: '4.75', uv: null });
      expect([s.blacklistSize, s.watermarks, s.alerts.map((a) => a.subject)]).toEqual([1, [{ job: 'ads', watermark: W + H }], ['user 3']]);
    } finally {
      redis.disconnect();
      await sink.close();
    }
  });
});

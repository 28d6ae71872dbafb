/**
 * The Redis sink's write semantics on the real Redis (127.0.0.1:6380), one namespace per test:
 * idempotent, versioned, exact window contents, TTLs, forward-only `latest`. Expected hashes are
 * written out literally from the layout in issue 11.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisLayout, type RedisLayout } from '../../schemas/redis-keys.js';
import { encodeScreenRecord, type RedisWrite } from '../../connectors/redis/encoder.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { config, uniqueName } from '../support/stack.js';
import { capturedLogger, deleteNamespace, namespaceState } from './support.js';

const TTL = 3600;
const W = 1717200000000;
const H = 3_600_000;
const redis = new Redis(config.redis.url);
const logged = capturedLogger();
const sink = new RedisSink({ url: config.redis.url, ttlSeconds: TTL, alertsMax: 3, retryMaxMs: 1000 }, logged.log);
const namespaces: string[] = [];

function namespace(hashTags = false): RedisLayout {
  const ns = uniqueName('it_redis');
  namespaces.push(ns);
  return redisLayout({ namespace: ns, hashTags });
}

/** The writes of records, each at its version. */
function writes(layout: RedisLayout, ...records: Array<[unknown, number]>): RedisWrite[] {
  return records.flatMap(([record, version]) => encodeScreenRecord(parseScreenRecord(record), version, layout));
}

const cities = (...entries: Array<[string, string, number, string]>) => entries.map(([province, city, orders, amount]) => ({ province, city, orders, amount }));
const cityWindow = (start: number, op: 'replace' | 'upsert' | 'remove', entries: unknown[]) => ({ kind: 'order_city_1h', window_start: start, window_end: start + H, op, entries });

afterEach(async () => {
  for (const ns of namespaces.splice(0)) await deleteNamespace(redis, ns);
});

afterAll(async () => {
  await sink.close();
  redis.disconnect();
});

describe('Redis sink writes', () => {
  it('a window written twice, or again by a later version with the same figures, leaves the same hash', async () => {
    const k = namespace();
    const record = cityWindow(W, 'replace', cities(['山东省', '青岛市', 3, '120.5'], ['山东省', '济南市', 1, '9.9']));
    const expected = { '山东省|青岛市': '{"orders":3,"amount":"120.50"}', '山东省|济南市': '{"orders":1,"amount":"9.90"}' };
    expect(await sink.write(writes(k, [record, 10]))).toEqual({ written: 1, stale: 0, fields: 2, rejected: [] });
    expect(await redis.hgetall(k.orderCity1h(W))).toEqual(expected);
    // The same record replayed: nothing changes, nothing is added.
    expect(await sink.write(writes(k, [record, 10], [record, 10]))).toEqual({ written: 0, stale: 2, fields: 0, rejected: [] });
    expect(await redis.hgetall(k.orderCity1h(W))).toEqual(expected);
    await sink.write(writes(k, [record, 11]));
    expect(await redis.hgetall(k.orderCity1h(W))).toEqual(expected);
  });

  it('an older version after a newer one changes nothing, whole window or single field', async () => {
    const k = namespace();
    await sink.write(writes(k, [cityWindow(W, 'replace', cities(['浙江省', '杭州市', 5, '50.00'])), 20]));
    const outcome = await sink.write(
      writes(k, [cityWindow(W, 'replace', cities(['浙江省', '杭州市', 4, '40.00'], ['浙江省', '宁波市', 1, '1.00'])), 19], [cityWindow(W, 'upsert', cities(['浙江省', '杭州市', 9, '90.00'])), 18], [cityWindow(W, 'remove', [{ province: '浙江省', city: '杭州市' }]), 20]),
    );
    expect(outcome).toMatchObject({ written: 0, stale: 3 });
    expect(await redis.hgetall(k.orderCity1h(W))).toEqual({ '浙江省|杭州市': '{"orders":5,"amount":"50.00"}' });
  });

  it('a window with fewer fields the second time loses the removed field; an empty window deletes the key for good', async () => {
    const k = namespace();
    const three = cities(['江苏省', '南京市', 2, '20.00'], ['江苏省', '苏州市', 1, '5.00'], ['江苏省', '无锡市', 1, '7.00']);
    await sink.write(writes(k, [cityWindow(W, 'replace', three), 1]));
    await sink.write(writes(k, [cityWindow(W, 'replace', three.slice(0, 2)), 2]));
    expect(await redis.hgetall(k.orderCity1h(W))).toEqual({ '江苏省|南京市': '{"orders":2,"amount":"20.00"}', '江苏省|苏州市': '{"orders":1,"amount":"5.00"}' });
    await sink.write(writes(k, [cityWindow(W, 'replace', []), 3]));
    expect(await redis.exists(k.orderCity1h(W))).toBe(0);
    // The version outlives the hash: a replay of an older state does not bring the window back.
    await sink.write(writes(k, [cityWindow(W, 'replace', three), 2]));
    expect(await redis.exists(k.orderCity1h(W))).toBe(0);
  });

  it('per-field upserts and removes: a field is replaced, never added to; a removed field stays removed for older versions', async () => {
    const k = namespace();
    const ads = (start: number, op: 'upsert' | 'remove', entries: unknown[]) => ({ kind: 'ad_clicks_1h', window_start: start, window_end: start + H, op, entries });
    await sink.write(writes(k, [ads(W, 'upsert', [{ ad_id: 1, clicks: 10 }]), 1], [ads(W, 'upsert', [{ ad_id: 2, clicks: 3 }]), 2], [ads(W, 'upsert', [{ ad_id: 1, clicks: 12 }]), 3]));
    expect(await redis.hgetall(k.adClicks1h(W))).toEqual({ 1: '12', 2: '3' });
    await sink.write(writes(k, [ads(W, 'remove', [{ ad_id: 2 }]), 4], [ads(W, 'upsert', [{ ad_id: 2, clicks: 3 }]), 2]));
    expect(await redis.hgetall(k.adClicks1h(W))).toEqual({ 1: '12' });
    // A replace newer than every field restarts the window; an upsert older than the replace is stale.
    await sink.write(writes(k, [{ kind: 'ad_clicks_1h', window_start: W, window_end: W + H, op: 'replace', entries: [{ ad_id: 7, clicks: 1 }] }, 5], [ads(W, 'upsert', [{ ad_id: 1, clicks: 99 }]), 4]));
    expect(await redis.hgetall(k.adClicks1h(W))).toEqual({ 7: '1' });
  });

  it('sets the TTL on the hash and its versions at every write', async () => {
    const k = namespace();
    await sink.write(writes(k, [cityWindow(W, 'replace', cities(['广东省', '深圳市', 1, '1.00'])), 1]));
    for (const key of [k.orderCity1h(W), k.versions('order_city_1h', String(W))]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(TTL - 60);
      expect(ttl).toBeLessThanOrEqual(TTL);
    }
  });

  it('trend minutes are upserted and each write renews the TTL', async () => {
    const k = namespace();
    const trend = (entries: Array<[number, number]>) => ({ kind: 'ad_click_trend_1m', ad_id: 42, op: 'upsert', entries: entries.map(([m, clicks]) => ({ minute_start: W + m * 60_000, clicks })) });
    await sink.write(writes(k, [trend([[0, 3], [1, 4]]), 1]));
    await redis.expire(k.adClickTrend1m(42), 5);
    await sink.write(writes(k, [trend([[0, 5]]), 2], [trend([[2, 1]]), 3], [trend([[1, 9]]), 1]));
    expect(await redis.hgetall(k.adClickTrend1m(42))).toEqual({ [W]: '5', [W + 60_000]: '4', [W + 120_000]: '1' });
    expect(await redis.ttl(k.adClickTrend1m(42))).toBeGreaterThan(TTL - 60);
    expect(await redis.hget(k.latest(), 'ad_click_trend_1m')).toBe(String(W + 120_000));
  });

  it('latest only moves forward, by number for windows and by day for daily keys', async () => {
    const k = namespace();
    const kpis = (day: string) => ({ kind: 'daily_kpi', day, op: 'upsert', entries: [{ kpi: 'pv', value: 1 }] });
    await sink.write(writes(k, [cityWindow(W + 2 * 300_000, 'replace', []), 1], [kpis('2024-06-02'), 1]));
    // In one batch and in later ones, older windows do not pull latest back; incomplete ones do not move it.
    await sink.write(writes(k, [cityWindow(W + 300_000, 'replace', []), 2], [cityWindow(W, 'replace', []), 3], [kpis('2024-06-01'), 2], [{ ...kpis('2024-06-03'), complete: false }, 3]));
    expect(await redis.hgetall(k.latest())).toEqual({ order_city_1h: String(W + 600_000), daily_kpi: '2024-06-02' });
    await sink.write(writes(k, [cityWindow(W + 12 * 300_000, 'replace', []), 4], [kpis('2024-06-10'), 4]));
    expect(await redis.hgetall(k.latest())).toEqual({ order_city_1h: String(W + 3_600_000), daily_kpi: '2024-06-10' });
    expect(await redis.ttl(k.latest())).toBe(-1);
  });

  it('watermarks move forward; blacklist members are added once; alerts are kept once, newest first, capped', async () => {
    const k = namespace();
    const alert = (time: number) => ({ kind: 'alert', alert: { time, kind: 'click_bot', subject: `user ${time}`, value: 101, threshold: 100, detail: '' } });
    const linesBefore = logged.lines.length;
    await sink.write(writes(k, [{ kind: 'watermark', job: 'ads', watermark: 500 }, 1], [{ kind: 'blacklist', user_id: 7 }, 2], [{ kind: 'blacklist', user_id: 7 }, 3], [alert(1), 4], [alert(2), 5], [alert(1), 6]));
    await sink.write(writes(k, [{ kind: 'watermark', job: 'ads', watermark: 400 }, 7], [{ kind: 'watermark', job: 'dwd', watermark: 9 }, 8], [alert(3), 9], [alert(4), 10], [alert(0), 11], [alert(2), 12]));
    expect(await redis.hgetall(k.watermark())).toEqual({ ads: '500', dwd: '9' });
    expect(await redis.smembers(k.blacklist())).toEqual(['7']);
    const times = (await redis.lrange(k.alerts(), 0, -1)).map((a) => (JSON.parse(a) as { time: number }).time);
    // cap 3: 1, 2, 3, 4 leave [4, 3, 2]; 0 is older than the oldest kept; 2 is there already.
    expect(times).toEqual([4, 3, 2]);
    // each alert added is logged once; a repeat, or one older than the list keeps, is not
    expect(logged.lines.slice(linesBefore).filter((l) => l.msg === 'alert').map((l) => (l.alert as { time: number }).time)).toEqual([1, 2, 3, 4]);
  });

  it('writes a window of 9,000 fields in one script call (HSET and HMGET in chunks, beyond the unpack limit of Lua)', async () => {
    const k = namespace();
    const entries = Array.from({ length: 9000 }, (_, i) => ({ ad_id: i + 1, clicks: i }));
    const record = { kind: 'ad_clicks_1h', window_start: W, window_end: W + H, op: 'replace', entries };
    expect(await sink.write(writes(k, [record, 1]))).toMatchObject({ written: 1, fields: 9000 });
    const hash = await redis.hgetall(k.adClicks1h(W));
    expect(Object.keys(hash)).toHaveLength(9000);
    expect(hash['9000']).toBe('8999');
    expect(await sink.write(writes(k, [{ ...record, op: 'upsert' }, 2]))).toMatchObject({ written: 1, fields: 9000 });
  });

  it('returns a write Redis refuses as rejected, having written none of it, and still writes the rest of the batch', async () => {
    const k = namespace();
    await redis.set(k.orderCity1h(W), 'not a hash');
    const outcome = await sink.write(writes(k, [cityWindow(W, 'upsert', cities(['四川省', '成都市', 1, '1.00'])), 1], [cityWindow(W + 300_000, 'replace', cities(['四川省', '绵阳市', 1, '2.00'])), 2]));
    expect(outcome.written).toBe(1);
    expect(outcome.rejected).toEqual([{ index: 0, reason: expect.stringMatching(/WRONGTYPE/) }]);
    expect(await redis.get(k.orderCity1h(W))).toBe('not a hash');
    // The failed script wrote nothing, its version neither: the field is written once the key is fixed.
    expect(await redis.exists(k.versions('order_city_1h', String(W)))).toBe(0);
    expect(await redis.hgetall(k.orderCity1h(W + 300_000))).toEqual({ '四川省|绵阳市': '{"orders":1,"amount":"2.00"}' });
    // A replace owns the whole key: it takes the key back whatever it held.
    await sink.write(writes(k, [cityWindow(W, 'replace', cities(['四川省', '成都市', 1, '1.00'])), 3]));
    expect(await redis.hgetall(k.orderCity1h(W))).toEqual({ '四川省|成都市': '{"orders":1,"amount":"1.00"}' });
  });

  it('with hash tags, writes the same contents under the tagged names', async () => {
    const k = namespace(true);
    await sink.write(writes(k, [cityWindow(W, 'replace', cities(['山东省', '青岛市', 3, '120.5'])), 1], [{ kind: 'blacklist', user_id: 3 }, 2]));
    const state = await namespaceState(redis, k.namespace);
    expect(state).toEqual({
      [`{${k.namespace}:order_city_1h:${W}}`]: { type: 'hash', value: { '山东省|青岛市': '{"orders":3,"amount":"120.50"}' } },
      [`{${k.namespace}}:blacklist`]: { type: 'set', value: ['3'] },
      [`{${k.namespace}}:latest`]: { type: 'hash', value: { order_city_1h: String(W) } },
      [`${k.namespace}:version:{${k.namespace}:order_city_1h:${W}}`]: { type: 'hash', value: { max: '1', replaced: '1' } },
    });
  });
});

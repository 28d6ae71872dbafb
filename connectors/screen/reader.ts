/**
 * Reads the screen's keys from Redis (README "Redis layout"), read-only, in three rounds: the
 * singletons (`latest`, `watermark`, `blacklist`, `alerts`), then the windows `latest` names and
 * today's hashes, then the trends of the latest hour's top ads. Each round's commands go out
 * together (auto-pipelining), so a read is three round trips whatever the number of keys.
 *
 * The rounds are not one transaction: a window landing between two rounds is seen at the next
 * poll. `latest` only moves to a window after its hash is written (the sink's order), so a round
 * never names a window that is not there yet.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { epochMsId, type HashKind, type RedisLayout } from '../../schemas/redis-keys.js';
import { ALERTS_SHOWN, TREND_ADS, latestWindows, rankAds, trendMinutes, type ScreenReads, type WindowHash } from './snapshot.js';

export type ScreenRedis = Redis | Cluster;

/** A read-only client that fails a read at once while Redis is away (the poller retries on its next tick). */
export function createScreenRedis(url: string, clusterNodes: Array<{ host: string; port: number }> | undefined): ScreenRedis {
  const common = { enableAutoPipelining: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectionName: 'rtdw-screen' } satisfies RedisOptions;
  const reconnect = (times: number): number => Math.min(5000, 100 * 2 ** Math.min(times, 6));
  if (clusterNodes === undefined) return new Redis(url, { ...common, retryStrategy: reconnect });
  const u = new URL(url);
  return new Cluster(clusterNodes, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnect,
    redisOptions: {
      ...common,
      ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
      ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}

/** Resolves once the client is connected, or after timeoutMs: the screen starts without Redis too, and says so. */
export function connected(redis: ScreenRedis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}

async function windowHash(redis: ScreenRedis, layout: RedisLayout, kind: HashKind, start: number | undefined): Promise<WindowHash | undefined> {
  return start === undefined ? undefined : { start, fields: await redis.hgetall(layout.hash(kind, epochMsId(start))) };
}

/** One read of everything the screen shows; `today` is the day (YYYY-MM-DD) in the screen's zone. */
export async function readScreen(redis: ScreenRedis, layout: RedisLayout, today: string): Promise<ScreenReads> {
  const [latest, watermarks, blacklistSize, alerts] = await Promise.all([
    redis.hgetall(layout.latest()),
    redis.hgetall(layout.watermark()),
    redis.scard(layout.blacklist()),
    redis.lrange(layout.alerts(), 0, ALERTS_SHOWN - 1),
  ]);
  // Problems in `latest` are reported by buildSnapshot, which parses it again.
  const windows = latestWindows(latest);
  const [orderCity, top3City, adClicks, hotAds, dailyKpi] = await Promise.all([
    windowHash(redis, layout, 'order_city_1h', windows.order_city_1h),
    windowHash(redis, layout, 'order_top3_city_1h', windows.order_top3_city_1h),
    windowHash(redis, layout, 'ad_clicks_1h', windows.ad_clicks_1h),
    redis.hgetall(layout.hotAdsDaily(today)),
    redis.hgetall(layout.dailyKpi(today)),
  ]);
  let trend: ScreenReads['trend'];
  const newestMinute = windows.ad_click_trend_1m;
  if (adClicks !== undefined && newestMinute !== undefined) {
    const minutes = trendMinutes(newestMinute);
    const fields = minutes.map(String);
    const top = rankAds(adClicks.fields).slice(0, TREND_ADS);
    const clicks = await Promise.all(top.map(({ adId }) => redis.hmget(layout.adClickTrend1m(adId), ...fields)));
    trend = { minutes, ads: top.map(({ adId }, i) => ({ adId, clicks: clicks[i]! })) };
  }
  return { latest, watermarks, blacklistSize, alerts, orderCity, top3City, adClicks, trend, today, hotAds, dailyKpi };
}

import { describe, expect, it } from 'vitest';
import { redisScreens } from './redis-screens.js';
import { warehouseJob } from './warehouse.js';

const options = { namespace: 'ns', timeZone: 'UTC', outOfOrdernessMs: 5000, idleTimeoutMs: 10_000, stateRetentionMs: 172_800_000, allowedLatenessMs: 60_000, blacklistClicks: 100, sourceDatabase: 'shop' };

describe('redisScreens', () => {
  const screens = redisScreens('ns', [warehouseJob(options)]);

  it('reads the screen records and the blacklist rows, turning a dim_blacklist row into a set member', () => {
    expect(screens.topics).toEqual(['ns.ads_redis', 'ns.dim_blacklist']);
    const blacklist = screens.recordOf.get('ns.dim_blacklist');
    expect(blacklist?.({ user_id: 42, ad_id: 3, day: '2026-01-01', blacklisted_at: '2026-01-01 15:59:01.000', _version: 2 })).toEqual({ kind: 'blacklist', user_id: 42 });
    expect(() => blacklist?.({ user_id: '42' })).toThrow(/numeric user_id/);
    expect(screens.recordOf.has('ns.ads_redis')).toBe(false);
  });

  it("moves a screen job's watermark once every task of its stage passed it on every partition", () => {
    // ads_order_city_1h.gather reads a 3-partition topic: tasks 0..2, each marking all 3 partitions of ads_redis.
    const tasks = [0, 1, 2].map((t) => `ns.ads_order_city_1h.gather/${t}`);
    const moves: unknown[] = [];
    for (const partition of [0, 1, 2]) {
      for (const producer of tasks) moves.push(...screens.progress.onMarker('ns.ads_redis', partition, producer, 1000 + partition));
    }
    expect(moves).toEqual([{ job: 'ads_order_city_1h', watermark: 1000 }]);
    // Another screen's markers do not move it; a producer no stage has is ignored.
    expect(screens.progress.onMarker('ns.ads_redis', 0, 'ns.ads_ad_clicks_1h.gather/0', 5000)).toEqual([]);
    expect(screens.progress.onMarker('ns.ads_redis', 0, 'ns.gone/0', 5000)).toEqual([]);
    for (const producer of tasks) moves.push(...screens.progress.onMarker('ns.ads_redis', 0, producer, 2000));
    expect(moves.at(-1)).toEqual({ job: 'ads_order_city_1h', watermark: 1001 });
  });

  it('names the blacklist job after its table, as pipeline_progress does', () => {
    const tasks = [0, 1, 2].map((t) => `ns.dwd_ad_event.blacklist/${t}`);
    const moves = [0, 1, 2].flatMap((partition) => tasks.flatMap((producer) => screens.progress.onMarker('ns.dim_blacklist', partition, producer, 7000)));
    expect(moves).toEqual([{ job: 'dim_blacklist', watermark: 7000 }]);
  });
});

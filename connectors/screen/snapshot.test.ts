/**
 * The screen model from Redis texts, without Redis or a browser. Stored texts are written out as
 * the README's "Redis layout" shows them; expected figures are worked out by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { buildSnapshot, compareCodePoints, latestWindows, rankAds, sameFigures, trendMinutes, type ScreenReads } from './snapshot.js';

const W = 1717200000000; // 2024-06-01T00:00:00Z, on the 5-minute grid
const H = 3_600_000;
const M = 60_000;
const context = { namespace: 'shop', timezone: 'Asia/Shanghai', readAt: W + H + 5000, lag: { state: 'off' } as const };

function reads(overrides: Partial<ScreenReads> = {}): ScreenReads {
  return {
    latest: {},
    watermarks: {},
    blacklistSize: 0,
    alerts: [],
    orderCity: undefined,
    top3City: undefined,
    adClicks: undefined,
    trend: undefined,
    today: '2024-06-01',
    hotAds: {},
    dailyKpi: {},
    ...overrides,
  };
}

describe('screen snapshot', () => {
  it('sums each province over its cities, ranks provinces by amount, orders, name, and keeps their top 3', () => {
    const s = buildSnapshot(
      reads({
        latest: { order_city_1h: String(W), order_top3_city_1h: String(W) },
        orderCity: {
          start: W,
          fields: {
            '山东省|青岛市': '{"orders":3,"amount":"120.50"}',
            '山东省|济南市': '{"orders":1,"amount":"9.90"}',
            '浙江省|杭州市': '{"orders":5,"amount":"200.00"}',
            // 江苏省 and 广东省 tie with 山东省 on amount (130.40); 江苏省 has more orders, 广东省 and 山东省 tie on both
            '江苏省|南京市': '{"orders":7,"amount":"130.40"}',
            '广东省|广州市': '{"orders":4,"amount":"100.00"}',
            '广东省|深圳市': '{"orders":0,"amount":"30.40"}',
          },
        },
        top3City: {
          start: W,
          fields: {
            山东省: '[{"rank":1,"city":"青岛市","orders":3,"amount":"120.50"},{"rank":2,"city":"济南市","orders":1,"amount":"9.90"}]',
            浙江省: '[{"rank":1,"city":"杭州市","orders":5,"amount":"200.00"}]',
          },
        },
      }),
      context,
    );
    expect(s.problems).toEqual([]);
    expect(s.orders).toMatchObject({ start: W, end: W + H, top3Start: W, totals: { orders: 20, amount: '591.20', cities: 6 } });
    // 200.00 first; of the three at 130.40, 江苏省 has 7 orders; 山东省 and 广东省 tie at 4: 山 (U+5C71) before 广 (U+5E7F).
    expect(s.orders!.provinces.map((p) => [p.province, p.orders, p.amount, p.cities])).toEqual([
      ['浙江省', 5, '200.00', 1],
      ['江苏省', 7, '130.40', 1],
      ['山东省', 4, '130.40', 2],
      ['广东省', 4, '130.40', 2],
    ]);
    expect(s.orders!.provinces[2]!.top3).toEqual([
      { rank: 1, city: '青岛市', orders: 3, amount: '120.50' },
      { rank: 2, city: '济南市', orders: 1, amount: '9.90' },
    ]);
    expect(s.orders!.provinces[1]!.top3).toEqual([]);
    expect(s.windows).toEqual([
      { kind: 'order_city_1h', start: W, end: W + H },
      { kind: 'order_top3_city_1h', start: W, end: W + H },
    ]);
  });

  it('ranks ads by clicks, ties by id as a number, and fills minutes without a field with 0', () => {
    const minutes = trendMinutes(W + H - M);
    expect(minutes).toHaveLength(60);
    expect([minutes[0], minutes[59]]).toEqual([W, W + H - M]);
    const clicks10 = minutes.map((m) => (m === W ? '4' : m === W + 30 * M ? '6' : null));
    const s = buildSnapshot(
      reads({
        latest: { ad_clicks_1h: String(W), ad_click_trend_1m: String(W + H - M) },
        adClicks: { start: W, fields: { '10': '12', '9': '12', '100': '40', '3': '0' } },
        trend: { minutes, ads: [{ adId: 100, clicks: minutes.map(() => null) }, { adId: 9, clicks: minutes.map(() => '1') }, { adId: 10, clicks: clicks10 }] },
      }),
      context,
    );
    expect(s.ads).toEqual({ start: W, end: W + H, totalClicks: 64, ads: [{ adId: 100, clicks: 40 }, { adId: 9, clicks: 12 }, { adId: 10, clicks: 12 }, { adId: 3, clicks: 0 }] });
    expect(s.trend!.series.map((x) => x.adId)).toEqual([100, 9, 10]);
    expect(s.trend!.series[0]!.clicks.every((c) => c === 0)).toBe(true);
    expect(s.trend!.series[1]!.clicks.reduce((a, b) => a + b, 0)).toBe(60);
    expect(s.trend!.series[2]!.clicks.filter((c) => c > 0)).toEqual([4, 6]);
    expect(s.trend!.series[2]!.clicks[30]).toBe(6);
    // The newest window is the trend minute: it ends one minute after it starts.
    expect(s.freshness.newestWindowEnd).toBe(W + H);
  });

  it("reads today's KPIs and hot ads, the alerts newest first, the blacklist size and the watermarks", () => {
    const s = buildSnapshot(
      reads({
        dailyKpi: { pv: '1200', uv: '300', ip: '250', vv: '400', dau: '280', orders: '42', gmv: '10234.50', paid_gmv: '9000.00' },
        hotAds: { 浙江省: '[{"rank":1,"ad_id":3,"clicks":90},{"rank":2,"ad_id":8,"clicks":41}]', 山东省: '[{"rank":1,"ad_id":5,"clicks":120}]', 江苏省: '[{"rank":1,"ad_id":2,"clicks":90}]' },
        alerts: [
          '{"time":1717200123000,"kind":"click_bot","subject":"user 1042","value":101,"threshold":100,"detail":"ad 3"}',
          '{"time":1717200000000,"kind":"order_brushing","subject":"user 7","value":12,"threshold":9.5,"detail":"10 min"}',
        ],
        blacklistSize: 17,
        watermarks: { ads_orders: String(W + H), ads_clicks: String(W + H - 2000) },
      }),
      context,
    );
    expect(s.problems).toEqual([]);
    expect(s.today.kpi).toEqual({ pv: '1200', uv: '300', ip: '250', vv: '400', dau: '280', orders: '42', gmv: '10234.50', paid_gmv: '9000.00' });
    // 120 clicks first; 浙江省 and 江苏省 tie on 90: 江 U+6C5F before 浙 U+6D59
    expect(s.today.hotAds.map((h) => h.province)).toEqual(['山东省', '江苏省', '浙江省']);
    expect(s.today.hotAds[2]!.ranking).toEqual([
      { rank: 1, ad_id: 3, clicks: 90 },
      { rank: 2, ad_id: 8, clicks: 41 },
    ]);
    expect(s.alerts.map((a) => a.subject)).toEqual(['user 1042', 'user 7']);
    expect(s.blacklistSize).toBe(17);
    expect(s.watermarks).toEqual([
      { job: 'ads_clicks', watermark: W + H - 2000 },
      { job: 'ads_orders', watermark: W + H },
    ]);
    expect(s.freshness).toEqual({ newestWindowEnd: null, newestWatermark: W + H });
    expect(s.orders).toBeNull();
    expect(s.ads).toBeNull();
    expect(s.trend).toBeNull();
  });

  it('leaves out what does not parse, names each problem, and shows the rest', () => {
    const s = buildSnapshot(
      reads({
        latest: { order_city_1h: String(W + 1), ad_clicks_1h: String(W), order_top3_city_1h: String(W) },
        top3City: { start: W, fields: { 山东省: '[{"rank":2,"city":"青岛市","orders":3,"amount":"1.00"}]', 浙江省: '[{"rank":1,"city":"杭州市","orders":5,"amount":"200.00"}]' } },
        adClicks: { start: W, fields: { '7': 'many', x: '3', '8': '2' } },
        alerts: ['{"time":1', '{"time":1717200000000,"kind":"click_bot","subject":"user 1","value":101,"threshold":100,"detail":""}'],
        watermarks: { ads: 'soon' },
        dailyKpi: { pv: '-1', gmv: '12.345', orders: '3' },
        hotAds: { 浙江省: '[]' },
      }),
      context,
    );
    expect(s.problems).toHaveLength(9);
    for (const named of ['latest.order_city_1h', 'order_top3_city_1h:1717200000000 山东省', 'ad_clicks_1h:1717200000000 ad 7', 'field "x"', 'alerts[0]', 'watermark.ads', 'daily_kpi:2024-06-01 pv', 'daily_kpi:2024-06-01 gmv', 'hot_ads_daily:2024-06-01 浙江省']) {
      expect(s.problems.some((p) => p.includes(named)), named).toBe(true);
    }
    // The province with a readable ranking but no city figures (order_city_1h's window is unreadable) is still listed, without figures.
    expect(s.orders!.provinces).toEqual([{ province: '浙江省', orders: null, amount: null, cities: 0, top3: [{ rank: 1, city: '杭州市', orders: 5, amount: '200.00' }] }]);
    expect(s.ads!.ads).toEqual([{ adId: 8, clicks: 2 }]);
    expect(s.alerts).toHaveLength(1);
    expect(s.today.kpi).toEqual({ pv: null, uv: null, ip: null, vv: null, dau: null, orders: '3', gmv: null, paid_gmv: null });
    expect(s.today.hotAds).toEqual([]);
  });

  it('checks the windows latest names against their grids', () => {
    const problems: string[] = [];
    expect(latestWindows({ order_city_1h: String(W + 300_000), ad_click_trend_1m: String(W + 60_000), ad_clicks_1h: String(W + 60_000), daily_kpi: '2024-06-01' }, problems)).toEqual({
      order_city_1h: W + 300_000,
      ad_click_trend_1m: W + 60_000,
    });
    expect(problems).toEqual([expect.stringContaining('latest.ad_clicks_1h: not a window start on the 5-minute grid')]);
    expect(rankAds({ '0': '1', '01': '1', '2': '1' })).toEqual([{ adId: 2, clicks: 1 }]);
  });

  it('orders strings by code point, beyond the BMP too', () => {
    // U+20000 is above U+FFFF, though its first UTF-16 unit (0xD840) is below 0xFFFF.
    expect(compareCodePoints('\u{20000}', '\uffff')).toBeGreaterThan(0);
    expect(compareCodePoints('山东省', '广东省')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
  });

  it('two reads with the same figures are the same snapshot, whatever their time', () => {
    const r = reads({ blacklistSize: 3 });
    const a = buildSnapshot(r, context);
    expect(sameFigures(a, buildSnapshot(r, { ...context, readAt: context.readAt + 1000 }))).toBe(true);
    expect(sameFigures(a, buildSnapshot({ ...r, blacklistSize: 4 }, context))).toBe(false);
    expect(sameFigures(a, buildSnapshot(r, { ...context, lag: { state: 'error', message: 'down' } }))).toBe(false);
  });
});

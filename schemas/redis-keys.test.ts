import { describe, expect, it } from 'vitest';
import { alertElement, dayId, hotAdsValue, orderCityField, orderCityValue, redisLayout, top3CityValue } from './redis-keys.js';

describe('Redis key layout', () => {
  it('names every key as issue 11 lists it', () => {
    const k = redisLayout({ namespace: 'rtdw', hashTags: false });
    expect(k.orderCity1h(1717200000000)).toBe('rtdw:order_city_1h:1717200000000');
    expect(k.orderTop3City1h(1717200000000)).toBe('rtdw:order_top3_city_1h:1717200000000');
    expect(k.adClicks1h(1717200000000)).toBe('rtdw:ad_clicks_1h:1717200000000');
    expect(k.adClickTrend1m(42)).toBe('rtdw:ad_click_trend_1m:42');
    expect(k.hotAdsDaily('2024-06-01')).toBe('rtdw:hot_ads_daily:2024-06-01');
    expect(k.dailyKpi('2024-06-01')).toBe('rtdw:daily_kpi:2024-06-01');
    expect(k.latest()).toBe('rtdw:latest');
    expect(k.watermark()).toBe('rtdw:watermark');
    expect(k.blacklist()).toBe('rtdw:blacklist');
    expect(k.alerts()).toBe('rtdw:alerts');
    expect(k.versions('order_city_1h', '1717200000000')).toBe('rtdw:version:order_city_1h:1717200000000');
  });

  it('with hash tags, a key and its version key share a tag, and the singletons share {<ns>}', () => {
    const k = redisLayout({ namespace: 'shop1', hashTags: true });
    expect(k.orderCity1h(1717200000000)).toBe('{shop1:order_city_1h:1717200000000}');
    expect(k.versions('order_city_1h', '1717200000000')).toBe('shop1:version:{shop1:order_city_1h:1717200000000}');
    expect(k.adClickTrend1m(7)).toBe('{shop1:ad_click_trend_1m:7}');
    expect(k.dailyKpi('2024-06-01')).toBe('{shop1:daily_kpi:2024-06-01}');
    expect([k.latest(), k.watermark(), k.blacklist(), k.alerts()]).toEqual(['{shop1}:latest', '{shop1}:watermark', '{shop1}:blacklist', '{shop1}:alerts']);
  });

  it('refuses namespaces, ids and days that would make another key', () => {
    expect(() => redisLayout({ namespace: 'a:b', hashTags: false })).toThrow(/namespace/);
    expect(() => redisLayout({ namespace: '', hashTags: false })).toThrow(/namespace/);
    const k = redisLayout({ namespace: 'rtdw', hashTags: false });
    expect(() => k.orderCity1h(1.5)).toThrow(/epoch ms/);
    expect(() => k.adClickTrend1m(-1)).toThrow(/ad_id/);
    expect(() => dayId('2024-02-30')).toThrow(/YYYY-MM-DD/);
    expect(() => dayId('2024-6-1')).toThrow(/YYYY-MM-DD/);
    expect(dayId('2024-02-29')).toBe('2024-02-29');
  });

  it('formats fields and values as the screens read them', () => {
    expect(orderCityField('山东省', '青岛市')).toBe('山东省|青岛市');
    expect(orderCityValue(3, '120.50')).toBe('{"orders":3,"amount":"120.50"}');
    expect(top3CityValue([{ rank: 1, city: '青岛市', orders: 3, amount: '120.50' }, { rank: 2, city: '济南市', orders: 1, amount: '9.90' }])).toBe(
      '[{"rank":1,"city":"青岛市","orders":3,"amount":"120.50"},{"rank":2,"city":"济南市","orders":1,"amount":"9.90"}]',
    );
    expect(hotAdsValue([{ rank: 1, ad_id: 9, clicks: 30 }])).toBe('[{"rank":1,"ad_id":9,"clicks":30}]');
    expect(alertElement({ detail: 'd', threshold: 4.5, value: 9, subject: 'user 7', kind: 'order_brushing', time: 1 })).toBe(
      '{"time":1,"kind":"order_brushing","subject":"user 7","value":9,"threshold":4.5,"detail":"d"}',
    );
  });
});

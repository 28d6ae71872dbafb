import { describe, expect, it } from 'vitest';
import { redisLayout } from '../../schemas/redis-keys.js';
import { encodeScreenRecord } from './encoder.js';
import { parseScreenRecord, RecordError } from './records.js';

const layout = redisLayout({ namespace: 'rtdw', hashTags: false });
const W = 1717200000000; // 2024-06-01T00:00:00Z, on the 5-minute grid
const H = 3_600_000;
const encode = (record: unknown, version = 7) => encodeScreenRecord(parseScreenRecord(record), version, layout);

describe('screen records → Redis writes', () => {
  it('replaces a 1 h window with its fields, amounts at two places, and moves latest', () => {
    const writes = encode({
      kind: 'order_city_1h',
      window_start: W,
      window_end: W + H,
      op: 'replace',
      entries: [
        { province: '山东省', city: '青岛市', orders: 3, amount: '120.5' },
        { province: '山东省', city: '济南市', orders: 1, amount: '9.900' },
      ],
    });
    expect(writes).toEqual([
      {
        type: 'hash',
        kind: 'order_city_1h',
        key: 'rtdw:order_city_1h:1717200000000',
        versionKey: 'rtdw:version:order_city_1h:1717200000000',
        op: 'replace',
        args: ['山东省|青岛市', '{"orders":3,"amount":"120.50"}', '山东省|济南市', '{"orders":1,"amount":"9.90"}'],
        version: 7,
      },
      { type: 'advance', key: 'rtdw:latest', field: 'order_city_1h', value: '1717200000000', order: 'number' },
    ]);
  });

  it('encodes each kind in its documented format', () => {
    const top3 = encode({
      kind: 'order_top3_city_1h', window_start: W, window_end: W + H, op: 'upsert',
      entries: [{ province: '山东省', ranking: [{ rank: 1, city: '青岛市', orders: 3, amount: '120.50' }, { rank: 2, city: '济南市', orders: 1, amount: '9.9' }] }],
    });
    expect(top3[0]).toMatchObject({ key: 'rtdw:order_top3_city_1h:1717200000000', op: 'upsert', args: ['山东省', '[{"rank":1,"city":"青岛市","orders":3,"amount":"120.50"},{"rank":2,"city":"济南市","orders":1,"amount":"9.90"}]'] });
    expect(encode({ kind: 'ad_clicks_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ ad_id: 12, clicks: 40 }] })[0]).toMatchObject({ key: 'rtdw:ad_clicks_1h:1717200000000', args: ['12', '40'] });
    expect(encode({ kind: 'hot_ads_daily', day: '2024-06-01', op: 'upsert', entries: [{ province: '浙江省', ranking: [{ rank: 1, ad_id: 3, clicks: 9 }] }] })).toEqual([
      expect.objectContaining({ key: 'rtdw:hot_ads_daily:2024-06-01', args: ['浙江省', '[{"rank":1,"ad_id":3,"clicks":9}]'] }),
      { type: 'advance', key: 'rtdw:latest', field: 'hot_ads_daily', value: '2024-06-01', order: 'text' },
    ]);
    const kpis = [['pv', 10], ['uv', 4], ['ip', 3], ['vv', 5], ['dau', 6], ['orders', 2], ['gmv', '30.1'], ['paid_gmv', '0']] as const;
    expect(encode({ kind: 'daily_kpi', day: '2024-06-01', op: 'replace', entries: kpis.map(([kpi, value]) => ({ kpi, value })) })[0]).toMatchObject({
      key: 'rtdw:daily_kpi:2024-06-01',
      args: ['pv', '10', 'uv', '4', 'ip', '3', 'vv', '5', 'dau', '6', 'orders', '2', 'gmv', '30.10', 'paid_gmv', '0.00'],
    });
  });

  it('upserts trend minutes; latest follows the newest minute of the record', () => {
    const writes = encode({ kind: 'ad_click_trend_1m', ad_id: 5, op: 'upsert', entries: [{ minute_start: W + 120_000, clicks: 2 }, { minute_start: W + 60_000, clicks: 1 }] });
    expect(writes).toEqual([
      expect.objectContaining({ key: 'rtdw:ad_click_trend_1m:5', versionKey: 'rtdw:version:ad_click_trend_1m:5', op: 'upsert', args: ['1717200120000', '2', '1717200060000', '1'] }),
      { type: 'advance', key: 'rtdw:latest', field: 'ad_click_trend_1m', value: '1717200120000', order: 'number' },
    ]);
  });

  it('removes fields by identity and leaves latest alone, as it does for incomplete windows', () => {
    expect(encode({ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'remove', entries: [{ province: '山东省', city: '青岛市' }] })).toEqual([
      expect.objectContaining({ op: 'remove', args: ['山东省|青岛市'] }),
    ]);
    expect(encode({ kind: 'daily_kpi', day: '2024-06-01', op: 'upsert', complete: false, entries: [{ kpi: 'pv', value: 1 }] })).toHaveLength(1);
  });

  it('writes blacklist members, watermarks and alerts', () => {
    expect(encode({ kind: 'blacklist', user_id: 77 })).toEqual([{ type: 'set-add', key: 'rtdw:blacklist', member: '77' }]);
    expect(encode({ kind: 'watermark', job: 'ads_orders', watermark: W })).toEqual([{ type: 'advance', key: 'rtdw:watermark', field: 'ads_orders', value: String(W), order: 'number' }]);
    expect(encode({ kind: 'alert', alert: { time: W, kind: 'click_bot', subject: 'user 77', value: 101, threshold: 100, detail: 'ad 3' } })).toEqual([
      { type: 'alert', key: 'rtdw:alerts', time: W, element: '{"time":1717200000000,"kind":"click_bot","subject":"user 77","value":101,"threshold":100,"detail":"ad 3"}' },
    ]);
  });

  it('refuses bad records with a reason naming the problem', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ kind: 'order_city_2h' }, /unknown record kind "order_city_2h"/],
      [null, /unknown record kind/],
      [{ kind: 'order_city_1h', window_start: W + 1000, window_end: W + 1000 + H, op: 'replace', entries: [] }, /aligned to the 5-minute slide/],
      [{ kind: 'order_city_1h', window_start: W, window_end: W + 300_000, op: 'replace', entries: [] }, /window_end must be window_start \+ 1 h/],
      [{ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ province: '山东省', city: '青岛市', orders: 1, amount: 1.1 }] }, /amount/],
      [{ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ province: '山|东', city: '青岛市', orders: 1, amount: '1' }] }, /must not contain "\|"/],
      [{ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ province: 'p', city: 'c', orders: -1, amount: '1' }] }, /orders/],
      [{ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [] }, /entries/],
      [{ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'merge', entries: [] }, /op/],
      [{ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ province: 'p', city: 'c', orders: 1, amount: '1', extra: 1 }] }, /extra/],
      [{ kind: 'order_top3_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ province: 'p', ranking: [{ rank: 1, city: 'a', orders: 1, amount: '1' }, { rank: 3, city: 'b', orders: 1, amount: '1' }] }] }, /ranks must be 1..n/],
      [{ kind: 'hot_ads_daily', day: '2024-06-31', op: 'upsert', entries: [{ province: 'p', ranking: [{ rank: 1, ad_id: 1, clicks: 1 }] }] }, /calendar day/],
      [{ kind: 'daily_kpi', day: '2024-06-01', op: 'upsert', entries: [{ kpi: 'gmv', value: 12 }] }, /gmv and paid_gmv are decimal strings/],
      [{ kind: 'daily_kpi', day: '2024-06-01', op: 'replace', entries: [{ kpi: 'pv', value: 12 }] }, /missing uv, ip, vv, dau, orders, gmv, paid_gmv/],
      [{ kind: 'ad_click_trend_1m', ad_id: 1, op: 'upsert', entries: [{ minute_start: W + 1, clicks: 1 }] }, /whole minute/],
      [{ kind: 'blacklist', user_id: '7' }, /user_id/],
    ];
    for (const [record, reason] of bad) {
      const run = () => encode(record);
      expect(run, JSON.stringify(record)).toThrow(RecordError);
      expect(run, JSON.stringify(record)).toThrow(reason);
    }
  });

  it('refuses amounts that would need rounding and fields named twice', () => {
    expect(() => encode({ kind: 'order_city_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ province: 'p', city: 'c', orders: 1, amount: '1.005' }] })).toThrow(/more than 2 fractional digits/);
    expect(() =>
      encode({ kind: 'ad_clicks_1h', window_start: W, window_end: W + H, op: 'replace', entries: [{ ad_id: 1, clicks: 1 }, { ad_id: 1, clicks: 2 }] }),
    ).toThrow(/field "1" appears twice/);
  });

  it('names keys with hash tags when asked', () => {
    const tagged = redisLayout({ namespace: 'rtdw', hashTags: true });
    const writes = encodeScreenRecord(parseScreenRecord({ kind: 'ad_clicks_1h', window_start: W, window_end: W + H, op: 'upsert', entries: [{ ad_id: 1, clicks: 1 }] }), 1, tagged);
    expect(writes.map((w) => w.key)).toEqual(['{rtdw:ad_clicks_1h:1717200000000}', '{rtdw}:latest']);
    expect(writes[0]).toMatchObject({ versionKey: 'rtdw:version:{rtdw:ad_clicks_1h:1717200000000}' });
  });
});

import { describe, expect, it } from 'vitest';
import type { SinkRecord } from '../connectors/clickhouse/sink.js';
import { warehouseSink } from './warehouse-sink.js';

const record = (topic: string, value: string | null): SinkRecord => ({ topic, partition: 0, offset: '4', key: null, value: value === null ? null : Buffer.from(value), headers: {} });

describe('warehouseSink', () => {
  const spec = warehouseSink('ns');

  it('reads <ns>.<table> for each table the sink holds, in its own group', () => {
    const tables = ['dwd_order_wide', 'dwd_ad_event', 'dim_blacklist', 'pipeline_progress', 'ads_order_city_1h', 'ads_order_top3_city_1h', 'ads_order_payment_5m', 'ads_ad_clicks_1h', 'ads_ad_click_trend_1m', 'ads_hot_ads_daily', 'ads_ad_ctr_5m', 'ads_channel_daily', 'ads_daily_kpi', 'alerts'];
    expect(spec.topics).toEqual(tables.map((t) => `ns.${t}`));
    expect(spec.tables).toEqual(tables);
    expect(spec).toMatchObject({ groupId: 'ns-clickhouse-sink', deadLetterTopic: 'ns.dead_letter' });
  });

  it('turns a JSON object into a row of the table named by its topic', () => {
    expect(spec.transform(record('ns.dim_blacklist', '{"user_id":1,"ad_id":2}'))).toEqual({ rows: [{ table: 'dim_blacklist', row: { user_id: 1, ad_id: 2 } }] });
  });

  it('dead-letters what is not a JSON object, skips tombstones', () => {
    expect(spec.transform(record('ns.dim_blacklist', '[1]'))).toEqual({ deadLetter: 'a row of dim_blacklist must be a JSON object of its columns' });
    expect(spec.transform(record('ns.dim_blacklist', '{'))).toMatchObject({ deadLetter: expect.stringMatching(/^malformed JSON/) });
    expect(spec.transform(record('ns.other', '{}'))).toEqual({ deadLetter: 'no table for topic ns.other' });
    expect(spec.transform(record('ns.dwd_ad_event', null))).toEqual({ skip: 'tombstone' });
  });
});

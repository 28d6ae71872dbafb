/**
 * The DWD tables of the migrations, fed through the warehouse sink the way the DWD jobs write them
 * (JSON objects of the columns, epoch-ms times, decimals as text, nulls): FINAL holds the latest
 * version of each key, deletes are gone, and what does not fit a column is dead-lettered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { createClickHouse, quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { migrate } from '../../connectors/clickhouse/migrations.js';
import { ClickHouseSink, type DeadLetter } from '../../connectors/clickhouse/sink.js';
import { warehouseSink } from '../../jobs/warehouse-sink.js';
import { SINK_TABLE_TOPICS } from '../../schemas/topics.js';
import { config, uniqueName } from '../support/stack.js';
import { caughtUp, clickhouse, createTopic, deleteTopics, dropDatabase, produce, query, readTopic, waitFor } from './support.js';

const ns = uniqueName('dwd');
const now = Date.now() - (Date.now() % 1000);
const at = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

describe('warehouse sink into the DWD tables', () => {
  let client: ClickHouseClient;
  const topics = [...SINK_TABLE_TOPICS.map((t) => `${ns}.${t}`), `${ns}.dead_letter`];

  beforeAll(async () => {
    client = clickhouse();
    await migrate(client, ns);
    for (const topic of topics) await createTopic(topic, 1);
  });

  afterAll(async () => {
    await dropDatabase(client, ns);
    await client.close();
    await deleteTopics(topics);
  });

  it('keeps the latest version per key and drops deleted orders', async () => {
    const order = (id: number, version: number, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ order_id: id, user_id: 7, province: '浙江', city: '杭州', amount: '120.50', status: 'created', created_at: now - 60_000, first_paid_at: null, paid_amount: null, _version: version, _is_deleted: 0, ...extra });
    await produce(`${ns}.dwd_order_wide`, [
      { partition: 0, value: order(1, 1) },
      { partition: 0, value: order(1, 3, { status: 'paid', first_paid_at: now - 30_000, paid_amount: '120.50' }) },
      { partition: 0, value: order(1, 2, { status: 'cancelled' }) },
      { partition: 0, value: order(2, 1) },
      { partition: 0, value: order(2, 2, { _is_deleted: 1 }) },
      { partition: 0, value: order(3, 1, { amount: '0.001' }) },
    ]);
    const event = (id: string, version: number, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ event_id: id, type: 'ad_click', ts: now - 5000, user_id: 42, ad_id: 9, province: '浙江', city: '杭州', channel: 'feed', device_id: 'd', session_id: 's', ip: '10.0.0.1', counted: 1, _version: version, ...extra });
    await produce(`${ns}.dwd_ad_event`, [
      { partition: 0, value: event('e1', 1) },
      { partition: 0, value: event('e1', 2, { counted: 0 }) },
      { partition: 0, value: event('e2', 1, { type: 'page_view', user_id: null, ad_id: null }) },
    ]);
    await produce(`${ns}.dim_blacklist`, [{ partition: 0, value: JSON.stringify({ user_id: 42, ad_id: 9, day: at(now).slice(0, 10), blacklisted_at: now - 5000, _version: 1 }) }]);
    await produce(`${ns}.pipeline_progress`, [
      { partition: 0, value: JSON.stringify({ job: 'dwd-orders', watermark: now - 10_000, updated_at: now - 1000 }) },
      { partition: 0, value: JSON.stringify({ job: 'dwd-orders', watermark: now - 5000, updated_at: now }) },
    ]);

    const spec = warehouseSink(ns);
    const sink = new ClickHouseSink(createKafka(config, 'dwd-test', createLogger('dwd-test', 'warn')), createClickHouse(config.clickhouse), { database: ns, batchRows: 1000, flushMs: 100, maxRetryDelayMs: 500 }, spec, createLogger('dwd-test', 'warn'));
    await sink.start();
    try {
      await waitFor('every topic to be committed', async () => ((await Promise.all(spec.topics.map((t) => caughtUp(spec.groupId, t)))).every(Boolean) ? true : undefined));
    } finally {
      await sink.stop();
    }

    const db = quoteIdentifier(ns);
    expect(await query(client, `SELECT order_id, status, toDecimalString(amount, 2) AS amount, toString(first_paid_at) AS paid, toDecimalString(paid_amount, 2) AS paid_amount FROM ${db}.dwd_order_wide FINAL WHERE _is_deleted = 0 ORDER BY order_id`)).toEqual([
      { order_id: '1', status: 'paid', amount: '120.50', paid: at(now - 30_000), paid_amount: '120.50' },
    ]);
    expect(await query(client, `SELECT event_id, type, user_id, ad_id, counted FROM ${db}.dwd_ad_event FINAL ORDER BY event_id`)).toEqual([
      { event_id: 'e1', type: 'ad_click', user_id: '42', ad_id: '9', counted: 0 },
      { event_id: 'e2', type: 'page_view', user_id: null, ad_id: null, counted: 1 },
    ]);
    expect(await query(client, `SELECT user_id, ad_id, toString(day) AS day, toString(blacklisted_at) AS at FROM ${db}.dim_blacklist FINAL`)).toEqual([{ user_id: '42', ad_id: '9', day: at(now).slice(0, 10), at: at(now - 5000) }]);
    expect(await query(client, `SELECT job, toString(watermark) AS watermark FROM ${db}.pipeline_progress FINAL`)).toEqual([{ job: 'dwd-orders', watermark: at(now - 5000) }]);

    const letters = (await readTopic(`${ns}.dead_letter`)).map((r) => JSON.parse(String(r.value)) as DeadLetter);
    expect(letters.map((l) => l.reason)).toEqual(['dwd_order_wide.amount: 0.001 has more than 2 decimal places']);
  });
});

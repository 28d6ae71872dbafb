/**
 * The warehouse job's stages in memory over the fixed scenario of test/warehouse/ads-scenario.ts: every
 * ADS table, folded as ClickHouse FINAL folds it (the highest _version per key, deleted keys dropped),
 * and every screen hash, folded as the Redis sink applies the records, equal the model's SQL over the
 * final source rows and the deduplicated events.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeValue, parseColumnType } from '../../connectors/clickhouse/encoder.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { InMemoryJob } from '../../test/support/in-memory-job.js';
import { expected } from '../../test/warehouse/ads-model.js';
import { PARTITIONS, scenario, warehouseOptions } from '../../test/warehouse/ads-scenario.js';
import { adEventJob } from '../dwd/ad-event.js';
import { warehouseJob } from '../warehouse.js';
import { adsTopics } from './context.js';
import { TABLE_KEYS, foldScreens, foldTable } from '../../test/warehouse/ads-fold.js';

const namespace = 'wh';
const topics = adsTopics(namespace);
const options = warehouseOptions(namespace);

/** The columns of each ADS table, from its migration: name and type text. */
function migrationColumns(): Map<string, Array<[name: string, type: string]>> {
  const sql = readFileSync(new URL('../../schemas/clickhouse/0004_ads.sql', import.meta.url), 'utf8');
  const tables = new Map<string, Array<[string, string]>>();
  for (const m of sql.matchAll(/CREATE TABLE IF NOT EXISTS \{\{database\}\}\.(\w+)\s*\(([\s\S]*?)\)\s*ENGINE/g)) {
    const columns = (m[2] as string).split(',\n').map((line) => line.trim().split(/\s+/)).map(([name, ...type]) => [name, type.join(' ')] as [string, string]);
    tables.set(m[1] as string, columns);
  }
  return tables;
}

const sortRows = (rows: readonly Record<string, unknown>[]): string[] => rows.map((r) => JSON.stringify(r)).sort();

describe('warehouse job in memory', () => {
  const s = scenario();
  const want = expected(s);
  const job = new InMemoryJob(warehouseJob(options), { [topics.odsBinlog]: PARTITIONS, [topics.odsEvents]: PARTITIONS });
  for (const input of s.inputs) job.send(input.topic === 'binlog' ? topics.odsBinlog : topics.odsEvents, input.record.partition, input.record.key, input.record.value);

  for (const table of Object.keys(TABLE_KEYS) as Array<keyof typeof TABLE_KEYS>) {
    it(`${table} equals SQL over the source rows and events`, () => {
      const rows = want.tables[table];
      if (rows === undefined) return;
      expect(rows.length).toBeGreaterThan(0);
      expect(sortRows(foldTable(job.values(topics.tables[table]) as Array<Record<string, unknown>>, TABLE_KEYS[table]))).toEqual(sortRows(rows));
    });
  }

  it('every table row has exactly its table\'s columns, each value fitting its type', () => {
    const columns = migrationColumns();
    expect([...columns.keys()].sort()).toEqual(Object.keys(TABLE_KEYS).sort());
    for (const [table, cols] of columns) {
      const rows = job.values(topics.tables[table as keyof typeof TABLE_KEYS]) as Array<Record<string, unknown>>;
      expect(rows.length, table).toBeGreaterThan(0);
      for (const row of rows) {
        expect(Object.keys(row), table).toEqual(cols.map(([name]) => name));
        for (const [name, type] of cols) {
          // the sink's encoder has no DateTime (seconds) yet: its text is checked here
          if (type === "DateTime('UTC')") expect(row[name], `${table}.${name}`).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
          else expect(() => encodeValue(parseColumnType(type), row[name]), `${table}.${name} = ${JSON.stringify(row[name])}`).not.toThrow();
        }
      }
    }
  });

  it('every screen record is one the Redis sink accepts, keyed by the Redis key it writes', () => {
    const records = job.outputs.filter((o) => o.topic === topics.redis);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) {
      const record = parseScreenRecord(JSON.parse(r.value as string));
      const id = 'window_start' in record ? record.window_start : 'ad_id' in record ? record.ad_id : 'day' in record ? record.day : undefined;
      // alerts go to one list, `<ns>:alerts`
      expect(r.key).toBe(record.kind === 'alert' ? 'alerts' : `${record.kind}:${String(id)}`);
    }
  });

  it('every screen hash equals the model', () => {
    const got = foldScreens((job.values(topics.redis) as Array<Record<string, unknown>>).filter((r) => r.kind !== 'alert'));
    const kinds = new Set([...want.screens.keys()].map((k) => k.split(':')[0]));
    const relevant = new Map([...got].filter(([k]) => kinds.has(k.split(':')[0])));
    expect(Object.fromEntries([...relevant].map(([k, h]) => [k, Object.fromEntries([...h].sort())]))).toEqual(
      Object.fromEntries([...want.screens].map(([k, h]) => [k, Object.fromEntries([...h].sort())])),
    );
  });

  it('corrections reached closed windows: rows were written again and deleted', () => {
    const rows = job.values(topics.tables.ads_order_city_1h) as Array<Record<string, unknown>>;
    expect(rows.filter((r) => r._is_deleted === 1).length).toBeGreaterThan(0);
    const writes = new Map<string, number>();
    for (const r of rows) writes.set(JSON.stringify([r.window_start, r.province, r.city]), (writes.get(JSON.stringify([r.window_start, r.province, r.city])) ?? 0) + 1);
    expect(Math.max(...writes.values())).toBeGreaterThan(1);
  });

  it('the scenario flips a click: the bot\'s 5th click is counted, then taken back by a late click within the lateness', () => {
    const dwd = new InMemoryJob(adEventJob(options), { [topics.odsBinlog]: PARTITIONS, [topics.odsEvents]: PARTITIONS });
    for (const input of s.inputs) dwd.send(input.topic === 'binlog' ? topics.odsBinlog : topics.odsEvents, input.record.partition, input.record.key, input.record.value);
    const bot4 = (dwd.values(topics.dwdAdEvent) as Array<{ event_id: string; counted: number }>).filter((e) => e.event_id === 'bot4').map((e) => e.counted);
    expect(bot4).toEqual([1, 0]);
  });

  it('the flip takes the bot\'s click and its order back from channel mini through the join', () => {
    // without the stage summing the channel deltas, they are collected as they leave the join
    const spec = warehouseJob(options);
    const partial = new InMemoryJob({ ...spec, stages: spec.stages.filter((st) => st.name !== `${namespace}.ads_channel_daily.days`) }, { [topics.odsBinlog]: PARTITIONS, [topics.odsEvents]: PARTITIONS });
    for (const input of s.inputs) partial.send(input.topic === 'binlog' ? topics.odsBinlog : topics.odsEvents, input.record.partition, input.record.key, input.record.value);
    const mini = partial.outputs.filter((o) => o.topic === topics.internal('ads_channel_daily', 'days') && o.key === 'mini').map((o) => (JSON.parse(o.value as string) as { v: Array<{ v: Record<string, string> }> }).v[0]?.v);
    const bot = (d: Record<string, string> | undefined): boolean => d?.amount === '990' || d?.amount === '-990';
    expect(mini.filter(bot)).toEqual([
      { amount: '990', orders: '1' },
      { amount: '-990', clickers: '-1', clicks: '-1', orders: '-1' },
    ]);
  });

  it('sends nothing to the dead-letter topic but the unknown-area event, and the order past the retention to late_changes', () => {
    const reasons = (job.values(topics.deadLetter) as Array<{ reason: string }>).map((d) => d.reason);
    expect(reasons).toEqual([expect.stringContaining('unknown area_id 99')]);
    expect((job.values(topics.lateChanges) as Array<Record<string, unknown>>).map((l) => l.order_id)).toEqual([s.lateOrder]);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { config, uniqueName } from '../support/stack.js';

const { url, user, password, database } = config.clickhouse;

describe('ClickHouse over HTTP (@clickhouse/client)', () => {
  const client = createClient({ url, username: user, password, database, log: { level: ClickHouseLogLevel.OFF } });
  const table = uniqueName('it_orders');
  afterAll(async () => {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  });

  it('creates a ReplacingMergeTree, inserts JSONEachRow, reads back with query params and FINAL', async () => {
    await client.command({
      query: `CREATE TABLE ${table} (id UInt64, note String, amount Decimal(12, 2), updated DateTime64(3, 'UTC'), _version UInt64, is_deleted UInt8)
              ENGINE = ReplacingMergeTree(_version, is_deleted) ORDER BY id`,
    });
    await client.insert({
      table,
      format: 'JSONEachRow',
      values: [
        { id: 1, note: 'first', amount: '10.10', updated: '2026-01-01 00:00:00.001', _version: 1, is_deleted: 0 },
        { id: 1, note: "it's \t new", amount: '99999999.99', updated: '2026-01-01 00:00:01.002', _version: 2, is_deleted: 0 },
        { id: 2, note: 'gone', amount: '1.00', updated: '2026-01-01 00:00:00.000', _version: 1, is_deleted: 0 },
        { id: 2, note: 'gone', amount: '1.00', updated: '2026-01-01 00:00:00.000', _version: 2, is_deleted: 1 },
        { id: 3, note: '北京 ✓', amount: '-0.01', updated: '2026-01-01 00:00:00.000', _version: 1, is_deleted: 0 },
      ],
    });
    const rs = await client.query({
      query: `SELECT id, note, toString(amount) AS amount, updated FROM ${table} FINAL
              WHERE id IN {ids:Array(UInt64)} AND note != {skip:String} ORDER BY id`,
      query_params: { ids: [1, 2, 3], skip: "x'y" },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { id: '1', note: "it's \t new", amount: '99999999.99', updated: '2026-01-01 00:00:01.002' },
      { id: '3', note: '北京 ✓', amount: '-0.01', updated: '2026-01-01 00:00:00.000' },
    ]);
  });

  it('raises server errors with their ClickHouse code and type', async () => {
    await expect(client.query({ query: 'SELECT * FROM no_such_table_here' })).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    await expect(client.command({ query: 'SELEC 1' })).rejects.toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
  });

  it('keeps settings to the request that sent them', async () => {
    const read = async (settings?: { max_threads: number }) => {
      const rs = await client.query({ query: "SELECT toString(getSetting('max_threads')) AS v", format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings } : {}) });
      return (await rs.json<{ v: string }>())[0]?.v;
    };
    const baseline = await read();
    expect(await read({ max_threads: 1 })).toBe('1');
    expect(await read()).toBe(baseline);
  });

  it('accepts gzip-compressed inserts and concurrent requests', async () => {
    const gz = createClient({ url, username: user, password, database, compression: { request: true, response: true }, log: { level: ClickHouseLogLevel.OFF } });
    try {
      const rows = Array.from({ length: 5000 }, (_, i) => ({ id: 1000 + i, note: `n${i}`, amount: `${i}.50`, updated: '2026-01-02 00:00:00.000', _version: 1, is_deleted: 0 }));
      await gz.insert({ table, values: rows, format: 'JSONEachRow' });
      const counts = await Promise.all(
        [0, 1, 2, 3].map(async (k) => {
          const rs = await gz.query({ query: `SELECT count() AS n FROM ${table} WHERE id % 4 = {k:UInt8} AND id >= 1000`, query_params: { k }, format: 'JSONEachRow' });
          return Number((await rs.json<{ n: string }>())[0]?.n);
        }),
      );
      expect(counts).toEqual([1250, 1250, 1250, 1250]);
    } finally {
      await gz.close();
    }
  });

  it('rejects a wrong password', async () => {
    const bad = createClient({ url, username: user, password: `${password}-wrong`, log: { level: ClickHouseLogLevel.OFF } });
    try {
      await expect(bad.query({ query: 'SELECT 1' })).rejects.toMatchObject({ code: '516' });
    } finally {
      await bad.close();
    }
  });
});

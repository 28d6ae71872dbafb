/** ClickHouse migrations and `rtdw setup` on the real stack: idempotent, and loud about a changed history. */
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../schemas/config.js';
import { TOPIC_NAMES } from '../../schemas/topics.js';
import { quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { migrate, MIGRATIONS_DIR, readMigrations } from '../../connectors/clickhouse/migrations.js';
import { setup } from '../../jobs/setup.js';
import { config, uniqueName } from '../support/stack.js';
import { clickhouse, deleteTopics, dropDatabase, query, withAdmin } from './support.js';

const ALL_TABLES = ['ads_ad_click_trend_1m', 'ads_ad_clicks_1h', 'ads_ad_ctr_5m', 'ads_channel_daily', 'ads_daily_kpi', 'ads_hot_ads_daily', 'ads_order_city_1h', 'ads_order_payment_5m', 'ads_order_top3_city_1h', 'alerts', 'dim_blacklist', 'dwd_ad_event', 'dwd_order_wide', 'ods_areas', 'ods_order_items', 'ods_orders', 'ods_payments', 'ods_products', 'ods_refunds', 'ods_users', 'pipeline_progress', 'schema_migrations'];

describe('ClickHouse migrations', () => {
  let client: ClickHouseClient;
  const database = uniqueName('mig');
  const dir = mkdtempSync(join(tmpdir(), 'rtdw-migrations-'));

  beforeAll(() => {
    client = clickhouse();
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  });

  afterAll(async () => {
    await dropDatabase(client, database);
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const recorded = async () => query<{ version: number; file: string }>(client, `SELECT version, file FROM ${quoteIdentifier(database)}.schema_migrations ORDER BY version`);

  it('applies every migration once; running again applies none', async () => {
    const files = readMigrations(dir).map((m) => m.file);
    expect(await migrate(client, database, readMigrations(dir))).toEqual({ database, applied: files, alreadyApplied: [] });
    expect(await migrate(client, database, readMigrations(dir))).toEqual({ database, applied: [], alreadyApplied: files });
    // Raw rows, not FINAL: each version was recorded exactly once.
    expect((await recorded()).map((r) => r.file)).toEqual(files);
    const tables = await query<{ name: string }>(client, 'SELECT name FROM system.tables WHERE database = {database:String} ORDER BY name', { database });
    expect(tables.map((t) => t.name)).toEqual(ALL_TABLES);
  });

  it('applies only a new migration', async () => {
    writeFileSync(join(dir, '0099_extra.sql'), 'CREATE TABLE IF NOT EXISTS {{database}}.extra (x UInt8) ENGINE = MergeTree ORDER BY x;\n');
    const report = await migrate(client, database, readMigrations(dir));
    expect(report.applied).toEqual(['0099_extra.sql']);
    expect(report.alreadyApplied).toHaveLength(readMigrations(dir).length - 1);
  });

  it('refuses to run when an applied file was changed, naming it, and applies nothing', async () => {
    appendFileSync(join(dir, '0002_dwd.sql'), '\n-- an edit after the fact\n');
    writeFileSync(join(dir, '0100_later.sql'), 'CREATE TABLE IF NOT EXISTS {{database}}.later (x UInt8) ENGINE = MergeTree ORDER BY x;\n');
    const before = await recorded();
    await expect(migrate(client, database, readMigrations(dir))).rejects.toThrow(/^0002_dwd\.sql was changed after it was applied to mig_\w+ \(applied checksum [0-9a-f]{12}, file [0-9a-f]{12}\): restore it and put the change in a new migration$/);
    expect(await recorded()).toEqual(before);
    cpSync(join(MIGRATIONS_DIR, '0002_dwd.sql'), join(dir, '0002_dwd.sql'));
    unlinkSync(join(dir, '0100_later.sql'));
  });

  it('refuses to run when an applied migration is gone', async () => {
    unlinkSync(join(dir, '0099_extra.sql'));
    await expect(migrate(client, database, readMigrations(dir))).rejects.toThrow(`${database}: migration 0099_extra.sql is recorded as applied but is no longer in ${MIGRATIONS_DIR}`);
  });
});

describe('rtdw setup', () => {
  const ns = uniqueName('setup');
  const env = { ...process.env, RTDW_NAMESPACE: ns, MYSQL_DATABASE: ns, CLICKHOUSE_DATABASE: '', CDC_NAME: '', CDC_TOPIC: '', CDC_POSITIONS_TOPIC: '', CDC_DEAD_LETTER_TOPIC: '' };
  const own = loadConfig(env);
  let client: ClickHouseClient;
  let admin: mysql.Connection;

  beforeAll(async () => {
    client = clickhouse();
    admin = await mysql.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.admin.user, password: config.mysql.admin.password });
  });

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${ns}\``);
    await admin.end();
    await dropDatabase(client, ns);
    await client.close();
    const topics = await withAdmin(async (a) => (await a.listTopics()).filter((t) => t.startsWith(`${ns}.`)));
    await deleteTopics(topics);
  });

  it('creates the source tables, topics, ClickHouse tables and TTLs once; a second run creates nothing', async () => {
    const first: string[] = [];
    await setup(own, (line) => first.push(line), env);
    expect(first.join('\n')).toMatch(new RegExp(`database ${ns} created`));
    expect(first.join('\n')).toContain('tables created: areas, users, products, orders, order_items, payments, refunds');
    expect(first.join('\n')).toContain('migrations applied: 0001_ods.sql, 0002_dwd.sql, 0003_pipeline_progress.sql, 0004_ads.sql, 0006_alerts.sql');

    const second: string[] = [];
    await setup(own, (line) => second.push(line), env);
    expect(second).toEqual([
      `mysql       ${ns}: tables created: none; already there: areas, users, products, orders, order_items, payments, refunds`,
      `kafka       topics created: none; already there: ${TOPIC_NAMES.length} of ${TOPIC_NAMES.length}`,
      `clickhouse  database ${ns}: migrations applied: none; already applied: 0001_ods.sql, 0002_dwd.sql, 0003_pipeline_progress.sql, 0004_ads.sql, 0006_alerts.sql`,
      'clickhouse  TTL 30 days: set on none; already set on dwd_order_wide, dwd_ad_event',
    ]);

    const [tables] = await admin.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [ns]);
    expect(tables.map((r) => String(r.t)).sort()).toEqual(['areas', 'order_items', 'orders', 'payments', 'products', 'refunds', 'users']);
    const meta = await withAdmin((a) => a.fetchTopicMetadata({ topics: [`${ns}.ods_binlog`, `${ns}.ods_events`, `${ns}.dead_letter`] }));
    expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual([[`${ns}.dead_letter`, 3], [`${ns}.ods_binlog`, 3], [`${ns}.ods_events`, 4]]);
    const ttl = await query<{ name: string; engine_full: string }>(client, "SELECT name, engine_full FROM system.tables WHERE database = {ns:String} AND name LIKE 'dwd_%' ORDER BY name", { ns });
    expect(ttl.map((t) => [t.name, /TTL (.*?) SETTINGS/.exec(t.engine_full)?.[1]])).toEqual([
      ['dwd_ad_event', 'toDate(ts) + toIntervalDay(30)'],
      ['dwd_order_wide', 'toDate(created_at) + toIntervalDay(30)'],
    ]);
  });

  it('changes the TTL when RTDW_DETAIL_TTL_DAYS changes', async () => {
    const lines: string[] = [];
    await setup(loadConfig({ ...env, RTDW_DETAIL_TTL_DAYS: '7' }), (line) => lines.push(line), env);
    expect(lines.at(-1)).toBe('clickhouse  TTL 7 days: set on dwd_order_wide, dwd_ad_event; already set on none');
    const [order] = await query<{ engine_full: string }>(client, "SELECT engine_full FROM system.tables WHERE database = {ns:String} AND name = 'dwd_order_wide'", { ns });
    expect(order?.engine_full).toContain('TTL toDate(created_at) + toIntervalDay(7)');
  });
});

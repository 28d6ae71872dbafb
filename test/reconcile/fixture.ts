/**
 * A private source/mirror pair for reconcile tests: a MySQL database created from
 * schemas/source/shop.sql and a ClickHouse database with ODS tables whose DDL is written here
 * (the contract of issue 10, independently of the migrations), filled with a seeded model of the
 * shop and an independent copy of it made row by row as text, with older versions and deleted keys
 * around it so that only `FINAL WHERE _is_deleted = 0` reads it right.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { loadConfig, repoRoot, type RtdwConfig } from '../../schemas/config.js';
import { readMigrations, renderMigration, splitStatements } from '../../connectors/clickhouse/migrations.js';
import { config, uniqueName } from '../support/stack.js';

/** The mirror of each source table as issue 10 defines it: same columns, exact types, _version, _is_deleted. */
const ODS_COLUMNS: Record<string, { columns: string; partition?: string }> = {
  areas: { columns: 'id Int32, province String, city String' },
  users: { columns: "id Int64, name String, area_id Int32, channel String, created_at DateTime64(3, 'UTC')", partition: 'created_at' },
  products: { columns: 'id Int64, name String, category String, price Decimal(12, 2)' },
  orders: { columns: "id Int64, user_id Int64, area_id Int32, amount Decimal(12, 2), status String, created_at DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC')", partition: 'created_at' },
  order_items: { columns: 'id Int64, order_id Int64, product_id Int64, quantity Int32, price Decimal(12, 2)' },
  payments: { columns: "id Int64, order_id Int64, amount Decimal(12, 2), status String, paid_at DateTime64(3, 'UTC')", partition: 'paid_at' },
  refunds: { columns: "id Int64, order_id Int64, amount Decimal(12, 2), created_at DateTime64(3, 'UTC')", partition: 'created_at' },
};
export const TABLES = Object.keys(ODS_COLUMNS);

export type Row = Record<string, string>;

export interface Pair {
  mysqlDb: string;
  clickhouseDb: string;
  admin: mysql.Connection;
  ch: ClickHouseClient;
  /** environment a reconcile of this pair runs with */
  env: Record<string, string>;
  config: RtdwConfig;
  drop(): Promise<void>;
}

export async function createPair(prefix: string, timezone: string): Promise<Pair> {
  const mysqlDb = uniqueName(prefix);
  const clickhouseDb = uniqueName(prefix);
  const { host, port, admin: credentials } = config.mysql;
  const admin = await mysql.createConnection({ host, port, user: credentials.user, password: credentials.password, multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: 'utf8mb4' });
  await admin.query(`CREATE DATABASE \`${mysqlDb}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${mysqlDb}\``);
  await admin.query(readFileSync(join(repoRoot, 'schemas/source/shop.sql'), 'utf8'));
  const ch = createClient({ url: config.clickhouse.url, username: config.clickhouse.user, password: config.clickhouse.password, log: { level: ClickHouseLogLevel.OFF } });
  await ch.command({ query: `CREATE DATABASE ${clickhouseDb}` });
  for (const [table, { columns, partition }] of Object.entries(ODS_COLUMNS)) {
    await ch.command({
      query: `CREATE TABLE ${clickhouseDb}.ods_${table} (${columns}, _version UInt64, _is_deleted UInt8)
              ENGINE = ReplacingMergeTree(_version, _is_deleted) ${partition ? `PARTITION BY toYYYYMMDD(${partition})` : ''} ORDER BY id`,
    });
  }
  await ch.command({
    query: `CREATE TABLE ${clickhouseDb}.pipeline_progress (job String, watermark DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC'))
            ENGINE = ReplacingMergeTree(updated_at) ORDER BY job`,
  });
  // reconcile's own history table, from its migration
  await applyMigration(ch, clickhouseDb, '0005_reconcile.sql');
  const env = { MYSQL_DATABASE: mysqlDb, CLICKHOUSE_DATABASE: clickhouseDb, RTDW_TIMEZONE: timezone };
  return {
    mysqlDb,
    clickhouseDb,
    admin,
    ch,
    env,
    config: loadConfig({ ...process.env, ...env }),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${mysqlDb}\``);
      await ch.command({ query: `DROP DATABASE IF EXISTS ${clickhouseDb}` });
      await admin.end();
      await ch.close();
    },
  };
}

/** One migration of schemas/clickhouse applied to `database` (tables reconcile owns or reads as they are, not the contract a test checks). */
export async function applyMigration(ch: ClickHouseClient, database: string, file: string): Promise<void> {
  const migration = readMigrations().find((m) => m.file === file);
  if (migration === undefined) throw new Error(`no migration ${file}`);
  for (const statement of splitStatements(renderMigration(migration, database))) await ch.command({ query: statement });
}

/** A seeded generator (mulberry32): the same shop on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['北京', 'Zoë', "O'Brien", 'say "hi"', 'back\\slash', 'tab\there', 'trailing ', '', '🛒 cart', 'plain'];

function wallText(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/**
 * Rows of every table with event times over [start - 10 min, start + 3 h + 10 min) of the wall
 * clock `start` (a 'YYYY-MM-DD HH:MM:SS' text), a few exactly on bucket bounds.
 */
export function shopModel(start: string, seed = 7): Record<string, Row[]> {
  const rnd = random(seed);
  const t0 = Date.parse(`${start.replace(' ', 'T')}Z`);
  const span = 3 * 3_600_000 + 20 * 60_000;
  const at = (i: number, bounds: number[]): string => wallText(bounds[i] ?? t0 - 600_000 + Math.floor(rnd() * span));
  // Exact bucket bounds, the last judged millisecond and the first pending one (2 h after start).
  const bounds = [t0, t0 + 300_000, t0 + 300_000 - 1, t0 + 7_200_000 - 1, t0 + 7_200_000];
  const money = (max: number): string => (Math.floor(rnd() * max * 100) / 100).toFixed(2);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const model: Record<string, Row[]> = { areas: [], users: [], products: [], orders: [], order_items: [], payments: [], refunds: [] };
  for (let id = 1; id <= 40; id += 1) model.areas?.push({ id: String(id), province: pick(NAMES), city: `city-${id}` });
  for (let id = 1; id <= 300; id += 1) model.users?.push({ id: String(id), name: pick(NAMES), area_id: String(1 + (id % 40)), channel: pick(['app', 'web', 'mini']), created_at: at(id - 1, bounds) });
  for (let id = 1; id <= 150; id += 1) model.products?.push({ id: String(1000 + id), name: `${pick(NAMES)}-${id}`, category: pick(['a', 'b']), price: id === 1 ? '9999999999.99' : money(500) });
  for (let id = 1; id <= 2500; id += 1) {
    const created = at(id - 1, bounds);
    model.orders?.push({ id: String(id * 3), user_id: String(1 + (id % 300)), area_id: String(1 + (id % 40)), amount: id === 7 ? '-0.01' : money(2000), status: pick(['created', 'paid', 'cancelled', 'refunded']), created_at: created, updated_at: created });
  }
  for (let id = 1; id <= 3500; id += 1) model.order_items?.push({ id: String(id), order_id: String(3 * (1 + (id % 2500))), product_id: String(1001 + (id % 150)), quantity: String(1 + (id % 5)), price: money(300) });
  for (let id = 1; id <= 1800; id += 1) model.payments?.push({ id: String(id), order_id: String(3 * (1 + (id % 2500))), amount: money(2000), status: pick(['success', 'fail']), paid_at: at(id - 1, bounds) });
  for (let id = 1; id <= 250; id += 1) model.refunds?.push({ id: String(id), order_id: String(3 * (1 + (id % 2500))), amount: money(100), created_at: at(id - 1, bounds) });
  return model;
}

export async function fillSource(pair: Pair, model: Record<string, Row[]>): Promise<void> {
  for (const [table, rows] of Object.entries(model)) {
    const first = rows[0];
    if (first === undefined) continue;
    const columns = Object.keys(first);
    for (let i = 0; i < rows.length; i += 1000) {
      const batch = rows.slice(i, i + 1000);
      await pair.admin.query(`INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES ?`, [batch.map((r) => columns.map((c) => r[c]))]);
    }
  }
}

/** Every MySQL row of `table` as the text MySQL prints. */
export async function sourceRows(pair: Pair, table: string): Promise<Row[]> {
  const [rows] = await pair.admin.query({ sql: `SELECT * FROM \`${table}\` ORDER BY id`, typeCast: (field: { string(): string | null }) => field.string() } as mysql.QueryOptions);
  return rows as Row[];
}

export async function insertMirror(pair: Pair, table: string, rows: Record<string, string | number>[]): Promise<void> {
  await pair.ch.insert({ table: `${pair.clickhouseDb}.ods_${table}`, values: rows, format: 'JSONEachRow', clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' } });
}

/**
 * The mirror as the ODS job would leave it: every source row at _version 10, and around them
 * versions FINAL must see past — an older value of some rows (in another day's partition), a key
 * deleted and inserted again, a key inserted and deleted that MySQL never had.
 */
export async function mirrorCopy(pair: Pair): Promise<void> {
  for (const table of TABLES) {
    const rows = await sourceRows(pair, table);
    const current = rows.map((r) => ({ ...r, _version: 10, _is_deleted: 0 }));
    const older = rows.filter((_, i) => i % 50 === 0).map((r) => {
      const stale: Record<string, string | number> = { ...r, _version: 5, _is_deleted: 0 };
      for (const c of ['created_at', 'paid_at']) if (c in r) stale[c] = '2020-01-01 00:00:00.000';
      for (const c of ['amount', 'price']) if (c in r) stale[c] = '1.00';
      if ('name' in r) stale.name = 'stale';
      return stale;
    });
    const reinserted = rows.filter((_, i) => i % 70 === 1).map((r) => ({ ...r, _version: 3, _is_deleted: 1 }));
    const template = rows[0];
    const gone = template === undefined ? [] : [{ ...template, id: '999999', _version: 1, _is_deleted: 0 }, { ...template, id: '999999', _version: 2, _is_deleted: 1 }];
    await insertMirror(pair, table, [...older, ...reinserted, ...gone]);
    await insertMirror(pair, table, current);
  }
}

export async function publishProgress(pair: Pair, job: string, watermark: number): Promise<void> {
  await pair.ch.insert({
    table: `${pair.clickhouseDb}.pipeline_progress`,
    values: [{ job, watermark: wallText(watermark), updated_at: wallText(Date.now()) }],
    format: 'JSONEachRow',
    clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' },
  });
}

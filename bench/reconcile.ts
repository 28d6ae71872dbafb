/**
 * Reconcile over a 1M-row source: `npx tsx bench/reconcile.ts` (npm run bench:reconcile). Prints
 * figures, asserts nothing.
 *
 * Loads 1,000,000 rows (BENCH_RECONCILE_ROWS) over the seven shop tables into a private MySQL
 * database and an equal ClickHouse mirror (ods_ tables, FINAL-readable), with event times over the
 * last 23 h and a watermark at now, so every row is judged. Then times `reconcile` with its
 * defaults (both checks, 10k-row chunks, MySQL read as the CDC user): once on the equal pair, once
 * after corrupting 10 rows of the mirror (found by bisection). Then check 3 (`ads`) over the same orders
 * and BENCH_RECONCILE_EVENTS (1,000,000) events in dwd_ad_event, its ADS tables filled with the
 * recomputation's own result first. Both databases are dropped at the end. The last line is the clean
 * run's duration.
 */
import mysql from 'mysql2/promise';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, repoRoot } from '../schemas/config.js';
import { reconcileOptions } from '../jobs/reconcile/options.js';
import { CHECK_NAMES, reconcile } from '../jobs/reconcile/run.js';
import type { ReconcileReport } from '../jobs/reconcile/report.js';
import { readMigrations, renderMigration, splitStatements } from '../connectors/clickhouse/migrations.js';
import { connectClickHouse } from '../jobs/reconcile/clickhouse.js';
import { connectMysql } from '../jobs/reconcile/mysql.js';
import { AdsRecompute } from '../jobs/reconcile/ads/recompute.js';
import { ADS_TABLE_DEFS, TIME_COLUMNS } from '../jobs/reconcile/ads/tables.js';
import { judgedWindows } from '../jobs/reconcile/ads/windows.js';

const TOTAL = Number(process.env.BENCH_RECONCILE_ROWS ?? 1_000_000);
/** events in dwd_ad_event for check 3, over the same 22 h as the orders */
const EVENTS = Number(process.env.BENCH_RECONCILE_EVENTS ?? 1_000_000);
/** Share of the rows per table, roughly a shop's proportions. */
const SHARES: [string, number][] = [
  ['areas', 0.001],
  ['users', 0.1],
  ['products', 0.01],
  ['orders', 0.3],
  ['order_items', 0.4],
  ['payments', 0.17],
  ['refunds', 0.019],
];
const ODS: Record<string, string> = {
  areas: 'id Int32, province String, city String',
  users: "id Int64, name String, area_id Int32, channel String, created_at DateTime64(3, 'UTC')",
  products: 'id Int64, name String, category String, price Decimal(12, 2)',
  orders: "id Int64, user_id Int64, area_id Int32, amount Decimal(12, 2), status String, created_at DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC')",
  order_items: 'id Int64, order_id Int64, product_id Int64, quantity Int32, price Decimal(12, 2)',
  payments: "id Int64, order_id Int64, amount Decimal(12, 2), status String, paid_at DateTime64(3, 'UTC')",
  refunds: "id Int64, order_id Int64, amount Decimal(12, 2), created_at DateTime64(3, 'UTC')",
};

const now = Date.now();
const span = 22 * 3_600_000;
const first = now - 23 * 3_600_000;
const wall = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
const money = (i: number, max: number): string => ((((i * 2_654_435_761) >>> 0) % (max * 100)) / 100).toFixed(2);
const time = (i: number, n: number): string => wall(first + Math.floor((i / n) * span) + (i % 997));

type Row = Record<string, string | number>;

function row(table: string, id: number, n: number, counts: Record<string, number>): Row {
  const c = (t: string) => counts[t] ?? 1;
  switch (table) {
    case 'areas':
      return { id, province: `province-${id % 31}`, city: `city-${id}` };
    case 'users':
      return { id, name: `user ${id} 用户`, area_id: 1 + (id % c('areas')), channel: ['app', 'web', 'mini'][id % 3] as string, created_at: time(id, n) };
    case 'products':
      return { id, name: `product ${id}`, category: `cat-${id % 20}`, price: money(id, 500) };
    case 'orders': {
      const t = time(id, n);
      return { id, user_id: 1 + (id % c('users')), area_id: 1 + (id % c('areas')), amount: money(id, 2000), status: ['created', 'paid', 'cancelled', 'refunded'][id % 4] as string, created_at: t, updated_at: t };
    }
    case 'order_items':
      return { id, order_id: 1 + (id % c('orders')), product_id: 1 + (id % c('products')), quantity: 1 + (id % 5), price: money(id, 300) };
    case 'payments':
      return { id, order_id: 1 + (id % c('orders')), amount: money(id, 2000), status: id % 10 === 0 ? 'fail' : 'success', paid_at: time(id, n) };
    default:
      return { id, order_id: 1 + (id % c('orders')), amount: money(id, 100), created_at: time(id, n) };
  }
}

const config = loadConfig();
const suffix = `${Date.now().toString(36)}_${process.pid}`;
const mysqlDb = `bench_reconcile_${suffix}`;
const clickhouseDb = `bench_reconcile_${suffix}`;
const admin = await mysql.createConnection({
  host: config.mysql.host,
  port: config.mysql.port,
  user: config.mysql.admin.user,
  password: config.mysql.admin.password,
  multipleStatements: true,
  charset: 'utf8mb4',
});
const ch = createClient({ url: config.clickhouse.url, username: config.clickhouse.user, password: config.clickhouse.password, request_timeout: 300_000, log: { level: ClickHouseLogLevel.OFF } });

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function timedRun(label: string, recheckAfter: string): Promise<ReconcileReport> {
  // checks 1 and 2: the mirror of the 1M-row source (check 3 reads ADS tables this pair has none of)
  const options = reconcileOptions({ recheckAfter, checks: 'buckets,rows' }, CHECK_NAMES, { ...process.env, RTDW_TIMEZONE: 'UTC' });
  const report = await reconcile(loadConfig({ ...process.env, MYSQL_DATABASE: mysqlDb, CLICKHOUSE_DATABASE: clickhouseDb }), { ...options, history: false }, { log: (m) => console.log(`  ${m}`) });
  if (report.status === 'error') throw new Error(`reconcile could not run: ${report.error ?? ''}`);
  const rows = report.results.filter((r) => r.check === 'rows').reduce((n, r) => n + r.judged.count, 0);
  console.log(
    `${label}: ${seconds(report.durationMs)}, status ${report.status}, ${report.totals.mismatches} mismatch(es), ${rows.toLocaleString('en-US')} rows compared (${Math.round(rows / (report.durationMs / 1000)).toLocaleString('en-US')} rows/s), ${report.totals.pending} pending bucket(s)`,
  );
  return report;
}

try {
  await admin.query(`CREATE DATABASE \`${mysqlDb}\` CHARACTER SET utf8mb4; USE \`${mysqlDb}\`;`);
  await admin.query(readFileSync(join(repoRoot, 'schemas/source/shop.sql'), 'utf8'));
  await ch.command({ query: `CREATE DATABASE ${clickhouseDb}` });
  await ch.command({
    query: `CREATE TABLE ${clickhouseDb}.pipeline_progress (job String, watermark DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree(updated_at) ORDER BY job`,
  });
  await ch.insert({ table: `${clickhouseDb}.pipeline_progress`, values: [{ job: 'ods', watermark: wall(now), updated_at: wall(now) }], format: 'JSONEachRow' });
  const counts = Object.fromEntries(SHARES.map(([t, share]) => [t, Math.max(1, Math.round(TOTAL * share))]));
  let loadMysqlMs = 0;
  let loadClickHouseMs = 0;
  for (const [table] of SHARES) {
    const n = counts[table] ?? 1;
    const ts = ['users', 'orders', 'payments', 'refunds'].includes(table) ? 'PARTITION BY toYYYYMMDD(' + (table === 'payments' ? 'paid_at' : 'created_at') + ')' : '';
    await ch.command({ query: `CREATE TABLE ${clickhouseDb}.ods_${table} (${ODS[table]}, _version UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version, _is_deleted) ${ts} ORDER BY id` });
    for (let start = 1; start <= n; start += 50_000) {
      const rows = Array.from({ length: Math.min(50_000, n - start + 1) }, (_, i) => row(table, start + i, n, counts));
      const columns = Object.keys(rows[0] as Row);
      let t = performance.now();
      for (let i = 0; i < rows.length; i += 5000) {
        await admin.query(`INSERT INTO \`${table}\` (${columns.join(', ')}) VALUES ?`, [rows.slice(i, i + 5000).map((r) => columns.map((c) => r[c]))]);
      }
      loadMysqlMs += performance.now() - t;
      t = performance.now();
      await ch.insert({ table: `${clickhouseDb}.ods_${table}`, values: rows.map((r) => ({ ...r, _version: 1, _is_deleted: 0 })), format: 'JSONEachRow', clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' } });
      loadClickHouseMs += performance.now() - t;
    }
  }
  const loaded = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`loaded ${loaded.toLocaleString('en-US')} rows: MySQL ${seconds(loadMysqlMs)}, ClickHouse mirror ${seconds(loadClickHouseMs)}`);
  console.log(SHARES.map(([t]) => `${t} ${(counts[t] ?? 0).toLocaleString('en-US')}`).join(', '));

  const clean = await timedRun('clean pair', '0');
  // Ten rows of the mirror corrupted: 4 changed, 3 deleted (a newer delete version), 3 added past the source's keys.
  const version = (table: string, r: Row, v: number, deleted = 0) => ch.insert({ table: `${clickhouseDb}.ods_${table}`, values: [{ ...r, _version: v, _is_deleted: deleted }], format: 'JSONEachRow' });
  const source = (table: string, id: number): Row => row(table, id, counts[table] ?? 1, counts);
  await version('orders', { ...source('orders', 1234), amount: '0.01' }, 2);
  await version('orders', { ...source('orders', 200_001), amount: '0.02' }, 2);
  await version('order_items', { ...source('order_items', 77_777), quantity: 9 }, 2);
  await version('payments', { ...source('payments', 99_999), amount: '0.01' }, 2);
  await version('users', source('users', 4242), 2, 1);
  await version('orders', source('orders', 150_000), 2, 1);
  await version('refunds', source('refunds', 10), 2, 1);
  await version('orders', { ...source('orders', 5), id: (counts.orders ?? 0) + 5 }, 3);
  await version('payments', { ...source('payments', 5), id: 50_000_000 }, 3);
  await version('order_items', { ...source('order_items', 5), id: (counts.order_items ?? 0) + 100 }, 3);
  const corrupted = await timedRun('10 rows corrupted', '0');
  const listed = corrupted.results.filter((r) => r.check === 'rows').flatMap((r) => r.mismatches.map((m) => `${m.table} ${m.location} ${m.kind}`));
  console.log(`  rows found: ${listed.join(', ')}`);

  // Check 3: the ADS tables over the same orders and EVENTS events. Their ClickHouse tables are filled
  // with the recomputation's own result (this measures time, it proves nothing), then judged.
  for (const file of ['0002_dwd.sql', '0004_ads.sql']) {
    const migration = readMigrations().find((m) => m.file === file);
    for (const statement of splitStatements(renderMigration(migration as NonNullable<typeof migration>, clickhouseDb))) await ch.command({ query: statement });
  }
  let t = performance.now();
  for (let start = 0; start < EVENTS; start += 50_000) {
    const events = Array.from({ length: Math.min(50_000, EVENTS - start) }, (_, k) => {
      const i = start + k;
      const kind = i % 10 < 5 ? 'page_view' : i % 10 < 8 ? 'ad_impression' : 'ad_click';
      const area = 1 + (i % (counts.areas ?? 1));
      return {
        event_id: `e${i}`, type: kind, ts: wall(first + Math.floor((i / EVENTS) * span) + (i % 997)), user_id: kind === 'page_view' && i % 7 === 0 ? null : 1 + (i % (counts.users ?? 1)),
        ad_id: kind === 'page_view' ? null : 1 + (i % 200), province: `province-${area % 31}`, city: `city-${area}`, channel: ['app', 'web', 'mini'][i % 3], device_id: `d${i % 50_000}`,
        session_id: `s${i % 200_000}`, ip: `10.0.${i % 250}.${i % 199}`, counted: kind === 'ad_click' && i % 50 === 9 ? 0 : 1, _version: 1,
      };
    });
    await ch.insert({ table: `${clickhouseDb}.dwd_ad_event`, values: events, format: 'JSONEachRow', clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' } });
  }
  console.log(`loaded ${EVENTS.toLocaleString('en-US')} events into dwd_ad_event: ${seconds(performance.now() - t)}`);
  await ch.insert({ table: `${clickhouseDb}.pipeline_progress`, values: ADS_TABLE_DEFS.map((d) => ({ job: d.table, watermark: wall(now), updated_at: wall(now) })), format: 'JSONEachRow' });
  const benchConfig = loadConfig({ ...process.env, MYSQL_DATABASE: mysqlDb, CLICKHOUSE_DATABASE: clickhouseDb });
  const reader = connectClickHouse(benchConfig.clickhouse, 300_000);
  const sourceReader = await connectMysql(benchConfig.mysql);
  t = performance.now();
  let adsRows = 0;
  try {
    const recompute = new AdsRecompute(sourceReader, reader, mysqlDb, 'UTC');
    for (const def of ADS_TABLE_DEFS) {
      const w = judgedWindows(def.window, 'UTC', now - 86_400_000, now, { job: def.table, watermark: now, allowedLatenessMs: 60_000 });
      const rows = (await recompute.table(def, w)).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, TIME_COLUMNS.has(k) ? wall(Number(v)).slice(0, 19) : v])));
      adsRows += rows.length;
      for (let i = 0; i < rows.length; i += 50_000) await ch.insert({ table: `${clickhouseDb}.${def.table}`, values: rows.slice(i, i + 50_000).map((r) => ({ ...r, _version: 1, _is_deleted: 0 })), format: 'JSONEachRow', clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' } });
    }
  } finally {
    await sourceReader.close();
    await reader.close();
  }
  console.log(`ADS tables filled with ${adsRows.toLocaleString('en-US')} recomputed rows: ${seconds(performance.now() - t)}`);
  const adsOptions = reconcileOptions({ recheckAfter: '0', checks: 'ads' }, CHECK_NAMES, { ...process.env, RTDW_TIMEZONE: 'UTC' });
  const ads = await reconcile(benchConfig, { ...adsOptions, history: false }, { log: (m) => console.log(`  ${m}`) });
  if (ads.status === 'error') throw new Error(`reconcile could not run: ${ads.error ?? ''}`);
  for (const r of ads.results) console.log(`  ${r.table}: ${r.judged.count} ${r.judged.unit}, ${r.mismatchCount} mismatch(es), ${r.pending.reduce((n, p) => n + p.buckets, 0)} pending`);
  console.log(`check 3 (ads) over ${(counts.orders ?? 0).toLocaleString('en-US')} orders and ${EVENTS.toLocaleString('en-US')} events: ${seconds(ads.durationMs)}, status ${ads.status}`);
  console.log(`reconcile ${loaded.toLocaleString('en-US')} rows, clean: ${(clean.durationMs / 1000).toFixed(1)} s`);
} finally {
  await admin.query(`DROP DATABASE IF EXISTS \`${mysqlDb}\``).catch(() => undefined);
  await ch.command({ query: `DROP DATABASE IF EXISTS ${clickhouseDb}` }).catch(() => undefined);
  await admin.end();
  await ch.close();
}

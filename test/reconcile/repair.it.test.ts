/**
 * rtdw reconcile --repair on a real pipeline in a private namespace: `rtdw setup`, source rows, `rtdw run
 * --jobs cdc,ods`; then rows deleted from the ODS mirror and one changed there behind the pipeline's
 * back. --repair finds them, asks the CDC to snapshot their key ranges again (its signal topic), and the
 * mirror converges: the rows come back through Kafka with newer versions (never written by reconcile),
 * the run exits 0 and a plain run after it too. A row extra in the mirror is named as not repairable.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../schemas/config.js';
import type { ReconcileReport } from '../../jobs/reconcile/report.js';
import { privateEnv, runRtdw, spawnRtdw, type RtdwChild } from '../support/rtdw-cli.js';
import { config, uniqueName } from '../support/stack.js';
import { clickhouse, deleteTopics, dropDatabase, query, waitFor, withAdmin } from '../warehouse/support.js';

const namespace = uniqueName('rep');
const database = uniqueName('rep_src');
const GATE = 'repair-test-gate';
const env = privateEnv({ RTDW_NAMESPACE: namespace, MYSQL_DATABASE: database, RTDW_TIMEZONE: 'Asia/Shanghai', CDC_SERVER_ID: String(randomInt(10_000, 4_000_000)), LOG_LEVEL: 'warn' });
const settings = loadConfig(env);
const chDb = settings.clickhouse.database;
const logDir = join(tmpdir(), namespace);
const logFile = (name: string) => join(logDir, `${name}.log`);
const RECONCILE = ['reconcile', '--checks', 'buckets,rows', '--tables', 'areas,orders', '--job', GATE, '--from', '2026-01-01 00:00', '--to', '2026-01-02 00:00', '--recheck-after', '0', '--json'];

let admin: mysql.Connection;
const ch = clickhouse();
let pipeline: RtdwChild | undefined;

async function mirrorCount(table: string): Promise<number> {
  const [row] = await query<{ n: string }>(ch, `SELECT toString(count()) AS n FROM ${chDb}.ods_${table} FINAL WHERE _is_deleted = 0`);
  return Number(row?.n);
}

async function versions(ids: number[]): Promise<Map<number, bigint>> {
  const rows = await query<{ id: string; v: string }>(ch, `SELECT toString(id) AS id, toString(max(_version)) AS v FROM ${chDb}.ods_orders WHERE id IN {ids:Array(Int64)} GROUP BY id`, { ids });
  return new Map(rows.map((r) => [Number(r.id), BigInt(r.v)]));
}

async function reconcile(args: string[]): Promise<{ code: number | null; report: ReconcileReport }> {
  const child = spawnRtdw([...RECONCILE, ...args], env, logFile('reconcile'));
  const { code } = await child.exited;
  return { code, report: JSON.parse(child.stdout()) as ReconcileReport };
}

beforeAll(async () => {
  mkdirSync(logDir, { recursive: true });
  await runRtdw(['setup'], env, logFile('setup'));
  admin = await mysql.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.admin.user, password: config.mysql.admin.password, database, dateStrings: true });
  await admin.query('INSERT INTO areas (id, province, city) VALUES ?', [Array.from({ length: 30 }, (_, i) => [i + 1, `省${i % 4}`, `市${i}`])]);
  await admin.query('INSERT INTO orders (id, user_id, area_id, amount, status, created_at, updated_at) VALUES ?', [
    Array.from({ length: 400 }, (_, i) => {
      const created = `2026-01-01 ${String(8 + Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.000`;
      return [i + 1, 1 + (i % 50), 1 + (i % 30), `${10 + i}.${String(i % 100).padStart(2, '0')}`, 'created', created, created];
    }),
  ]);
  await ch.insert({ table: `${chDb}.pipeline_progress`, values: [{ job: GATE, watermark: '2026-01-03 00:00:00.000', updated_at: '2026-01-03 00:00:00.000' }], format: 'JSONEachRow' });
  // the pipeline's CDC and ODS mirror; the CDC snapshots the rows above, then streams
  pipeline = spawnRtdw(['run', '--jobs', 'cdc,ods'], env, logFile('run'));
  await waitFor('the mirror to hold every source row', async () => ((await mirrorCount('orders')) === 400 && (await mirrorCount('areas')) === 30 ? true : undefined), 180_000, 500);
}, 300_000);

afterAll(async () => {
  if (pipeline !== undefined && pipeline.child.exitCode === null) {
    pipeline.child.kill('SIGTERM');
    await pipeline.exited;
  }
  await admin?.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin?.end();
  await dropDatabase(ch, chDb);
  await ch.close();
  const topics = await withAdmin(async (a) => (await a.listTopics()).filter((t) => t.startsWith(`${namespace}.`) || t.startsWith(`${namespace}-`)));
  await deleteTopics(topics);
});

describe('rtdw reconcile --repair', () => {
  it('re-sends the rows deleted and changed in the mirror through the CDC until the mirror matches, and exits 0', async () => {
    expect((await reconcile([])).code).toBe(0);
    const deleted = [5, 6, 7, 250, 399];
    const before = await versions([...deleted, 42]);
    for (const [table, ids] of [['orders', deleted], ['areas', [3, 17]]] as const) {
      await ch.command({ query: `ALTER TABLE ${chDb}.ods_${table} DELETE WHERE id IN {ids:Array(Int64)}`, query_params: { ids }, clickhouse_settings: { mutations_sync: '2' } });
    }
    // order 42 changed in the mirror, as a newer version the pipeline never wrote
    const [order42] = await query<Record<string, string>>(ch, `SELECT * EXCEPT (_version, _is_deleted) FROM ${chDb}.ods_orders FINAL WHERE id = 42`);
    await ch.insert({ table: `${chDb}.ods_orders`, values: [{ ...order42, amount: '0.01', _version: String((before.get(42) ?? 0n) + 1n), _is_deleted: 0 }], format: 'JSONEachRow' });
    expect(await mirrorCount('orders')).toBe(395);

    const broken = await reconcile([]);
    expect(broken.code).toBe(1);
    expect(broken.report.results.find((r) => r.check === 'rows' && r.table === 'orders')?.mismatches.map((m) => [m.kind, m.locator.key])).toEqual([
      ['missing', '5'],
      ['missing', '6'],
      ['missing', '7'],
      ['different', '42'],
      ['missing', '250'],
      ['missing', '399'],
    ]);

    const repaired = await reconcile(['--repair', '--repair-timeout', '120000']);
    expect(repaired.code, JSON.stringify(repaired.report.repair)).toBe(0);
    expect(repaired.report.repair).toMatchObject({
      requested: [
        { table: 'areas', keys: 2, ranges: [{ after: '2', upTo: '17' }] },
        { table: 'orders', keys: 6, ranges: [{ after: '4', upTo: '42' }, { after: '249', upTo: '250' }, { after: '398', upTo: '399' }] },
      ],
      notRepairable: [],
      remaining: 0,
    });
    expect(repaired.report.repair?.repaired).toBeGreaterThanOrEqual(8);
    expect(await mirrorCount('orders')).toBe(400);
    // they came back through Kafka: newer versions (offsets) than the ones deleted or planted
    const after = await versions([...deleted, 42]);
    for (const id of [...deleted, 42]) expect(after.get(id), `order ${id}`).toBeGreaterThan(before.get(id) ?? 0n);
    const [fixed] = await query<{ amount: string }>(ch, `SELECT toString(amount) AS amount FROM ${chDb}.ods_orders FINAL WHERE id = 42`);
    expect(fixed?.amount).toBe(String(order42?.amount).replace(/0+$/, '').replace(/\.$/, ''));
    expect((await reconcile([])).code).toBe(0);
  });

  it('names a row extra in the mirror as not repairable and exits 1', async () => {
    await ch.insert({ table: `${chDb}.ods_areas`, values: [{ id: 999, province: '无', city: '无', _version: '1', _is_deleted: 0 }], format: 'JSONEachRow' });
    const { code, report } = await reconcile(['--repair', '--repair-timeout', '5000']);
    expect(code).toBe(1);
    expect(report.repair).toMatchObject({ requested: [], notRepairable: ['areas id=999'], repaired: 0 });
  });
});

/**
 * rtdw reconcile on a private MySQL database and ClickHouse mirror (fixture.ts): an untouched pair
 * matches (exit 0); each kind of corruption of the mirror is found, named and exits 1; buckets the
 * watermark has not passed are pending, not judged; a service away or a table missing exits 2.
 * Event times are wall-clock in Asia/Shanghai, so a run comparing them as UTC would judge the wrong
 * buckets. The tests run in order on one pair: the corruptions come after the clean run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { loadConfig, repoRoot } from '../../schemas/config.js';
import { registry } from '../../connectors/observability/metrics.js';
import type { Mismatch } from '../../jobs/reconcile/check.js';
import { reconcileOptions, type ReconcileFlags } from '../../jobs/reconcile/options.js';
import { exitCodeOf, formatReport, type ReconcileReport } from '../../jobs/reconcile/report.js';
import { CHECK_NAMES, reconcile } from '../../jobs/reconcile/run.js';
import { createPair, fillSource, insertMirror, mirrorCopy, publishProgress, shopModel, sourceRows, type Pair, type Row } from './fixture.js';

const run = promisify(execFile);
const ZONE = 'Asia/Shanghai';
const START = '2024-05-01 00:00:00';
/** The range, 3 h of Shanghai wall clock; the watermark judges its first 2 h. */
const FROM = '2024-05-01T00:00:00+08:00';
const TO = '2024-05-01T03:00:00+08:00';
const LATENESS_MS = 60_000;
/** A bucket ending at 02:00 Shanghai is judged once watermark >= its end - 1 ms + lateness. */
const WATERMARK = Date.parse('2024-05-01T02:00:00+08:00') - 1 + LATENESS_MS;
/** Checks 1 and 2, the mirror's (check 3 has ads.it.test.ts). */
const FLAGS = ['--checks', 'buckets,rows', '--from', FROM, '--to', TO, '--chunk-rows', '400', '--leaf-rows', '40', '--recheck-after', '100'];

let pair: Pair;

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/rtdw.mjs', 'reconcile', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...pair.env, RTDW_ALLOWED_LATENESS_MS: String(LATENESS_MS), LOG_LEVEL: 'warn', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function mismatches(report: ReconcileReport, check: string): Mismatch[] {
  return report.results.filter((r) => r.check === check).flatMap((r) => r.mismatches);
}

function result(report: ReconcileReport, check: string, table: string) {
  const found = report.results.find((r) => r.check === check && r.table === table);
  if (found === undefined) throw new Error(`no ${check} result for ${table}`);
  return found;
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [rows] = await pair.admin.query(sql, params);
  return Number((rows as { n: string }[])[0]?.n);
}

async function scalar(sql: string, params: unknown[] = []): Promise<string> {
  const [rows] = await pair.admin.query(sql, params);
  return String(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0]);
}

function field(row: Row, column: string): string {
  const value = row[column];
  if (value === undefined) throw new Error(`row without ${column}: ${JSON.stringify(row)}`);
  return value;
}

/** Whether the wall-clock text of `column` lies in [from, to). */
function between(row: Row, column: string, from: string, to: string): boolean {
  const value = field(row, column);
  return value >= from && value < to;
}

/** MySQL's difference text ("234.50", "-0.10") spelled as the report does ("+234.5", "-0.1"). */
function signed(d: string): string {
  const trimmed = d.includes('.') ? d.replace(/0+$/, '').replace(/\.$/, '') : d;
  return trimmed.startsWith('-') || trimmed === '0' ? trimmed : `+${trimmed}`;
}

function inProcessOptions(flags: ReconcileFlags) {
  return reconcileOptions({ checks: 'buckets,rows', from: FROM, to: TO, chunkRows: '400', leafRows: '40', recheckAfter: '100', ...flags }, CHECK_NAMES, { RTDW_TIMEZONE: ZONE, RTDW_ALLOWED_LATENESS_MS: String(LATENESS_MS) });
}

beforeAll(async () => {
  pair = await createPair('rc', ZONE);
  await fillSource(pair, shopModel(START));
  await mirrorCopy(pair);
  await publishProgress(pair, 'ods', WATERMARK - 3_600_000);
  await publishProgress(pair, 'ods', WATERMARK);
});

afterAll(async () => {
  await pair?.drop();
});

describe('rtdw reconcile', () => {
  it('exits 0 on an untouched pair, judging the buckets the watermark passed and the rows in them', async () => {
    const { code, stdout, stderr } = await cli([...FLAGS, '--json']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as ReconcileReport;
    expect(report.status).toBe('ok');
    expect(report.totals.mismatches).toBe(0);
    expect(report.progress).toMatchObject({ job: 'ods', watermark: new Date(WATERMARK).toISOString(), judgedUntil: '2024-05-01 02:00:00.000' });
    for (const table of ['orders', 'payments', 'refunds', 'users']) {
      // 2 h judged = 24 buckets, the third hour pending.
      expect(result(report, 'buckets', table).judged.count).toBe(24);
      expect(result(report, 'buckets', table).pending.map((p) => [p.from, p.to, p.buckets])).toEqual([['2024-05-01 02:00:00.000', '2024-05-01 03:00:00.000', 12]]);
    }
    const ts = { orders: 'created_at', payments: 'paid_at', refunds: 'created_at', users: 'created_at' };
    for (const [table, column] of Object.entries(ts)) {
      const judged = await count(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${column} >= '2024-05-01 00:00:00' AND ${column} < '2024-05-01 02:00:00'`);
      expect(result(report, 'rows', table).judged.count, table).toBe(judged);
    }
    for (const table of ['areas', 'products', 'order_items']) {
      expect(result(report, 'rows', table).judged.count).toBe(await count(`SELECT COUNT(*) AS n FROM \`${table}\``));
      expect(result(report, 'rows', table).pending).toEqual([]);
    }
    // Several chunks per table: order_items (3500 rows) in chunks of 400.
    expect(result(report, 'rows', 'order_items').notes).toContain('9 chunk(s) of up to 400 rows');
    const [history] = await (await pair.ch.query({ query: `SELECT status, toString(mismatches) AS mismatches, toString(pending) AS pending FROM ${pair.clickhouseDb}.reconcile_runs WHERE run_id = {id:String}`, query_params: { id: report.runId }, format: 'JSONEachRow' })).json<Record<string, string>>();
    expect(history).toEqual({ status: 'ok', mismatches: '0', pending: String(2 * 4 * 12) });
  });

  it('finds a row deleted, changed, added and marked deleted in the mirror, names each and exits 1', async () => {
    // Source rows the corruptions start from, read with the test's own SQL.
    const judgedOrder = (await sourceRows(pair, 'orders')).find((r) => between(r, 'created_at', '2024-05-01 00:30', '2024-05-01 01:00')) as Row;
    const payment = (await sourceRows(pair, 'payments')).find((r) => between(r, 'paid_at', '2024-05-01 01:00', '2024-05-01 01:30')) as Row;
    const user = (await sourceRows(pair, 'users')).find((r) => between(r, 'created_at', '2024-05-01 00:10', '2024-05-01 01:50')) as Row;
    const product = (await sourceRows(pair, 'products'))[20] as Row;
    const pendingOrder = (await sourceRows(pair, 'orders')).find((r) => between(r, 'created_at', '2024-05-01 02:10', '2024-05-01 02:50')) as Row;
    const refundOrder = (await sourceRows(pair, 'orders'))[5] as Row;
    for (const id of [field(judgedOrder, 'id'), field(pendingOrder, 'id')]) {
      await pair.ch.command({ query: `ALTER TABLE ${pair.clickhouseDb}.ods_orders DELETE WHERE id = {id:Int64}`, query_params: { id }, clickhouse_settings: { mutations_sync: '2' } });
    }
    await insertMirror(pair, 'payments', [{ ...payment, amount: '1234.56', _version: 20, _is_deleted: 0 }]);
    await insertMirror(pair, 'refunds', [{ id: '5000', order_id: field(refundOrder, 'id'), amount: '42.00', created_at: '2024-05-01 01:07:00.000', _version: 20, _is_deleted: 0 }]);
    await insertMirror(pair, 'users', [{ ...user, _version: 20, _is_deleted: 1 }]);
    await insertMirror(pair, 'products', [{ ...product, name: '改名 renamed', _version: 20, _is_deleted: 0 }]);

    const metricsFile = join(mkdtempSync(join(tmpdir(), 'rtdw-reconcile-')), 'reconcile.prom');
    const { code, stdout, stderr } = await cli([...FLAGS, '--json', '--metrics-file', metricsFile]);
    expect(code, stderr).toBe(1);
    const metrics = readFileSync(metricsFile, 'utf8');
    expect(metrics).toMatch(/^rtdw_reconcile_last_result 1$/m);
    expect(metrics).toMatch(/^rtdw_reconcile_mismatches\{check="rows",table="payments"\} 1$/m);
    expect(metrics).toMatch(/^rtdw_reconcile_pending_buckets\{check="buckets",table="orders"\} 12$/m);
    const report = JSON.parse(stdout) as ReconcileReport;
    expect(report.status).toBe('mismatch');

    const rows = mismatches(report, 'rows').map((m) => ({ table: m.table, location: m.location, kind: m.kind, differences: m.differences }));
    const text = (r: Row, columns: string[]) => columns.map((c) => `${c}=${r[c]}`).join(' ');
    expect(rows).toEqual([
      {
        table: 'users',
        location: `id=${field(user, 'id')}`,
        kind: 'missing',
        differences: [{ measure: 'row', source: text(user, ['id', 'name', 'area_id', 'channel', 'created_at']), sink: null, difference: 'missing in mirror: deleted there (_is_deleted = 1, _version 20)' }],
      },
      { table: 'products', location: `id=${field(product, 'id')}`, kind: 'different', differences: [{ measure: 'name', source: field(product, 'name'), sink: '改名 renamed', difference: 'changed' }] },
      {
        table: 'orders',
        location: `id=${field(judgedOrder, 'id')}`,
        kind: 'missing',
        differences: [{ measure: 'row', source: text(judgedOrder, ['id', 'user_id', 'area_id', 'amount', 'status', 'created_at', 'updated_at']), sink: null, difference: 'missing in mirror' }],
      },
      { table: 'payments', location: `id=${field(payment, 'id')}`, kind: 'different', differences: [{ measure: 'amount', source: field(payment, 'amount'), sink: '1234.56', difference: signed(await scalar('SELECT CAST(1234.56 - amount AS CHAR) FROM payments WHERE id = ?', [field(payment, 'id')])) }] },
      {
        table: 'refunds',
        location: 'id=5000',
        kind: 'extra',
        differences: [{ measure: 'row', source: null, sink: `id=5000 order_id=${field(refundOrder, 'id')} amount=42.00 created_at=2024-05-01 01:07:00.000`, difference: 'extra in mirror' }],
      },
    ]);

    // Check 1: the buckets holding those rows, with MySQL's figures from the test's own SQL.
    const bucketOf = (ts: string) => {
      const minute = Number(ts.slice(14, 16));
      const start = `${ts.slice(0, 14)}${String(minute - (minute % 5)).padStart(2, '0')}`;
      const endMinute = minute - (minute % 5) + 5;
      const end = endMinute === 60 ? `${ts.slice(0, 11)}${String(Number(ts.slice(11, 13)) + 1).padStart(2, '0')}:00` : `${ts.slice(0, 14)}${String(endMinute).padStart(2, '0')}`;
      return { start, end };
    };
    const figures = async (table: string, column: string, ts: string) => {
      const b = bucketOf(ts);
      const [r] = (await pair.admin.query(`SELECT CAST(COUNT(*) AS CHAR) AS n, CAST(SUM(amount) AS CHAR) AS amount FROM \`${table}\` WHERE ${column} >= ? AND ${column} < ?`, [`${b.start}:00`, `${b.end}:00`]))[0] as Record<string, string>[];
      return { label: `${b.start} – ${b.end.slice(11)}`, n: r?.n ?? '0', amount: r?.amount ?? '0' };
    };
    const buckets = mismatches(report, 'buckets');
    expect(buckets.map((m) => [m.table, m.location]).sort()).toEqual(
      [
        ['orders', (await figures('orders', 'created_at', field(judgedOrder, 'created_at'))).label],
        ['payments', (await figures('payments', 'paid_at', field(payment, 'paid_at'))).label],
        ['refunds', (await figures('refunds', 'created_at', '2024-05-01 01:07:00.000')).label],
        ['users', bucketOf(field(user, 'created_at')).start + ' – ' + bucketOf(field(user, 'created_at')).end.slice(11)],
      ].sort(),
    );
    const byTable = (t: string) => buckets.find((m) => m.table === t) as Mismatch;
    const o = await figures('orders', 'created_at', field(judgedOrder, 'created_at'));
    expect(byTable('orders').differences.find((d) => d.measure === 'count')).toEqual({ measure: 'count', source: o.n, sink: String(Number(o.n) - 1), difference: '-1' });
    expect(byTable('orders').differences.find((d) => d.measure === 'sum(amount)')?.source).toBe(o.amount);
    const p = await figures('payments', 'paid_at', field(payment, 'paid_at'));
    // Only the amount changed: count and the other sums agree.
    expect(byTable('payments').differences.map((d) => [d.measure, d.source])).toEqual([['sum(amount)', p.amount]]);
    const r = await figures('refunds', 'created_at', '2024-05-01 01:07:00.000');
    expect(byTable('refunds').differences.find((d) => d.measure === 'count')).toEqual({ measure: 'count', source: r.n, sink: String(Number(r.n) + 1), difference: '+1' });
    expect(byTable('users').differences.find((d) => d.measure === 'count')?.difference).toBe('-1');

    // The order deleted in a pending bucket is not judged; nothing else is reported.
    expect(JSON.stringify(report.results.flatMap((x) => x.mismatches))).not.toContain(`id=${field(pendingOrder, 'id')}`);
    expect(report.totals).toMatchObject({ mismatches: 9, settled: 0 });

    // The readable report names the same things.
    const lines = formatReport(report).split('\n');
    expect(lines.find((l) => l.startsWith('rows') && l.includes(`id=${field(payment, 'id')}`))?.split(/\s{2,}/).slice(0, 6)).toEqual(['rows', 'payments', `id=${field(payment, 'id')}`, 'amount', field(payment, 'amount'), '1234.56']);
    expect(lines.at(-1)).toMatch(/^MISMATCH: 9 mismatch\(es\), 96 pending bucket\(s\)/);
    const [history] = await (await pair.ch.query({ query: `SELECT status, toString(mismatches) AS mismatches FROM ${pair.clickhouseDb}.reconcile_runs WHERE run_id = {id:String}`, query_params: { id: report.runId }, format: 'JSONEachRow' })).json<Record<string, string>>();
    expect(history).toEqual({ status: 'mismatch', mismatches: '9' });
  });

  it('leaves every event-time bucket pending when the gating job has published no progress', async () => {
    const report = await reconcile(pair.config, inProcessOptions({ job: 'no-such-job' }));
    expect(exitCodeOf(report)).toBe(1);
    for (const table of ['orders', 'payments', 'refunds', 'users']) {
      for (const check of ['buckets', 'rows']) {
        const r = result(report, check, table);
        expect([r.judged.count, r.mismatchCount, r.pending[0]?.buckets]).toEqual([0, 0, 36]);
        expect(r.pending[0]?.reason).toContain('no progress row for job "no-such-job"');
      }
    }
    // Tables without an event time are judged regardless: the renamed product is still found.
    expect(mismatches(report, 'rows').map((m) => [m.table, m.kind])).toEqual([['products', 'different']]);
    expect(await registry.getSingleMetricAsString('rtdw_reconcile_mismatches')).toContain('rtdw_reconcile_mismatches{check="rows",table="products"} 1');
    expect(await registry.getSingleMetricAsString('rtdw_reconcile_last_result')).toMatch(/rtdw_reconcile_last_result 1$/m);
  });

  it('counts a difference gone on recheck as settled (a change in flight), not as a mismatch', async () => {
    const order = (await sourceRows(pair, 'orders')).find((r) => between(r, 'created_at', '2024-05-01 01:00', '2024-05-01 01:30')) as Row;
    await insertMirror(pair, 'orders', [{ ...order, status: 'in-flight', _version: 30, _is_deleted: 0 }]);
    let repaired = false;
    const report = await reconcile(pair.config, inProcessOptions({ tables: 'orders' }), {
      wait: async () => {
        // The pipeline catches up between the first read and the recheck.
        await insertMirror(pair, 'orders', [{ ...order, _version: 31, _is_deleted: 0 }]);
        repaired = true;
      },
    });
    expect(repaired).toBe(true);
    const rows = result(report, 'rows', 'orders');
    expect(rows.settled).toBe(1);
    // The earlier corruption of this table (a deleted order) is still there.
    expect(rows.mismatches.map((m) => m.kind)).toEqual(['missing']);
    expect(report.status).toBe('mismatch');
  });

  it('exits 2 with the reason when ClickHouse is unreachable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const { code, stdout } = await cli(FLAGS, { CLICKHOUSE_URL: `http://127.0.0.1:${closedPort}` });
    expect(code).toBe(2);
    expect(stdout).toContain(`could not run: ClickHouse at http://127.0.0.1:${closedPort} is unreachable`);
  });

  it('exits 2 with the reason when MySQL is unreachable or a mirror table is missing', async () => {
    const down = await reconcile(loadConfig({ ...process.env, ...pair.env, MYSQL_PORT: '1' }), inProcessOptions({ history: false }));
    expect([exitCodeOf(down), down.error]).toEqual([2, expect.stringMatching(/^MySQL at 127\.0\.0\.1:1 .* is unreachable/)]);
    await pair.ch.command({ query: `RENAME TABLE ${pair.clickhouseDb}.ods_refunds TO ${pair.clickhouseDb}.ods_refunds_away` });
    try {
      const missing = await reconcile(pair.config, inProcessOptions({}));
      expect(exitCodeOf(missing)).toBe(2);
      expect(missing.error).toBe(`ClickHouse table ${pair.clickhouseDb}.ods_refunds is missing`);
    } finally {
      await pair.ch.command({ query: `RENAME TABLE ${pair.clickhouseDb}.ods_refunds_away TO ${pair.clickhouseDb}.ods_refunds` });
    }
  });
});

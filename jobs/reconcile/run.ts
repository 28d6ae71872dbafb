/**
 * One reconcile run: connect to both sides (as the CDC user on MySQL), read both catalogs and the
 * gating job's watermark, run each check over every table, read the differences found again after
 * `recheckAfterMs` (a change still on its way through the pipeline is not a mismatch, as DM's
 * continuous validator retries rows before it reports them), then record the run in
 * reconcile_runs and the metrics. A run that cannot judge (a service unreachable, a table missing,
 * a query failing) ends with status `error` and the reason, never with a partial verdict.
 */
import { randomUUID } from 'node:crypto';
import type { RtdwConfig } from '../../schemas/config.js';
import { SOURCE_TABLES } from '../../schemas/events.js';
import { loadRedisSinkOptions } from '../../connectors/redis/config.js';
import { adsCheck } from './ads/ads-check.js';
import { connectScreens, screensCheck, type ScreenSource } from './ads/screens.js';
import { bucketsCheck, BUCKETS_CHECK } from './buckets.js';
import type { Check, CheckContext, CheckResult } from './check.js';
import { assertClickHouseReachable, connectClickHouse, type ClickHouseReader } from './clickhouse.js';
import { recordRun } from './history.js';
import { recordMetrics } from './metrics.js';
import { connectMysql, type MysqlReader } from './mysql.js';
import type { ReconcileOptions } from './options.js';
import { totalsOf, type ReconcileReport } from './report.js';
import { ROWS_CHECK, rowsCheck } from './rows.js';
import { repairable, repairPlan, requestRepairs, type RepairReport } from './repair.js';
import { assertIdentifier } from './sql.js';
import { loadTableSpecs } from './tables.js';
import { formatInstant, formatWall } from './wall-clock.js';
import { judgedWindow, type GatingProgress } from './window.js';

/** Every check, in the order a run applies them: the mirror (1, 2), then the ADS tables and the screens (3). */
export const CHECKS: readonly Check[] = [bucketsCheck, rowsCheck, adsCheck, screensCheck];
export const CHECK_NAMES: readonly string[] = CHECKS.map((c) => c.name);

export interface ReconcileDeps {
  /** the pause before the recheck; a test can act during it */
  wait?: (ms: number) => Promise<void>;
  /** progress lines (stderr in the command) */
  log?: (message: string) => void;
}

/** How often a repair's differences are read again while the pipeline re-sends them. */
const REPAIR_POLL_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function readProgress(clickhouse: ClickHouseReader, job: string, allowedLatenessMs: number): Promise<GatingProgress> {
  const tables = await clickhouse.rows<{ name: string }>("SELECT name FROM system.tables WHERE database = {database:String} AND name = 'pipeline_progress'", {
    database: clickhouse.database,
  });
  if (tables.length === 0) throw new Error(`ClickHouse table ${clickhouse.database}.pipeline_progress is missing`);
  const [row] = await clickhouse.rows<{ n: string; w: string }>(
    'SELECT toString(count()) AS n, toString(toUnixTimestamp64Milli(argMax(watermark, updated_at))) AS w FROM pipeline_progress WHERE job = {job:String}',
    { job },
  );
  return { job, watermark: row === undefined || row.n === '0' ? undefined : Number(row.w), allowedLatenessMs };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function reconcile(config: RtdwConfig, options: ReconcileOptions, deps: ReconcileDeps = {}): Promise<ReconcileReport> {
  const wait = deps.wait ?? sleep;
  const log = deps.log ?? (() => undefined);
  const started = Date.now();
  const checks = CHECKS.filter((c) => options.checks.includes(c.name));
  const report: ReconcileReport = {
    runId: randomUUID(),
    startedAt: formatInstant(started),
    finishedAt: formatInstant(started),
    durationMs: 0,
    status: 'error',
    source: { database: config.mysql.database },
    sink: { url: config.clickhouse.url, database: config.clickhouse.database },
    range: { from: formatInstant(options.from), to: formatInstant(options.to), timezone: options.timezone },
    checks: checks.map((c) => c.name),
    results: [],
    totals: { checks: 0, mismatches: 0, pending: 0, settled: 0 },
  };
  let clickhouse: ClickHouseReader | undefined;
  let mysql: MysqlReader | undefined;
  let clickhouseUp = false;
  let screens: Promise<ScreenSource> | undefined;
  try {
    assertIdentifier(config.mysql.database, 'MYSQL_DATABASE');
    assertIdentifier(config.clickhouse.database, 'CLICKHOUSE_DATABASE');
    clickhouse = connectClickHouse(config.clickhouse);
    await assertClickHouseReachable(clickhouse);
    clickhouseUp = true;
    mysql = await connectMysql(config.mysql);
    const mirrorChecks = checks.some((c) => c.name === BUCKETS_CHECK || c.name === ROWS_CHECK);
    const sourceTables = (options.tables ?? SOURCE_TABLES).filter((t) => (SOURCE_TABLES as readonly string[]).includes(t));
    const tables = mirrorChecks ? await loadTableSpecs(mysql, clickhouse, config.mysql.database, config.clickhouse.database, sourceTables) : [];
    const progress = await readProgress(clickhouse, options.job, options.allowedLatenessMs);
    const window = judgedWindow(options.timezone, options.from, options.to, progress);
    report.progress = {
      job: progress.job,
      watermark: progress.watermark === undefined ? null : formatInstant(progress.watermark),
      allowedLatenessMs: progress.allowedLatenessMs,
      judgedUntil: formatWall(window.judgedUntilWall),
    };
    const ch = clickhouse;
    const namespace = config.pipeline.namespace;
    const ctx: CheckContext = {
      mysql,
      clickhouse,
      tables,
      window,
      limits: options.limits,
      run: { from: options.from, to: options.to, timezone: options.timezone, allowedLatenessMs: options.allowedLatenessMs, tables: options.tables },
      progressOf: (job) => readProgress(ch, job, options.allowedLatenessMs),
      screens: () => {
        screens ??= (async () => {
          const redis = loadRedisSinkOptions(namespace);
          return connectScreens(config.redis.url, namespace, redis.hashTags, redis.clusterNodes);
        })();
        return screens;
      },
    };
    let results: { check: Check; result: CheckResult }[] = [];
    for (const check of checks) {
      const t0 = Date.now();
      for (const result of await runCheck(check, ctx)) results.push({ check, result });
      log(`reconcile: ${check.name} done in ${Date.now() - t0} ms`);
    }
    if (options.recheckAfterMs > 0 && results.some((r) => r.result.mismatches.length > 0)) {
      log(`reconcile: differences found, reading them again in ${options.recheckAfterMs} ms`);
      await wait(options.recheckAfterMs);
      const rechecked: typeof results = [];
      for (const r of results) rechecked.push({ check: r.check, result: r.result.mismatches.length === 0 ? r.result : await r.check.recheck(ctx, r.result) });
      results = rechecked;
    }
    if (options.repair && results.some((r) => r.result.mismatches.length > 0)) {
      const plan = repairPlan(results.map((r) => r.result));
      const repair: RepairReport = { requested: plan.requests, notRepairable: plan.notRepairable, repaired: 0, remaining: 0, waitedMs: 0 };
      report.repair = repair;
      const listed = () => results.reduce((n, r) => n + r.result.mismatches.length, 0);
      const before = listed();
      try {
        if (plan.requests.length > 0) {
          await requestRepairs(config, plan.requests);
          log(`reconcile: re-sending ${plan.requests.map((r) => `${r.table} (${r.ranges.length} key range(s))`).join(', ')} through the CDC; reading the differences again until they are gone`);
          const t0 = Date.now();
          for (;;) {
            await wait(REPAIR_POLL_MS);
            const rechecked: typeof results = [];
            // what a repair removed is repaired, not settled (in flight)
            for (const r of results) rechecked.push({ check: r.check, result: r.result.mismatches.length === 0 ? r.result : { ...(await r.check.recheck(ctx, r.result)), settled: r.result.settled } });
            results = rechecked;
            if (repairable(results.map((r) => r.result), plan.requests) === 0 || Date.now() - t0 >= options.repairTimeoutMs) break;
          }
          repair.waitedMs = Date.now() - t0;
        }
      } catch (err) {
        repair.error = message(err);
      }
      repair.remaining = listed();
      repair.repaired = before - repair.remaining;
    }
    report.results = results.map((r) => r.result);
    report.totals = totalsOf(report.results);
    report.status = report.totals.mismatches > 0 ? 'mismatch' : 'ok';
  } catch (err) {
    report.status = 'error';
    report.error = message(err);
    report.totals = totalsOf(report.results);
  } finally {
    await mysql?.close().catch(() => undefined);
    await screens?.then((s) => s.close()).catch(() => undefined);
  }
  const finished = Date.now();
  report.finishedAt = formatInstant(finished);
  report.durationMs = finished - started;
  if (options.history && clickhouse !== undefined && clickhouseUp) {
    try {
      await recordRun(clickhouse, report);
    } catch (err) {
      log(`reconcile: the run could not be recorded in ${config.clickhouse.database}.reconcile_runs: ${message(err)}`);
    }
  }
  await clickhouse?.close().catch(() => undefined);
  recordMetrics(report);
  return report;
}

async function runCheck(check: Check, ctx: CheckContext): Promise<CheckResult[]> {
  try {
    return await check.run(ctx);
  } catch (err) {
    throw new Error(`check ${check.name}: ${message(err)}`);
  }
}

/**
 * `rtdw run` reconciling on its own: with RTDW_RECONCILE_EVERY set (e.g. 15m), a run of every check over
 * the last 24 h (the command's defaults, RTDW_TIMEZONE and RTDW_ALLOWED_LATENESS_MS) starts that long
 * after the previous one ended — runs never overlap, however long one takes. The last report is kept
 * for the process to expose; each run lands in reconcile_runs and in the metrics like the command's
 * (metrics.ts: rtdw_reconcile_last_result, and the periodic gauges).
 */
import type { Logger } from '../../connectors/observability/logger.js';
import { ConfigError, type RtdwConfig } from '../../schemas/config.js';
import { periodicMetrics } from './metrics.js';
import { reconcileOptions, type ReconcileOptions } from './options.js';
import { exitCodeOf, type ReconcileReport } from './report.js';
import { CHECK_NAMES, reconcile } from './run.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as 900ms, 30s, 15m, 1h, 1d; undefined when `text` is not one (or is zero). */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (m === null) return undefined;
  const ms = Number(m[1]) * (UNITS[m[2] as string] as number);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** RTDW_RECONCILE_EVERY in ms; undefined when unset (no periodic reconcile). Throws a ConfigError naming a bad value. */
export function reconcileEvery(env: Record<string, string | undefined> = process.env): number | undefined {
  const text = env.RTDW_RECONCILE_EVERY;
  if (text === undefined || text === '') return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) throw new ConfigError(['RTDW_RECONCILE_EVERY: expected a duration such as 30s, 15m or 1h']);
  return ms;
}

export type RunReconcile = (config: RtdwConfig, options: ReconcileOptions) => Promise<ReconcileReport>;

export class PeriodicReconcile {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private lastReport: ReconcileReport | undefined;

  constructor(
    private readonly config: RtdwConfig,
    readonly everyMs: number,
    private readonly log: Logger,
    private readonly runOnce: RunReconcile = (c, o) => reconcile(c, o, { log: (message) => log.debug({ message }, 'reconcile') }),
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  /** The report of the last run that finished; undefined before the first. */
  get last(): ReconcileReport | undefined {
    return this.lastReport;
  }

  /** Schedules the first run `everyMs` from now (the pipeline catches up meanwhile). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    periodicMetrics().every.set(this.everyMs / 1000);
    this.schedule();
  }

  /** No run starts after this; resolves once the run under way, if any, has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.everyMs);
  }

  private async tick(): Promise<void> {
    let report: ReconcileReport;
    try {
      // The command's defaults, read afresh: the last 24 h up to now.
      report = await this.runOnce(this.config, reconcileOptions({}, CHECK_NAMES, this.env));
    } catch (err) {
      // reconcile() reports what it could not do in the report; this is a bug or bad options.
      this.log.error({ err: (err as Error).message }, 'periodic reconcile could not start');
      periodicMetrics().failures.inc();
      return;
    }
    this.lastReport = report;
    if (report.status === 'ok') periodicMetrics().lastOk.set(Date.parse(report.finishedAt) / 1000);
    const summary = { runId: report.runId, status: report.status, exit: exitCodeOf(report), ...report.totals, durationMs: report.durationMs };
    if (report.status === 'ok') this.log.info(summary, 'reconcile: everything judged matches');
    else if (report.status === 'mismatch') this.log.warn({ ...summary, first: report.results.flatMap((r) => r.mismatches).slice(0, 5).map((m) => `${m.check} ${m.table} ${m.location}`) }, 'reconcile: mismatches found');
    else this.log.error({ ...summary, error: report.error }, 'reconcile could not run');
  }
}

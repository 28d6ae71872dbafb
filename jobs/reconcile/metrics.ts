/** Prometheus metrics of reconcile runs (registered once per process): the last run's result, its mismatches and pending buckets, its duration. */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../../connectors/observability/metrics.js';
import { exitCodeOf, type ReconcileReport } from './report.js';

function create() {
  return {
    lastResult: new Gauge({ name: 'rtdw_reconcile_last_result', help: 'result of the last run: 0 everything judged matches, 1 mismatch, 2 could not run', registers: [registry] }),
    lastRun: new Gauge({ name: 'rtdw_reconcile_last_run_timestamp_seconds', help: 'when the last run finished', registers: [registry] }),
    duration: new Gauge({ name: 'rtdw_reconcile_duration_seconds', help: 'duration of the last run', registers: [registry] }),
    mismatches: new Gauge({ name: 'rtdw_reconcile_mismatches', help: 'mismatches found by the last run', labelNames: ['check', 'table'], registers: [registry] }),
    pending: new Gauge({ name: 'rtdw_reconcile_pending_buckets', help: 'event-time buckets the last run left pending (watermark not past them)', labelNames: ['check', 'table'], registers: [registry] }),
    settled: new Gauge({ name: 'rtdw_reconcile_settled', help: 'differences gone on recheck in the last run (changes in flight)', labelNames: ['check', 'table'], registers: [registry] }),
    runs: new Counter({ name: 'rtdw_reconcile_runs_total', help: 'reconcile runs by status', labelNames: ['status'], registers: [registry] }),
  };
}

let metrics: ReturnType<typeof create> | undefined;

export function reconcileMetrics(): ReturnType<typeof create> {
  metrics ??= create();
  return metrics;
}

export function recordMetrics(report: ReconcileReport): void {
  const m = reconcileMetrics();
  m.lastResult.set(exitCodeOf(report));
  m.lastRun.set(Date.parse(report.finishedAt) / 1000);
  m.duration.set(report.durationMs / 1000);
  m.runs.inc({ status: report.status });
  // Per-table figures describe the last run only: a table the last run did not judge has no series.
  m.mismatches.reset();
  m.pending.reset();
  m.settled.reset();
  for (const r of report.results) {
    const labels = { check: r.check, table: r.table };
    m.mismatches.set(labels, r.mismatchCount);
    m.pending.set(labels, r.pending.reduce((n, p) => n + p.buckets, 0));
    m.settled.set(labels, r.settled);
  }
}

function createPeriodic() {
  return {
    every: new Gauge({ name: 'rtdw_reconcile_every_seconds', help: 'interval of the periodic reconcile of rtdw run (RTDW_RECONCILE_EVERY)', registers: [registry] }),
    lastOk: new Gauge({ name: 'rtdw_reconcile_last_ok_timestamp_seconds', help: 'when the last periodic run that found everything judged matching finished', registers: [registry] }),
    failures: new Counter({ name: 'rtdw_reconcile_periodic_failures_total', help: 'periodic runs that could not start (bad options)', registers: [registry] }),
  };
}

let periodic: ReturnType<typeof createPeriodic> | undefined;

/** The gauges of the periodic reconcile (periodic.ts), besides the per-run ones above. */
export function periodicMetrics(): ReturnType<typeof createPeriodic> {
  periodic ??= createPeriodic();
  return periodic;
}

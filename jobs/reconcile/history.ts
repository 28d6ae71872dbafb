/**
 * Run history in ClickHouse: one row per run in `reconcile_runs` of the pipeline's database.
 * The CREATE is here, idempotent, until it moves into the versioned migrations (schemas/clickhouse).
 */
import type { ClickHouseReader } from './clickhouse.js';
import type { ReconcileReport } from './report.js';

export const RECONCILE_RUNS_DDL = `CREATE TABLE IF NOT EXISTS reconcile_runs
(
    run_id String,
    started_at DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    range_from DateTime64(3, 'UTC'),
    range_to DateTime64(3, 'UTC'),
    checks UInt32,
    mismatches UInt64,
    pending UInt64,
    settled UInt64,
    error String,
    report String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (started_at, run_id)`;

/** ISO instant → DateTime64(3) input text. */
function dateTime(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}

export async function recordRun(clickhouse: ClickHouseReader, report: ReconcileReport): Promise<void> {
  await clickhouse.command(RECONCILE_RUNS_DDL);
  await clickhouse.insert('reconcile_runs', [
    {
      run_id: report.runId,
      started_at: dateTime(report.startedAt),
      finished_at: dateTime(report.finishedAt),
      status: report.status,
      range_from: dateTime(report.range.from),
      range_to: dateTime(report.range.to),
      checks: report.totals.checks,
      mismatches: report.totals.mismatches,
      pending: report.totals.pending,
      settled: report.totals.settled,
      error: report.error ?? '',
      report: JSON.stringify(report),
    },
  ]);
}

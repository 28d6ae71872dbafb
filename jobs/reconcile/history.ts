/**
 * Run history in ClickHouse: one row per run in `reconcile_runs` of the pipeline's database, the table
 * of migration schemas/clickhouse/0005_reconcile.sql (`rtdw setup` creates it).
 */
import type { ClickHouseReader } from './clickhouse.js';
import type { ReconcileReport } from './report.js';

/** ISO instant → DateTime64(3) input text. */
function dateTime(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}

export async function recordRun(clickhouse: ClickHouseReader, report: ReconcileReport): Promise<void> {
  const [table] = await clickhouse.rows<{ n: string }>("SELECT toString(count()) AS n FROM system.tables WHERE database = {db:String} AND name = 'reconcile_runs'", { db: clickhouse.database });
  if (table?.n !== '1') throw new Error(`${clickhouse.database}.reconcile_runs is missing: run rtdw setup (migration 0005_reconcile.sql)`);
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

/**
 * A run's report: the JSON shape (`--json`, and the `report` column of reconcile_runs) and the
 * readable text of it — one line per difference (check, table, bucket/key, measure, source, sink,
 * difference), the pending buckets, a summary per check and table, the verdict.
 */
import type { CheckResult } from './check.js';
import type { RepairReport } from './repair.js';

export type RunStatus = 'ok' | 'mismatch' | 'error';

export interface ReconcileReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  status: RunStatus;
  /** why the run could not judge (status error) */
  error?: string;
  source: { database: string };
  sink: { url: string; database: string };
  /** requested range (UTC instants) and the zone of the event-time columns */
  range: { from: string; to: string; timezone: string };
  /** the gating job's watermark; absent when the run stopped before reading it */
  progress?: { job: string; watermark: string | null; allowedLatenessMs: number; judgedUntil: string };
  checks: string[];
  results: CheckResult[];
  /** what --repair re-sent and what it left */
  repair?: RepairReport;
  totals: { checks: number; mismatches: number; pending: number; settled: number };
}

export function totalsOf(results: CheckResult[]): ReconcileReport['totals'] {
  return {
    checks: results.length,
    mismatches: results.reduce((n, r) => n + r.mismatchCount, 0),
    pending: results.reduce((n, r) => n + r.pending.reduce((p, x) => p + x.buckets, 0), 0),
    settled: results.reduce((n, r) => n + r.settled, 0),
  };
}

/** 0 when everything judged matches, 1 on any mismatch, 2 when the run could not judge. */
export function exitCodeOf(report: Pick<ReconcileReport, 'status'>): 0 | 1 | 2 {
  return report.status === 'ok' ? 0 : report.status === 'mismatch' ? 1 : 2;
}

/** Columns padded to their widest cell (capped, so one long row text does not push every line). */
function table(header: string[], rows: string[][], cap = 40): string[] {
  const widths = header.map((h, i) => Math.min(cap, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const count = (n: number): string => n.toLocaleString('en-US');

export function formatReport(report: ReconcileReport): string {
  const out: string[] = [];
  const p = report.progress;
  out.push(`rtdw reconcile ${report.runId}: ${report.source.database} (MySQL) vs ${report.sink.database} (ClickHouse ${report.sink.url})`);
  out.push(`range ${report.range.from} → ${report.range.to}, event times in ${report.range.timezone}`);
  if (p !== undefined) {
    out.push(
      p.watermark === null
        ? `job ${p.job}: no progress published, every event-time bucket is pending`
        : `job ${p.job}: watermark ${p.watermark}, allowed lateness ${p.allowedLatenessMs} ms; buckets judged until ${p.judgedUntil} (wall clock)`,
    );
  }
  if (report.status === 'error') {
    out.push('', `could not run: ${report.error ?? 'unknown reason'}`);
    return out.join('\n');
  }
  const lines = report.results.flatMap((r) =>
    r.mismatches.flatMap((m) => m.differences.map((d) => [m.check, m.table, m.location, d.measure, d.source ?? '—', d.sink ?? '—', d.difference])),
  );
  if (lines.length > 0) out.push('', ...table(['check', 'table', 'bucket/key', 'measure', 'source', 'sink', 'difference'], lines));
  const unlisted = report.results.filter((r) => r.mismatchCount > r.mismatches.length);
  for (const r of unlisted) out.push(`  … ${r.check} ${r.table}: ${count(r.mismatchCount - r.mismatches.length)} more mismatch(es) counted, not listed`);
  const pending = report.results.flatMap((r) => r.pending);
  if (pending.length > 0) {
    out.push('', 'pending (not judged):');
    out.push(...table(['check', 'table', 'from', 'to', 'buckets'], pending.map((x) => [x.check, x.table, x.from, x.to, count(x.buckets)])).map((l) => `  ${l}`));
    // each gating job's reason once (check 3 gates every ADS table by its own job)
    for (const reason of new Set(pending.map((x) => x.reason))) out.push(`  ${reason}`);
  }
  const repair = report.repair;
  if (repair !== undefined) {
    out.push('', 'repair (re-sent through the CDC as snapshots of key ranges):');
    for (const r of repair.requested) out.push(`  ${r.table}: ${count(r.keys)} differing key(s) in ${count(r.ranges.length)} range(s) (after, upTo]: ${r.ranges.slice(0, 5).map((k) => `(${k.after ?? '-∞'}, ${k.upTo}]`).join(' ')}${r.ranges.length > 5 ? ' …' : ''}${r.offset === undefined ? '' : `; signal offset ${r.offset}`}`);
    for (const n of repair.notRepairable) out.push(`  not repairable: ${n} (extra in the mirror: the source has no row to re-send)`);
    if (repair.error !== undefined) out.push(`  could not request the repair: ${repair.error}`);
    out.push(`  ${count(repair.repaired)} difference(s) repaired, ${count(repair.remaining)} remaining, after ${(repair.waitedMs / 1000).toFixed(1)} s`);
  }
  out.push('', 'summary:');
  out.push(
    ...table(
      ['check', 'table', 'judged', 'mismatches', 'pending', 'settled'],
      report.results.map((r) => [r.check, r.table, `${count(r.judged.count)} ${r.judged.unit}`, count(r.mismatchCount), count(r.pending.reduce((n, x) => n + x.buckets, 0)), count(r.settled)]),
      48,
    ).map((l) => `  ${l}`),
  );
  const notes = report.results.flatMap((r) => r.notes.filter((n) => n.startsWith('not compared')).map((n) => `${r.table}: ${n}`));
  for (const n of [...new Set(notes)]) out.push(`  note: ${n}`);
  const t = report.totals;
  const verdict = report.status === 'ok' ? 'MATCH' : 'MISMATCH';
  out.push(
    '',
    `${verdict}: ${count(t.mismatches)} mismatch(es), ${count(t.pending)} pending bucket(s), ${count(t.settled)} settled on recheck, ${t.checks} check(s) in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return out.join('\n');
}

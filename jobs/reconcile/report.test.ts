import { describe, expect, it } from 'vitest';
import type { CheckResult } from './check.js';
import { exitCodeOf, formatReport, totalsOf, type ReconcileReport } from './report.js';

const results: CheckResult[] = [
  {
    check: 'buckets',
    table: 'orders',
    judged: { count: 12, unit: '5-min buckets' },
    mismatchCount: 1,
    mismatches: [
      {
        check: 'buckets',
        table: 'orders',
        location: '2024-05-01 10:05 – 10:10',
        kind: 'figures',
        differences: [{ measure: 'count', source: '3', sink: '2', difference: '-1' }],
        locator: { column: 'created_at', from: '2024-05-01 10:05:00.000', to: '2024-05-01 10:10:00.000' },
      },
    ],
    pending: [{ check: 'buckets', table: 'orders', from: '2024-05-01 11:00:00.000', to: '2024-05-01 11:10:00.000', buckets: 2, reason: 'watermark of job "ods" is …' }],
    settled: 0,
    notes: [],
  },
  {
    check: 'rows',
    table: 'orders',
    judged: { count: 1000, unit: 'rows' },
    mismatchCount: 3,
    mismatches: [
      {
        check: 'rows',
        table: 'orders',
        location: 'id=7',
        kind: 'different',
        differences: [{ measure: 'amount', source: '12.30', sink: '12.31', difference: '+0.01' }],
        locator: { key: '7' },
      },
    ],
    pending: [],
    settled: 1,
    notes: [],
  },
];

function report(status: ReconcileReport['status']): ReconcileReport {
  return {
    runId: 'run-1',
    startedAt: '2024-05-01T12:00:00.000Z',
    finishedAt: '2024-05-01T12:00:01.500Z',
    durationMs: 1500,
    status,
    ...(status === 'error' ? { error: 'ClickHouse at http://127.0.0.1:1 is unreachable' } : {}),
    source: { database: 'shop' },
    sink: { url: 'http://127.0.0.1:8123', database: 'rtdw' },
    range: { from: '2024-05-01T10:00:00.000Z', to: '2024-05-01T11:10:00.000Z', timezone: 'UTC' },
    progress: { job: 'ods', watermark: '2024-05-01T11:00:00.000Z', allowedLatenessMs: 60_000, judgedUntil: '2024-05-01 11:00:00.000' },
    checks: ['buckets', 'rows'],
    results: status === 'error' ? [] : results,
    totals: totalsOf(status === 'error' ? [] : results),
  };
}

describe('report', () => {
  it('totals mismatches, pending buckets and settled differences', () => {
    expect(totalsOf(results)).toEqual({ checks: 2, mismatches: 4, pending: 2, settled: 1 });
  });

  it('maps status to the exit code', () => {
    expect([exitCodeOf({ status: 'ok' }), exitCodeOf({ status: 'mismatch' }), exitCodeOf({ status: 'error' })]).toEqual([0, 1, 2]);
  });

  it('prints one line per difference, the pending buckets, unlisted counts and the verdict', () => {
    const text = formatReport(report('mismatch'));
    const lines = text.split('\n');
    expect(lines.find((l) => l.startsWith('buckets') && l.includes('2024-05-01 10:05 – 10:10'))?.split(/\s{2,}/)).toEqual(['buckets', 'orders', '2024-05-01 10:05 – 10:10', 'count', '3', '2', '-1']);
    expect(lines.find((l) => l.startsWith('rows'))?.split(/\s{2,}/)).toEqual(['rows', 'orders', 'id=7', 'amount', '12.30', '12.31', '+0.01']);
    expect(text).toContain('rows orders: 2 more mismatch(es) counted, not listed');
    expect(text).toMatch(/pending \(not judged\):\n.*\n\s+buckets\s+orders\s+2024-05-01 11:00:00.000\s+2024-05-01 11:10:00.000\s+2/);
    expect(lines.at(-1)).toBe('MISMATCH: 4 mismatch(es), 2 pending bucket(s), 1 settled on recheck, 2 check(s) in 1.5 s');
  });

  it('says why a run could not judge', () => {
    expect(formatReport(report('error'))).toContain('could not run: ClickHouse at http://127.0.0.1:1 is unreachable');
  });
});

import { describe, expect, it } from 'vitest';
import { createLogger } from '../../connectors/observability/logger.js';
import { registry } from '../../connectors/observability/metrics.js';
import { loadConfig } from '../../schemas/config.js';
import { PeriodicReconcile, parseDuration, reconcileEvery } from './periodic.js';
import type { ReconcileOptions } from './options.js';
import type { ReconcileReport } from './report.js';

const log = createLogger('periodic-test', 'silent');

function report(n: number, status: ReconcileReport['status']): ReconcileReport {
  const at = new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
  return { runId: `run-${n}`, startedAt: at, finishedAt: at, durationMs: 1, status, source: { database: 'shop' }, sink: { url: 'http://x', database: 'rtdw' }, range: { from: at, to: at, timezone: 'UTC' }, checks: [], results: [], totals: { checks: 0, mismatches: status === 'ok' ? 0 : 1, pending: 0, settled: 0 } };
}

describe('RTDW_RECONCILE_EVERY', () => {
  it('reads durations and names a bad one', () => {
    expect([parseDuration('900ms'), parseDuration('30s'), parseDuration('15m'), parseDuration('1h'), parseDuration('2d')]).toEqual([900, 30_000, 900_000, 3_600_000, 172_800_000]);
    expect([parseDuration('0s'), parseDuration('15'), parseDuration('1.5h'), parseDuration('-1m')]).toEqual([undefined, undefined, undefined, undefined]);
    expect(reconcileEvery({})).toBeUndefined();
    expect(reconcileEvery({ RTDW_RECONCILE_EVERY: '10m' })).toBe(600_000);
    expect(() => reconcileEvery({ RTDW_RECONCILE_EVERY: 'often' })).toThrow(/RTDW_RECONCILE_EVERY: expected a duration/);
  });
});

describe('PeriodicReconcile', () => {
  it('runs one at a time, keeps the last report, and stop() waits for the run under way', { timeout: 30_000 }, async () => {
    const seen: ReconcileOptions[] = [];
    let active = 0;
    let maxActive = 0;
    let release: (() => void) | undefined;
    let third: (() => void) | undefined;
    const thirdStarted = new Promise<void>((r) => (third = r));
    const statuses: ReconcileReport['status'][] = ['ok', 'mismatch', 'ok'];
    const periodic = new PeriodicReconcile(loadConfig({}), 1, log, async (_config, options) => {
      seen.push(options);
      active += 1;
      maxActive = Math.max(maxActive, active);
      const n = seen.length;
      if (n === 3) {
        // the third run is held until the test has called stop()
        await new Promise<void>((r) => {
          release = r;
          third?.();
        });
      }
      active -= 1;
      return report(n, statuses[n - 1] ?? 'ok');
    }, { RTDW_TIMEZONE: 'Asia/Shanghai' });
    expect(periodic.last).toBeUndefined();
    periodic.start();
    await thirdStarted;
    expect(periodic.last?.runId).toBe('run-2');
    const stopped = periodic.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    release?.();
    await stopped;
    expect(periodic.last?.runId).toBe('run-3');
    expect(seen).toHaveLength(3);
    expect(maxActive).toBe(1);
    // every run asks for the command's defaults: every check, the last 24 h, the zone of the environment
    expect(seen.map((o) => [o.timezone, o.to - o.from, o.checks.join(',')])).toEqual(Array(3).fill(['Asia/Shanghai', 86_400_000, 'buckets,rows,ads,screens']));
    expect(await registry.getSingleMetricAsString('rtdw_reconcile_every_seconds')).toMatch(/rtdw_reconcile_every_seconds 0\.001$/m);
    expect(await registry.getSingleMetricAsString('rtdw_reconcile_last_ok_timestamp_seconds')).toMatch(new RegExp(`rtdw_reconcile_last_ok_timestamp_seconds ${Date.UTC(2026, 0, 1, 0, 3) / 1000}$`, 'm'));
  });
});

import { describe, expect, it } from 'vitest';
import { OptionsError, reconcileOptions } from './options.js';

const now = Date.parse('2024-05-01T12:00:00Z');
const checks = ['buckets', 'rows'];

describe('reconcile options', () => {
  it('default to the last 24 h, every check, the ods job and the pipeline settings', () => {
    const o = reconcileOptions({}, checks, {}, now);
    expect([o.from, o.to]).toEqual([now - 86_400_000, now]);
    expect(o).toMatchObject({ timezone: 'UTC', job: 'ods', allowedLatenessMs: 60_000, checks, tables: undefined, history: true, recheckAfterMs: 5000 });
    expect(o.limits).toMatchObject({ chunkRows: 10_000, leafRows: 1_000, keyRangeWidth: 10_000, maxListed: 100 });
  });

  it('read instants with a zone as given and date-times without one in RTDW_TIMEZONE', () => {
    const env = { RTDW_TIMEZONE: 'Asia/Shanghai', RTDW_ALLOWED_LATENESS_MS: '5000' };
    const o = reconcileOptions({ from: '2024-05-01 08:00', to: '2024-05-01T04:00:00+02:00', tables: 'orders, payments', checks: 'rows' }, checks, env, now);
    expect(o.from).toBe(Date.parse('2024-05-01T00:00:00Z'));
    expect(o.to).toBe(Date.parse('2024-05-01T02:00:00Z'));
    expect(o).toMatchObject({ timezone: 'Asia/Shanghai', allowedLatenessMs: 5000, tables: ['orders', 'payments'], checks: ['rows'] });
  });

  it('name every bad value', () => {
    let error: unknown;
    try {
      reconcileOptions({ from: 'soon', checks: 'rows,ads', tables: 'orders;drop', chunkRows: '0', recheckAfter: '-1' }, checks, { RTDW_TIMEZONE: '+08:00' }, now);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OptionsError);
    const problems = (error as OptionsError).problems.join('\n');
    expect(problems).toMatch(/RTDW_TIMEZONE/);
    expect(problems).toMatch(/--from: expected/);
    expect(problems).toMatch(/unknown check "ads"/);
    expect(problems).toMatch(/--tables: unknown table "orders;drop"/);
    expect(problems).toMatch(/--chunk-rows/);
    expect(problems).toMatch(/--recheck-after/);
  });

  it('refuse --from after --to', () => {
    expect(() => reconcileOptions({ from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' }, checks, {}, now)).toThrow(/--from must be before --to/);
  });
});

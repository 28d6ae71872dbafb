import { describe, expect, it } from 'vitest';
import type { CheckResult, Mismatch } from './check.js';
import { keyRanges, repairable, repairPlan } from './repair.js';

const mismatch = (kind: Mismatch['kind'], locator: Record<string, string>): Mismatch => ({ check: 'rows', table: 'orders', location: JSON.stringify(locator), kind, differences: [], locator });
const result = (check: string, table: string, mismatches: Mismatch[]): CheckResult => ({ check, table, judged: { count: 1, unit: 'rows' }, mismatchCount: mismatches.length, mismatches, pending: [], settled: 0, notes: [] });

describe('reconcile --repair plan', () => {
  it('covers each key by a range (after, upTo], neighbours within 100 keys in one', () => {
    expect(keyRanges([5n, 300n, 3n, 103n, 5n, 404n])).toEqual([
      { after: 2n, upTo: 103n },
      { after: 299n, upTo: 300n },
      { after: 403n, upTo: 404n },
    ]);
  });

  it('re-sends missing and different rows and checksum-only ranges; extra rows are not repairable', () => {
    const rows = result('rows', 'orders', [mismatch('missing', { key: '7' }), mismatch('different', { key: '9' }), mismatch('extra', { key: '11' }), mismatch('checksum', { lo: '500', hi: '' })]);
    const plan = repairPlan([result('buckets', 'orders', [mismatch('figures', { column: 'created_at', from: 'a', to: 'b' })]), rows, result('rows', 'areas', [])]);
    expect(plan).toEqual({
      requests: [{ table: 'orders', keys: 2, ranges: [{ after: '6', upTo: '9' }, { after: '500', upTo: '9223372036854775807' }] }],
      notRepairable: ['orders {"key":"11"}'],
    });
    // what the repair waits for: the buckets and rows of orders, but the extra row
    expect(repairable([result('buckets', 'orders', [mismatch('figures', {})]), rows, result('ads', 'orders', [mismatch('different', {})])], plan.requests)).toBe(4);
  });
});

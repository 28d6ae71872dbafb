/** The dwd_order_wide job's stages in memory, on Canal messages as the CDC writes them. */
import { describe, expect, it } from 'vitest';
import { canalDdl, canalMessage, type CanalChange } from '../../test/support/canal-messages.js';
import { InMemoryJob } from '../../test/support/in-memory-job.js';
import { orderWideJob } from './order-wide.js';
import { PIPELINE_DEFAULTS, dwdTopics, type DwdJobOptions } from './options.js';

const ns = 'tst';
const topics = dwdTopics(ns);
const ES = Date.UTC(2026, 0, 1, 12);

function job(options: Partial<DwdJobOptions> = {}): InMemoryJob {
  return new InMemoryJob(orderWideJob({ ...PIPELINE_DEFAULTS, namespace: ns, partitions: 2, ...options }), { [topics.odsBinlog]: 2 });
}

function send(j: InMemoryJob, partition: number, change: CanalChange | { key: string; value: string }) {
  const { key, value } = 'value' in change ? change : canalMessage(change);
  return j.send(topics.odsBinlog, partition, key, value);
}

const order = (id: number, createdAt: string, more: Record<string, string> = {}) => ({ id: String(id), user_id: '7', area_id: '1', amount: '99.90', status: 'created', created_at: createdAt, updated_at: createdAt, ...more });
const payment = (id: number, orderId: number, paidAt: string, more: Record<string, string> = {}) => ({ id: String(id), order_id: String(orderId), amount: '99.90', status: 'success', paid_at: paidAt, ...more });
const area = { id: '1', province: '浙江', city: '杭州' };

/** The latest row per order id. */
function latest(j: InMemoryJob): Map<number, Record<string, unknown>> {
  const rows = new Map<number, Record<string, unknown>>();
  for (const v of j.values(topics.dwdOrderWide) as Array<Record<string, unknown>>) {
    const seen = rows.get(v.order_id as number);
    if (seen === undefined || (v._version as number) > (seen._version as number)) rows.set(v.order_id as number, v);
  }
  return rows;
}

describe('dwd_order_wide job', () => {
  it('writes the ClickHouse row: UTC DateTime64 text from Asia/Shanghai wall clock, exact decimals, _version and _is_deleted', () => {
    const j = job({ timeZone: 'Asia/Shanghai' });
    send(j, 0, { table: 'areas', type: 'INSERT', row: area, es: ES, snapshot: true });
    send(j, 1, { table: 'orders', type: 'INSERT', row: order(10, '2026-01-01 08:00:00.250'), es: ES });
    send(j, 0, { table: 'payments', type: 'INSERT', row: payment(5, 10, '2026-01-01 08:30:00.250', { amount: '99.9' }), es: ES + 1000 });
    expect(j.values(topics.dwdOrderWide)).toEqual([
      { order_id: 10, user_id: 7, province: '浙江', city: '杭州', amount: '99.90', status: 'created', created_at: '2026-01-01 00:00:00.250', first_paid_at: null, paid_amount: null, _version: 1, _is_deleted: 0 },
      // exactly created_at + 30 min: inside the bound
      { order_id: 10, user_id: 7, province: '浙江', city: '杭州', amount: '99.90', status: 'created', created_at: '2026-01-01 00:00:00.250', first_paid_at: '2026-01-01 00:30:00.250', paid_amount: '99.90', _version: 2, _is_deleted: 0 },
    ]);
  });

  it('measures the 30 minutes in real time across a DST gap (America/New_York 2026-03-08: 01:50 EST to 03:20 EDT)', () => {
    const j = job({ timeZone: 'America/New_York' });
    send(j, 0, { table: 'orders', type: 'INSERT', row: order(1, '2026-03-08 01:50:00.000'), es: ES });
    send(j, 0, { table: 'payments', type: 'INSERT', row: payment(2, 1, '2026-03-08 03:20:00.000'), es: ES });
    send(j, 0, { table: 'orders', type: 'INSERT', row: order(3, '2026-03-08 01:50:00.000'), es: ES });
    send(j, 0, { table: 'payments', type: 'INSERT', row: payment(4, 3, '2026-03-08 03:20:00.001'), es: ES });
    expect(latest(j).get(1)).toMatchObject({ created_at: '2026-03-08 06:50:00.000', first_paid_at: '2026-03-08 07:20:00.000', province: '', city: '' });
    expect(latest(j).get(3)).toMatchObject({ first_paid_at: null });
  });

  it('takes back what updates and deletes change: a payment moved to another order, a payment failed, an order deleted, an order id changed', () => {
    const j = job();
    send(j, 0, { table: 'areas', type: 'INSERT', row: area, es: ES });
    send(j, 0, { table: 'orders', type: 'INSERT', row: order(1, '2026-01-01 10:00:00.000'), es: ES });
    send(j, 1, { table: 'orders', type: 'INSERT', row: order(2, '2026-01-01 10:00:00.000'), es: ES });
    send(j, 1, { table: 'payments', type: 'INSERT', row: payment(9, 1, '2026-01-01 10:05:00.000'), es: ES });
    expect(latest(j).get(1)).toMatchObject({ first_paid_at: '2026-01-01 10:05:00.000' });
    send(j, 1, { table: 'payments', type: 'UPDATE', row: payment(9, 2, '2026-01-01 10:05:00.000'), old: { order_id: '1' }, es: ES });
    expect(latest(j).get(1)).toMatchObject({ first_paid_at: null });
    expect(latest(j).get(2)).toMatchObject({ first_paid_at: '2026-01-01 10:05:00.000' });
    send(j, 1, { table: 'payments', type: 'UPDATE', row: payment(9, 2, '2026-01-01 10:05:00.000', { status: 'fail' }), old: { status: 'success' }, es: ES });
    expect(latest(j).get(2)).toMatchObject({ first_paid_at: null });
    send(j, 1, { table: 'orders', type: 'DELETE', row: order(2, '2026-01-01 10:00:00.000'), es: ES });
    expect(latest(j).get(2)).toMatchObject({ _is_deleted: 1 });
    send(j, 0, { table: 'orders', type: 'UPDATE', row: order(3, '2026-01-01 10:00:00.000', { amount: '1.50' }), old: { id: '1', amount: '99.90' }, es: ES });
    expect(latest(j).get(1)).toMatchObject({ _is_deleted: 1 });
    expect(latest(j).get(3)).toMatchObject({ _is_deleted: 0, amount: '1.50' });
    // an area corrected re-emits its orders
    send(j, 0, { table: 'areas', type: 'UPDATE', row: { ...area, city: '宁波' }, old: { city: '杭州' }, es: ES });
    expect(latest(j).get(3)).toMatchObject({ city: '宁波' });
  });

  it('an order inserted with a created_at hours back is a correction; past the retention it goes to late_changes', () => {
    const j = job({ stateRetentionMs: 3 * 3_600_000, outOfOrdernessMs: 0 });
    // the binlog is at 12:00 UTC on both partitions
    send(j, 0, { table: 'users', type: 'INSERT', row: { id: '1', name: 'a' }, es: ES });
    send(j, 1, { table: 'users', type: 'INSERT', row: { id: '2', name: 'b' }, es: ES });
    send(j, 0, { table: 'orders', type: 'INSERT', row: order(1, '2026-01-01 10:00:00.000'), es: ES });
    expect(latest(j).get(1)).toMatchObject({ created_at: '2026-01-01 10:00:00.000' });
    send(j, 1, { table: 'orders', type: 'INSERT', row: order(2, '2026-01-01 08:59:59.998'), es: ES });
    expect(latest(j).has(2)).toBe(false);
    expect(j.values(topics.lateChanges)).toEqual([
      expect.objectContaining({ job: 'dwd_order_wide', table: 'orders', op: 'upsert', order_id: 2, event_time: '2026-01-01 08:59:59.998', watermark: '2026-01-01 11:59:59.999' }),
    ]);
  });

  it('skips DDL and other tables, dead-letters TRUNCATE of a joined table, malformed messages and bad values', () => {
    const j = job();
    send(j, 0, canalDdl('orders', 'ALTER', 'ALTER TABLE orders ADD COLUMN note TEXT', ES));
    send(j, 0, { table: 'users', type: 'INSERT', row: { id: '1', name: 'a' }, es: ES });
    send(j, 0, canalDdl('orders', 'TRUNCATE', 'TRUNCATE TABLE orders', ES));
    j.send(topics.odsBinlog, 0, null, '{"not":"canal"');
    send(j, 0, { table: 'orders', type: 'INSERT', row: order(1, '2026-01-01 10:00:00.000', { amount: '1.005' }), es: ES });
    send(j, 0, { table: 'orders', type: 'INSERT', row: order(2, '2026-02-30 10:00:00.000'), es: ES });
    const reasons = (j.values(topics.deadLetter) as Array<{ reason: string }>).map((d) => d.reason);
    expect(reasons).toEqual([
      expect.stringContaining('TRUNCATE of shop.orders'),
      'canal message: not JSON',
      expect.stringContaining('"1.005" has more than 2 fractional digits'),
      expect.stringContaining('orders.created_at: "2026-02-30 10:00:00.000" is not a valid date-time'),
    ]);
    expect(j.values(topics.dwdOrderWide)).toEqual([]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChangelogIntervalJoin,
  type ChangelogIntervalJoinOptions,
  type ChangelogIntervalJoinSnapshot,
  type ChangelogJoinInput,
  type ChangelogJoinOutput,
} from './changelog-interval-join.js';

interface Order {
  user: string;
  area: string;
  amount: string;
  status: string;
}
interface Payment {
  amount: string;
  status: 'success' | 'fail';
}
interface Area {
  province: string;
  city: string;
}
interface Wide {
  user: string;
  province: string | null;
  city: string | null;
  amount: string;
  status: string;
  createdAt: number;
  firstPaidAt: number | null;
  paidAmount: string | null;
}

const MINUTE = 60_000;
const WINDOW = 30 * MINUTE;

const numericIds = (a: string, b: string): number => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0);

function options(retentionMs = 1e12): ChangelogIntervalJoinOptions<Order, Payment, Area, Wide> {
  return {
    lowerBound: 0,
    upperBound: WINDOW,
    retentionMs,
    matches: (p) => p.status === 'success',
    compareIds: numericIds,
    dimensionOf: (o) => o.area,
    result: (order, first, area) => ({
      user: order.row.user,
      province: area?.province ?? null,
      city: area?.city ?? null,
      amount: order.row.amount,
      status: order.row.status,
      createdAt: order.time,
      firstPaidAt: first?.time ?? null,
      paidAmount: first?.row.amount ?? null,
    }),
  };
}

type Input = ChangelogJoinInput<Order, Payment, Area>;
type Output = ChangelogJoinOutput<Order, Payment, Wide>;

// ---- the model: source tables after every change, and the wide row SQL would compute from them ----

interface Db {
  orders: Map<string, { time: number; row: Order }>;
  payments: Map<string, { order: string; time: number; row: Payment }>;
  areas: Map<string, Area>;
}

/**
 * SELECT o.*, a.province, a.city, p.paid_at, p.amount FROM orders o LEFT JOIN areas a ON a.id = o.area_id
 * LEFT JOIN (the first success payment of o, by (paid_at, id), with paid_at BETWEEN o.created_at AND o.created_at + 30 min)
 */
function modelRows(db: Db): Map<string, Wide> {
  const rows = new Map<string, Wide>();
  for (const [id, order] of db.orders) {
    const candidates = [...db.payments.entries()]
      .filter(([, p]) => p.order === id && p.row.status === 'success' && p.time >= order.time && p.time <= order.time + WINDOW)
      .sort(([ia, a], [ib, b]) => a.time - b.time || numericIds(ia, ib));
    const first = candidates[0]?.[1];
    const area = db.areas.get(order.row.area);
    rows.set(id, {
      user: order.row.user,
      province: area?.province ?? null,
      city: area?.city ?? null,
      amount: order.row.amount,
      status: order.row.status,
      createdAt: order.time,
      firstPaidAt: first?.time ?? null,
      paidAmount: first?.row.amount ?? null,
    });
  }
  return rows;
}

type SourceOp =
  | { readonly table: 'orders'; readonly id: string; readonly delete: boolean; readonly slot: number; readonly row: Order }
  | { readonly table: 'payments'; readonly id: string; readonly delete: boolean; readonly order: string; readonly slot: number; readonly delta: number; readonly row: Payment }
  | { readonly table: 'areas'; readonly id: string; readonly delete: boolean; readonly row: Area };

const SLOT = 10 * MINUTE;
const orderIds = ['1', '2', '3', '10'];
const paymentIds = ['1', '2', '3', '9', '10', '11'];
const areaIds = ['a1', 'a2', 'a3'];

const sourceOpArb: fc.Arbitrary<SourceOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      table: fc.constant('orders' as const),
      id: fc.constantFrom(...orderIds),
      delete: fc.constantFrom(false, false, true),
      slot: fc.integer({ min: 0, max: 2 }),
      row: fc.record({ user: fc.constantFrom('u1', 'u2'), area: fc.constantFrom(...areaIds, 'a-missing'), amount: fc.constantFrom('10.00', '20.50', '0.01'), status: fc.constantFrom('created', 'paid', 'cancelled') }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      table: fc.constant('payments' as const),
      id: fc.constantFrom(...paymentIds),
      delete: fc.constantFrom(false, false, true),
      order: fc.constantFrom(...orderIds),
      slot: fc.integer({ min: 0, max: 2 }),
      // the bounds exactly, one ms either side, and in between
      delta: fc.constantFrom(-1, 0, 1, 15 * MINUTE, WINDOW - 1, WINDOW, WINDOW + 1),
      row: fc.record({ amount: fc.constantFrom('10.00', '5.00', '20.50'), status: fc.constantFrom('success' as const, 'success' as const, 'fail' as const) }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      table: fc.constant('areas' as const),
      id: fc.constantFrom(...areaIds),
      delete: fc.constantFrom(false, false, true),
      row: fc.record({ province: fc.constantFrom('Zhejiang', 'Jiangsu'), city: fc.constantFrom('Hangzhou', 'Ningbo', 'Suzhou') }),
    }),
  },
);

/**
 * Applies the ops to the model database and returns the join inputs each row's changes produce, as the
 * binlog repartitioning would: one queue per (source row, join key), each in its own order.
 */
function changes(ops: readonly SourceOp[]): { db: Db; queues: Input[][]; everEmitted: Set<string> } {
  const db: Db = { orders: new Map(), payments: new Map(), areas: new Map() };
  const queues = new Map<string, Input[]>();
  const everEmitted = new Set<string>();
  const push = (queue: string, input: Input) => {
    const q = queues.get(queue) ?? [];
    q.push(input);
    queues.set(queue, q);
  };
  for (const op of ops) {
    if (op.table === 'orders') {
      const current = db.orders.get(op.id);
      if (op.delete) {
        if (current === undefined) continue;
        db.orders.delete(op.id);
        push(`o${op.id}`, { side: 'left', op: 'delete', key: op.id, time: current.time, row: current.row });
      } else {
        const time = op.slot * SLOT;
        db.orders.set(op.id, { time, row: op.row });
        everEmitted.add(op.id);
        push(`o${op.id}`, { side: 'left', op: 'upsert', key: op.id, time, row: op.row });
      }
    } else if (op.table === 'payments') {
      const current = db.payments.get(op.id);
      if (op.delete) {
        if (current === undefined) continue;
        db.payments.delete(op.id);
        push(`p${op.id}>${current.order}`, { side: 'right', op: 'delete', key: current.order, id: op.id, time: current.time, row: current.row });
      } else {
        const time = op.slot * SLOT + op.delta;
        if (current !== undefined && current.order !== op.order) {
          // the payment moved to another order: taken back from the old one
          push(`p${op.id}>${current.order}`, { side: 'right', op: 'delete', key: current.order, id: op.id, time: current.time, row: current.row });
        }
        db.payments.set(op.id, { order: op.order, time, row: op.row });
        push(`p${op.id}>${op.order}`, { side: 'right', op: 'upsert', key: op.order, id: op.id, time, row: op.row });
      }
    } else if (op.delete) {
      if (!db.areas.has(op.id)) continue;
      db.areas.delete(op.id);
      push(`a${op.id}`, { side: 'dimension', op: 'delete', id: op.id });
    } else {
      db.areas.set(op.id, op.row);
      push(`a${op.id}`, { side: 'dimension', op: 'upsert', id: op.id, row: op.row });
    }
  }
  return { db, queues: [...queues.values()], everEmitted };
}

/** A random interleaving of the queues that keeps each queue's order. */
function interleave(queues: readonly Input[][], picks: readonly number[]): Input[] {
  const rest = queues.map((q) => [...q]);
  const out: Input[] = [];
  let i = 0;
  for (;;) {
    const open = rest.filter((q) => q.length > 0);
    if (open.length === 0) return out;
    const queue = open[(picks[i++ % Math.max(1, picks.length)] ?? 0) % open.length] as Input[];
    out.push(queue.shift() as Input);
  }
}

/** The latest output per key (highest version). */
function fold(outputs: readonly Output[]): Map<string, Output> {
  const latest = new Map<string, Output>();
  for (const o of outputs) {
    if (o.kind === 'late') continue;
    const seen = latest.get(o.key);
    if (seen === undefined || (seen.kind !== 'late' && o.version > seen.version)) latest.set(o.key, o);
  }
  return latest;
}

function expectEachOutputToChangeSomething(outputs: readonly Output[]): void {
  const last = new Map<string, Output>();
  for (const o of outputs) {
    if (o.kind === 'late') continue;
    const previous = last.get(o.key);
    if (previous !== undefined && previous.kind !== 'late') {
      expect(o.version).toBeGreaterThan(previous.version);
      if (o.kind === 'delete') expect(previous.kind).toBe('upsert');
      else if (previous.kind === 'upsert') expect(o.value).not.toEqual(previous.value);
    }
    last.set(o.key, o);
  }
}

const scenarioArb = fc.record({ ops: fc.array(sourceOpArb, { minLength: 5, maxLength: 60 }), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 200 }), cut: fc.nat() });

describe('ChangelogIntervalJoin', () => {
  it('whatever the interleaving of per-row change streams, the latest output per order is the SQL result over the final rows', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(scenarioArb, ({ ops, picks }) => {
        const { db, queues, everEmitted } = changes(ops);
        const join = new ChangelogIntervalJoin(options());
        const outputs = interleave(queues, picks).flatMap((input) => [...join.process(input)]);
        expectEachOutputToChangeSomething(outputs);
        const latest = fold(outputs);
        const expected = modelRows(db);
        for (const [key, row] of expected) expect(latest.get(key)).toMatchObject({ kind: 'upsert', value: row });
        for (const key of everEmitted) if (!expected.has(key)) expect(latest.get(key)?.kind).toBe('delete');
        expect([...latest.keys()].sort()).toEqual([...everEmitted].sort());
      }),
      { numRuns: 1500 },
    );
  });

  it('restored from a JSON snapshot mid-stream, emits exactly what an uninterrupted run emits', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(scenarioArb, ({ ops, picks, cut }) => {
        const inputs = interleave(changes(ops).queues, picks);
        const uninterrupted = new ChangelogIntervalJoin(options());
        const expected = inputs.map((input) => [...uninterrupted.process(input)]);
        let join = new ChangelogIntervalJoin(options());
        const at = cut % (inputs.length + 1);
        const got = inputs.map((input, i) => {
          if (i === at) join = ChangelogIntervalJoin.restore(options(), JSON.parse(JSON.stringify(join.snapshot())) as ChangelogIntervalJoinSnapshot<Order, Payment, Area>);
          return [...join.process(input)];
        });
        expect(got).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  const order = (key: string, time: number, row: Partial<Order> = {}): Input => ({ side: 'left', op: 'upsert', key, time, row: { user: 'u1', area: 'a1', amount: '10.00', status: 'created', ...row } });
  const pay = (key: string, id: string, time: number, status: Payment['status'] = 'success', amount = '10.00'): Input => ({ side: 'right', op: 'upsert', key, id, time, row: { amount, status } });
  const values = (outputs: readonly Output[]) => outputs.map((o) => (o.kind === 'late' ? o.kind : { kind: o.kind, paid: o.value.firstPaidAt, amount: o.value.paidAmount }));

  it('joins a payment at exactly created_at and at exactly created_at + 30 min, not 1 ms outside', () => {
    const join = new ChangelogIntervalJoin(options());
    join.process(order('o', 1000));
    expect(join.process(pay('o', '5', 999))).toEqual([]);
    expect(join.process(pay('o', '6', 1000 + WINDOW + 1))).toEqual([]);
    expect(values(join.process(pay('o', '7', 1000 + WINDOW)))).toEqual([{ kind: 'upsert', paid: 1000 + WINDOW, amount: '10.00' }]);
    expect(values(join.process(pay('o', '8', 1000, 'success', '3.00')))).toEqual([{ kind: 'upsert', paid: 1000, amount: '3.00' }]);
  });

  it('breaks ties of paid_at by payment id, numerically; ignores failed payments; takes back a payment turned to fail', () => {
    const join = new ChangelogIntervalJoin(options());
    join.process(order('o', 0));
    expect(values(join.process(pay('o', '10', 100, 'success', '1.00')))).toEqual([{ kind: 'upsert', paid: 100, amount: '1.00' }]);
    expect(values(join.process(pay('o', '9', 100, 'success', '2.00')))).toEqual([{ kind: 'upsert', paid: 100, amount: '2.00' }]);
    expect(join.process(pay('o', '8', 50, 'fail'))).toEqual([]);
    expect(values(join.process(pay('o', '9', 100, 'fail', '2.00')))).toEqual([{ kind: 'upsert', paid: 100, amount: '1.00' }]);
    expect(values(join.process({ side: 'right', op: 'delete', key: 'o', id: '10', time: 100, row: { amount: '1.00', status: 'success' } }))).toEqual([{ kind: 'upsert', paid: null, amount: null }]);
  });

  it('holds payments that arrive before their order, and emits nothing when a change changes nothing', () => {
    const join = new ChangelogIntervalJoin(options());
    expect(join.process(pay('o', '1', 500))).toEqual([]);
    expect(values(join.process(order('o', 0)))).toEqual([{ kind: 'upsert', paid: 500, amount: '10.00' }]);
    // the same order row again (e.g. only updated_at changed upstream)
    expect(join.process(order('o', 0))).toEqual([]);
    expect(join.process(pay('o', '2', 600))).toEqual([]);
  });

  it('re-emits the orders of an area when the area changes, and withdraws an order when it is deleted', () => {
    const join = new ChangelogIntervalJoin(options());
    join.process({ side: 'dimension', op: 'upsert', id: 'a1', row: { province: 'Zhejiang', city: 'Hangzhou' } });
    join.process(order('o2', 0));
    join.process(order('o1', 0));
    join.process(order('o3', 0, { area: 'a2' }));
    const changed = join.process({ side: 'dimension', op: 'upsert', id: 'a1', row: { province: 'Zhejiang', city: 'Ningbo' } });
    expect(changed.map((o) => (o.kind === 'upsert' ? [o.key, o.value.city] : o.kind))).toEqual([['o1', 'Ningbo'], ['o2', 'Ningbo']]);
    expect(join.process({ side: 'dimension', op: 'upsert', id: 'a1', row: { province: 'Zhejiang', city: 'Ningbo' } })).toEqual([]);
    const deleted = join.process({ side: 'left', op: 'delete', key: 'o1', time: 0, row: { user: 'u1', area: 'a1', amount: '10.00', status: 'created' } });
    expect(deleted).toMatchObject([{ kind: 'delete', key: 'o1', value: { city: 'Ningbo' } }]);
    // a deleted order no longer follows its area
    expect(join.process({ side: 'dimension', op: 'delete', id: 'a1' }).map((o) => (o.kind === 'late' ? o.kind : o.key))).toEqual(['o2']);
  });

  it('drops an order and its payments once created_at < watermark - retention; later changes for it are late, counted', () => {
    const retention = 1000;
    const join = new ChangelogIntervalJoin(options(retention));
    join.process(order('o', 0));
    join.process(pay('o', '1', 10));
    join.advanceWatermark(1000);
    // created_at == watermark - retention is still kept
    expect(join.keyCount).toBe(1);
    expect(values(join.process(pay('o', '1', 10, 'fail')))).toEqual([{ kind: 'upsert', paid: null, amount: null }]);
    join.advanceWatermark(1001);
    expect(join.keyCount).toBe(0);
    // paid_at 10 is itself within the retention: held, as a payment without its order
    expect(join.process(pay('o', '1', 10))).toEqual([]);
    join.advanceWatermark(1011);
    expect(join.keyCount).toBe(0);
    const late = join.process(pay('o', '1', 10));
    expect(late).toEqual([{ kind: 'late', reason: 'older-than-retention', watermark: 1011, change: pay('o', '1', 10) }]);
    expect(join.process(order('o', 0))).toMatchObject([{ kind: 'late' }]);
    expect(join.lateCount).toBe(2);
    // a change that is recent enough is a correction, however it arrives
    expect(values(join.process(order('o', 11, { status: 'paid' })))).toEqual([{ kind: 'upsert', paid: null, amount: null }]);
  });

  it('a live order takes any change of its payments, old ones too; held payments expire on their own time', () => {
    const retention = 1000;
    const join = new ChangelogIntervalJoin(options(retention));
    join.process(pay('held', '1', 100));
    join.process(order('o', 5000));
    join.advanceWatermark(1200);
    expect(join.keyCount).toBe(1);
    expect(join.process(order('held', 150))).toMatchObject([{ kind: 'late' }]);
    // old payment time, but its order is live: applied (it cannot match, nothing changes)
    expect(join.process(pay('o', '2', 0))).toEqual([]);
    expect(join.snapshot().keys.map(([k]) => k)).toEqual(['ko']);
  });

  it('an order corrected to a created_at older than the retention is emitted, then dropped', () => {
    const join = new ChangelogIntervalJoin(options(1000));
    join.process(order('o', 5000));
    join.advanceWatermark(4000);
    expect(join.process(order('o', 100)).map((o) => o.kind)).toEqual(['upsert']);
    expect(join.keyCount).toBe(0);
  });

  it('refuses a snapshot taken with other bounds', () => {
    const join = new ChangelogIntervalJoin(options());
    expect(() => ChangelogIntervalJoin.restore({ ...options(), upperBound: 5 }, join.snapshot())).toThrow(RangeError);
  });
});

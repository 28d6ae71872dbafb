/**
 * A fixed input for the DWD jobs, in two phases (the jobs restart in between), and what SQL over it
 * gives: the source's binlog (areas, orders, payments with corrections, as Canal messages routed by
 * primary key like the CDC does) and the event log (out of order within the bound, duplicated, a
 * click bot crossing the blacklist across a local midnight, late events, bad records). The model
 * reads the source rows and events directly, not through the jobs' code.
 */
import { canalMessage } from '../support/canal-messages.js';

export const ZONE = 'Asia/Shanghai';
const ZONE_OFFSET = 8 * 3_600_000;
export const RETENTION_MS = 6 * 3_600_000;
export const OUT_OF_ORDERNESS_MS = 5000;
export const ALLOWED_LATENESS_MS = 60_000;
export const BLACKLIST_CLICKS = 5;
export const PARTITIONS = 2;
const MINUTE = 60_000;

export interface SourceRecord {
  partition: number;
  key: string | null;
  value: string;
}

/** mulberry32 */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

function partitionOf(key: string): number {
  let h = 7;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 33) + key.charCodeAt(i)) | 0;
  return (h >>> 0) % PARTITIONS;
}

/** DateTime64(3) text of an instant, UTC */
const utcText = (instant: number): string => new Date(instant).toISOString().replace('T', ' ').slice(0, 23);
/** DATETIME(3) text as MySQL prints it, wall clock in Asia/Shanghai (no DST) */
const shanghaiText = (instant: number): string => utcText(instant + ZONE_OFFSET);

interface Order {
  id: number;
  user: number;
  area: number;
  amount: string;
  status: string;
  created: number;
}
interface Payment {
  id: number;
  order: number;
  amount: string;
  status: string;
  paid: number;
}

// ---------------- the binlog ----------------

export class SourceDb {
  readonly areas = new Map<number, { province: string; city: string }>();
  readonly orders = new Map<number, Order>();
  readonly payments = new Map<number, Payment>();
  /** orders that ever had a row */
  readonly everOrdered = new Set<number>();
  readonly records: SourceRecord[] = [];
  es = Date.UTC(2026, 0, 1, 4);

  private write(table: string, type: 'INSERT' | 'UPDATE' | 'DELETE', row: Record<string, string>, old?: Record<string, string>, snapshot = false): void {
    this.es += 1000;
    const { key, value } = canalMessage({ table, type, row, ...(old === undefined ? {} : { old }), es: this.es, snapshot });
    this.records.push({ partition: partitionOf(key), key, value });
  }

  private orderRow(o: Order): Record<string, string> {
    const created = shanghaiText(o.created);
    return { id: String(o.id), user_id: String(o.user), area_id: String(o.area), amount: o.amount, status: o.status, created_at: created, updated_at: created };
  }

  private paymentRow(p: Payment): Record<string, string> {
    return { id: String(p.id), order_id: String(p.order), amount: p.amount, status: p.status, paid_at: shanghaiText(p.paid) };
  }

  area(id: number, province: string, city: string): void {
    const old = this.areas.get(id);
    this.areas.set(id, { province, city });
    const row = { id: String(id), province, city };
    if (old === undefined) this.write('areas', 'INSERT', row, undefined, true);
    else this.write('areas', 'UPDATE', row, { city: old.city });
  }

  insertOrder(o: Order): void {
    this.orders.set(o.id, o);
    this.everOrdered.add(o.id);
    this.write('orders', 'INSERT', this.orderRow(o));
  }

  updateOrder(id: number, change: Partial<Order>): void {
    const before = this.orders.get(id) as Order;
    const after = { ...before, ...change };
    this.orders.set(id, after);
    const old: Record<string, string> = {};
    const a = this.orderRow(after);
    for (const [k, v] of Object.entries(this.orderRow(before))) if (a[k] !== v) old[k] = v;
    this.write('orders', 'UPDATE', a, old);
  }

  deleteOrder(id: number): void {
    const o = this.orders.get(id) as Order;
    this.orders.delete(id);
    this.write('orders', 'DELETE', this.orderRow(o));
  }

  insertPayment(p: Payment): void {
    this.payments.set(p.id, p);
    this.write('payments', 'INSERT', this.paymentRow(p));
  }

  updatePayment(id: number, change: Partial<Payment>): void {
    const before = this.payments.get(id) as Payment;
    const after = { ...before, ...change };
    this.payments.set(id, after);
    const old: Record<string, string> = {};
    const a = this.paymentRow(after);
    for (const [k, v] of Object.entries(this.paymentRow(before))) if (a[k] !== v) old[k] = v;
    this.write('payments', 'UPDATE', a, old);
  }

  deletePayment(id: number): void {
    const p = this.payments.get(id) as Payment;
    this.payments.delete(id);
    this.write('payments', 'DELETE', this.paymentRow(p));
  }

  junk(): void {
    this.records.push({ partition: 0, key: null, value: '{"this is":"not canal"}' });
  }

  /** SQL over the current rows: dwd_order_wide without _version. */
  expectedWide(late: ReadonlySet<number>): Map<number, Record<string, unknown>> {
    const rows = new Map<number, Record<string, unknown>>();
    for (const id of this.everOrdered) {
      if (late.has(id)) continue;
      const o = this.orders.get(id);
      if (o === undefined) {
        rows.set(id, { order_id: id, _is_deleted: 1 });
        continue;
      }
      const first = [...this.payments.values()]
        .filter((p) => p.order === id && p.status === 'success' && p.paid >= o.created && p.paid <= o.created + 30 * MINUTE)
        .sort((a, b) => a.paid - b.paid || a.id - b.id)[0];
      const area = this.areas.get(o.area);
      rows.set(id, {
        order_id: id,
        user_id: o.user,
        province: area?.province ?? '',
        city: area?.city ?? '',
        amount: o.amount,
        status: o.status,
        created_at: utcText(o.created),
        first_paid_at: first === undefined ? null : utcText(first.paid),
        paid_amount: first?.amount ?? null,
        _is_deleted: 0,
      });
    }
    return rows;
  }
}

const money = (r: (n: number) => number): string => `${1 + r(500)}.${String(r(100)).padStart(2, '0')}`;

/** Phase 1 of the binlog: areas, orders and payments, corrections. */
export function binlogPhase1(db: SourceDb): void {
  const r = random(11);
  db.area(1, '浙江', '杭州');
  db.area(2, '浙江', '宁波');
  db.area(3, '江苏', '苏州');
  db.area(4, '广东', '深圳');
  let paymentId = 1;
  for (let i = 1; i <= 40; i++) {
    const created = db.es + 1000;
    db.insertOrder({ id: i, user: 100 + (i % 7), area: i === 17 ? 99 : 1 + (i % 4), amount: money(r), status: 'created', created });
    const roll = r(10);
    if (roll < 8) {
      const offsets = [0, 5 * MINUTE, 30 * MINUTE - 1, 30 * MINUTE, 30 * MINUTE + 1, 45 * MINUTE, 12 * MINUTE];
      const paid = created + (offsets[r(offsets.length)] as number);
      db.insertPayment({ id: paymentId++, order: i, amount: money(r), status: r(5) === 0 ? 'fail' : 'success', paid });
      // a second payment at the same instant: ties go by payment id
      if (roll === 0) db.insertPayment({ id: paymentId++, order: i, amount: '0.01', status: 'success', paid });
    }
  }
  db.updateOrder(3, { amount: '123.45' });
  db.updateOrder(5, { status: 'cancelled' });
  db.updateOrder(6, { created: (db.orders.get(6) as Order).created - 20 * MINUTE });
  for (const p of [...db.payments.values()]) {
    if (p.order === 7) db.deletePayment(p.id);
    if (p.order === 9) db.updatePayment(p.id, { status: 'fail' });
    if (p.order === 11) db.updatePayment(p.id, { order: 12, paid: (db.orders.get(12) as Order).created + MINUTE });
  }
  db.deleteOrder(13);
  db.area(2, '浙江', '温州');
  db.junk();
}

/** Phase 2: more orders and corrections, an order written hours late (a correction), one older than the retention (late). */
export function binlogPhase2(db: SourceDb): { late: number } {
  const r = random(12);
  let paymentId = 1000;
  for (let i = 43; i <= 50; i++) {
    const created = db.es + 1000;
    db.insertOrder({ id: i, user: 100 + (i % 7), area: 1 + (i % 4), amount: money(r), status: 'created', created });
    db.insertPayment({ id: paymentId++, order: i, amount: money(r), status: 'success', paid: created + r(40) * MINUTE });
  }
  db.updateOrder(1, { amount: '1.00', status: 'paid' });
  for (const p of [...db.payments.values()]) if (p.order === 2) db.deletePayment(p.id);
  db.insertOrder({ id: 41, user: 101, area: 1, amount: '41.00', status: 'created', created: db.es - 2 * 3_600_000 });
  db.insertPayment({ id: paymentId++, order: 41, amount: '41.00', status: 'success', paid: db.es - 2 * 3_600_000 + MINUTE });
  db.insertOrder({ id: 42, user: 102, area: 1, amount: '42.00', status: 'created', created: db.es - 7 * 3_600_000 });
  return { late: 42 };
}

// ---------------- the event log ----------------

export interface Event {
  event_id: string;
  type: 'page_view' | 'ad_impression' | 'ad_click';
  ts: number;
  user_id: number | null;
  device_id: string;
  session_id: string;
  ip: string;
  area_id: number;
  channel: string;
  ad_id?: number;
  page?: string;
}

export const BOT = 900;
/** Shanghai 23:50: the bot's clicks cross a local midnight at 16:00 UTC */
const E0 = Date.UTC(2026, 0, 1, 15, 50);
const EVENT_AREAS = [1, 3, 4];

function makeEvent(id: string, type: Event['type'], ts: number, user: number | null, area: number, ad: number, r: (n: number) => number): Event {
  return {
    event_id: id,
    type,
    ts,
    user_id: user,
    device_id: `dev${user ?? r(50)}`,
    session_id: `s${r(1000)}`,
    ip: `10.0.${r(256)}.${r(256)}`,
    area_id: area,
    channel: ['app', 'web', 'mini'][r(3)] as string,
    ...(type === 'page_view' ? { page: `/p/${r(20)}` } : { ad_id: ad }),
  };
}

export interface EventLog {
  /** every distinct event that reaches the tables or the dead-letter topic (not the late or malformed ones) */
  readonly events: Event[];
  readonly records: SourceRecord[];
  readonly late: Event[];
  readonly unknownArea: Event[];
}

const send = (records: SourceRecord[], partition: number, e: Event | string) => records.push({ partition, key: null, value: typeof e === 'string' ? e : JSON.stringify(e) });

/** 20 minutes of events from 23:50 Shanghai: out of order within 4 s, duplicated, a click bot on ad 1. */
export function eventsPhase1(): EventLog {
  const r = random(21);
  const events: Event[] = [];
  const records: SourceRecord[] = [];
  const perPartition: Event[][] = [[], []];
  for (let i = 0; i < 300; i++) {
    const ts = E0 + i * 4000 + r(8001) - 4000;
    const roll = r(10);
    const type: Event['type'] = roll < 5 ? 'page_view' : roll < 7 ? 'ad_impression' : 'ad_click';
    const user = type === 'page_view' && r(3) === 0 ? null : 1 + r(20);
    const e = makeEvent(`e${i}`, type, ts, user, EVENT_AREAS[r(3)] as number, 1 + r(3), r);
    events.push(e);
    (perPartition[r(PARTITIONS)] as Event[]).push(e);
  }
  // the bot: 14 clicks on ad 1 every 80 s from 23:50 (8 before midnight, 6 after), and one more at the same instant as the third
  for (let k = 0; k < 14; k++) {
    const e = makeEvent(`bot-${String(k).padStart(2, '0')}`, 'ad_click', E0 + 1000 + k * 80_000, BOT, 1, 1, r);
    events.push(e);
    (perPartition[k % PARTITIONS] as Event[]).push(e);
  }
  const tie = makeEvent('bot-02b', 'ad_click', E0 + 1000 + 2 * 80_000, BOT, 1, 1, r);
  events.push(tie);
  (perPartition[1] as Event[]).push(tie);
  // and once on ad 2 after crossing: not counted either
  const other = makeEvent('bot-ad2', 'ad_click', E0 + 9 * 60_000, BOT, 1, 2, r);
  events.push(other);
  (perPartition[0] as Event[]).push(other);
  const unknown = makeEvent('nowhere', 'page_view', E0 + 60_000, 5, 99, 0, r);
  events.push(unknown);
  (perPartition[1] as Event[]).push(unknown);
  // a duplicate of every 25th event, in its partition or the other one
  events.forEach((e, i) => {
    if (i % 25 === 3) (perPartition[i % PARTITIONS] as Event[]).push(e);
  });
  for (const [p, list] of perPartition.entries()) {
    // in time order, then neighbours less than 4 s apart swapped at random: out of order within the bound
    list.sort((a, b) => a.ts - b.ts || (a.event_id < b.event_id ? -1 : 1));
    for (let j = 0; j + 1 < list.length; j++) {
      const [a, b] = [list[j] as Event, list[j + 1] as Event];
      if (b.ts - a.ts < 4000 && r(3) === 0) [list[j], list[j + 1]] = [b, a];
    }
    for (const e of list) send(records, p, e);
  }
  return { events, records, late: [], unknownArea: [unknown] };
}

/** After the restart: late events, a malformed one, 3 more minutes of events, and one far ahead per partition so every click is decided. */
export function eventsPhase2(): EventLog {
  const r = random(22);
  const events: Event[] = [];
  const records: SourceRecord[] = [];
  const late = [makeEvent('late-1', 'ad_click', E0 - 5 * 60_000, 3, 1, 1, r), makeEvent('late-2', 'page_view', E0 - 60_000, null, 1, 0, r)];
  send(records, 0, late[0] as Event);
  send(records, 1, late[1] as Event);
  send(records, 1, '{"event_id":"bad","type":"ad_click"');
  for (let i = 0; i < 45; i++) {
    const e = makeEvent(`f${i}`, i % 3 === 0 ? 'ad_click' : 'page_view', E0 + 1_210_000 + i * 4000, 1 + r(20), 1, 1 + r(3), r);
    events.push(e);
    send(records, i % PARTITIONS, e);
  }
  for (let p = 0; p < PARTITIONS; p++) {
    const e = makeEvent(`flush-${p}`, 'page_view', E0 + 10 * 86_400_000, 1, 1, 0, r);
    events.push(e);
    send(records, p, e);
  }
  return { events, records, late, unknownArea: [] };
}

/** SQL over the deduplicated events: dim_blacklist and the counted flag (rows of the unknown area excluded). */
export function expectedAdEvents(events: readonly Event[], unknown: readonly Event[], areas: ReadonlyMap<number, { province: string; city: string }>): { rows: Map<string, Record<string, unknown>>; blacklist: Map<string, Record<string, unknown>> } {
  const order = (a: Event, b: Event): number => a.ts - b.ts || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);
  const day = (ts: number): string => new Date(ts + ZONE_OFFSET).toISOString().slice(0, 10);
  const clicks = events.filter((e) => e.type === 'ad_click').sort(order);
  const numbered = new Map<string, Event[]>();
  for (const c of clicks) {
    const g = `${c.user_id}|${c.ad_id}|${day(c.ts)}`;
    numbered.set(g, [...(numbered.get(g) ?? []), c]);
  }
  const blacklist = new Map<string, Record<string, unknown>>();
  const since = new Map<number, Event>();
  for (const [g, list] of numbered) {
    const crossing = list[BLACKLIST_CLICKS];
    if (crossing === undefined) continue;
    const user = crossing.user_id as number;
    blacklist.set(g, { user_id: user, ad_id: crossing.ad_id, day: day(crossing.ts), blacklisted_at: utcText(crossing.ts) });
    const first = since.get(user);
    if (first === undefined || order(crossing, first) < 0) since.set(user, crossing);
  }
  const rows = new Map<string, Record<string, unknown>>();
  for (const e of events) {
    if (unknown.includes(e)) continue;
    const area = areas.get(e.area_id);
    const first = e.user_id === null ? undefined : since.get(e.user_id);
    const counted = e.type !== 'ad_click' || first === undefined || order(e, first) < 0;
    rows.set(e.event_id, {
      event_id: e.event_id,
      type: e.type,
      ts: utcText(e.ts),
      user_id: e.user_id,
      ad_id: e.ad_id ?? null,
      province: area?.province,
      city: area?.city,
      channel: e.channel,
      device_id: e.device_id,
      session_id: e.session_id,
      ip: e.ip,
      counted: counted ? 1 : 0,
    });
  }
  return { rows, blacklist };
}

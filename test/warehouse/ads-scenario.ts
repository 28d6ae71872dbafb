/**
 * A fixed input for the warehouse job.
 *
 * Input, in the order of its time (source writes at their binlog time, events at their arrival): two and
 * a half hours around a local midnight in Asia/Shanghai (16:00 UTC) of areas, orders and payments written
 * by the binlog (Canal messages routed by primary key, test/warehouse/dwd-scenario.ts's SourceDb), with
 * corrections after their windows have closed (cancellations, amount corrections, deletes, a created_at
 * moved, payments failed, deleted and moved, an area renamed, an order written two hours late, one past
 * the retention); and the event log: page views, impressions and clicks out of order within the bound,
 * duplicated, some late beyond the allowed lateness, one of an unknown area, a click bot crossing the
 * blacklist whose decision a late click moves earlier, and clicks exactly at the bounds of the channel
 * attribution interval.
 *
 * ads-model.ts computes what every table and screen must hold from the final rows and events.
 */
import { PIPELINE_DEFAULTS, type DwdJobOptions } from '../../jobs/dwd/options.js';
import { PARTITIONS, SourceDb, type SourceRecord } from './dwd-scenario.js';

/** partitions of every topic (the SourceDb routes binlog messages over as many) */
export { PARTITIONS };
export const ZONE = 'Asia/Shanghai';
export const RETENTION_MS = 6 * 3_600_000;
export const OUT_OF_ORDERNESS_MS = 5000;
export const ALLOWED_LATENESS_MS = 60_000;
export const BLACKLIST_CLICKS = 5;
const SECOND = 1000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** 22:30 in Shanghai, 1 January 2026 */
const T0 = Date.UTC(2026, 0, 1, 14, 30);
export const BOT = 900;
/**
 * Inputs sent at or after this time come in a second phase, once the first is processed: the late ones
 * (events past the lateness, an order past the retention) are then late whatever the order in which the
 * partitions of the first phase were read.
 */
export const SPLIT = T0 + 126 * MINUTE;

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

/** One input record: a binlog message or an event, at the processing time it is sent. */
export interface Input {
  at: number;
  topic: 'binlog' | 'events';
  record: SourceRecord;
}

export interface Scenario {
  db: SourceDb;
  inputs: Input[];
  /** distinct events that reach dwd_ad_event, but the flush events far ahead (whose day stays open) */
  events: Event[];
  /** events sent later than the allowed lateness */
  late: Event[];
  /** the order written with a created_at older than the retention (in no figure) */
  lateOrder: number;
}

const CHANNELS = ['app', 'web', 'mini'];
/** areas of events (99 is unknown) */
const EVENT_AREAS = [1, 2, 3, 5, 6];

export function scenario(): Scenario {
  const r = random(2026);
  const db = new SourceDb();
  const inputs: Input[] = [];
  // binlog writes at their time: db.write adds 1 s to es, so it is set 1 s before
  const binlog = (at: number, write: () => void): void => {
    const before = db.records.length;
    db.es = at - 1000;
    write();
    for (const record of db.records.slice(before)) inputs.push({ at, topic: 'binlog', record });
  };
  const actions: Array<{ at: number; run: () => void }> = [];
  const at = (time: number, run: () => void): void => void actions.push({ at: time, run });

  // ---------------- areas, orders, payments ----------------
  binlog(T0 - HOUR, () => {
    db.area(1, '浙江', '杭州');
    db.area(2, '浙江', '宁波');
    db.area(3, '浙江', '温州');
    db.area(4, '浙江', '绍兴');
    db.area(5, '江苏', '苏州');
    db.area(6, '广东', '深圳');
    db.area(7, '广东', '广州');
  });
  const money = (): string => `${1 + r(300)}.${String(r(100)).padStart(2, '0')}`;
  let paymentId = 1;
  const orders: Array<{ id: number; created: number }> = [];
  for (let i = 1; i <= 150; i++) {
    const created = T0 + r(150 * MINUTE);
    const written = created + r(3 * SECOND);
    const order = { id: i, user: 1 + r(30), area: i % 23 === 0 ? 99 : 1 + r(6), amount: money(), status: 'created', created };
    orders.push({ id: i, created });
    at(written, () => db.insertOrder(order));
    if (r(10) < 7) {
      const offsets = [0, 5 * MINUTE, 30 * MINUTE - 1, 30 * MINUTE, 30 * MINUTE + 1, 45 * MINUTE, 12 * MINUTE];
      const paid = created + (offsets[r(offsets.length)] as number);
      const payment = { id: paymentId++, order: i, amount: order.amount, status: r(6) === 0 ? 'fail' : 'success', paid };
      at(paid + 500, () => db.insertPayment(payment));
    }
  }
  // two equal cities in one window (same orders and amount): ranked by name
  at(T0 + 7 * MINUTE, () => db.insertOrder({ id: 151, user: 3, area: 3, amount: '77.00', status: 'created', created: T0 + 7 * MINUTE - 10 }));
  at(T0 + 7 * MINUTE, () => db.insertOrder({ id: 152, user: 4, area: 4, amount: '77.00', status: 'created', created: T0 + 7 * MINUTE - 10 }));

  // a lone early order, cancelled once its windows closed: rows deleted, 广东's ranking shrinks, then goes
  at(T0 - 40 * MINUTE, () => db.insertOrder({ id: 180, user: 9, area: 7, amount: '18.00', status: 'created', created: T0 - 40 * MINUTE - 5 }));
  at(T0 + 40 * MINUTE, () => db.updateOrder(180, { status: 'cancelled' }));

  // corrections, each after the windows of the order have fired
  for (const { id, created } of orders.slice(0, 40)) {
    const later = created + 70 * MINUTE;
    if (id % 8 === 1) at(later, () => db.orders.has(id) && db.updateOrder(id, { status: 'cancelled' }));
    if (id % 8 === 2) at(later, () => db.orders.has(id) && db.updateOrder(id, { amount: '12.34', status: 'paid' }));
    if (id % 8 === 3) at(later, () => db.orders.has(id) && db.deleteOrder(id));
    if (id % 8 === 4) at(later, () => db.orders.has(id) && db.updateOrder(id, { created: created - 20 * MINUTE }));
    if (id % 8 === 5) {
      at(later, () => {
        for (const p of [...db.payments.values()]) if (p.order === id) db.updatePayment(p.id, { status: p.status === 'success' ? 'fail' : 'success' });
      });
    }
    if (id % 8 === 6) {
      at(later, () => {
        for (const p of [...db.payments.values()]) if (p.order === id) db.deletePayment(p.id);
      });
    }
    if (id % 8 === 7) {
      at(later, () => {
        for (const p of [...db.payments.values()]) if (p.order === id) db.updatePayment(p.id, { order: id + 1, paid: (db.orders.get(id + 1)?.created ?? p.paid) + MINUTE });
      });
    }
  }
  at(T0 + 100 * MINUTE, () => db.area(2, '浙江', '台州'));
  // an order written two hours late is a correction; one older than the retention is late
  at(T0 + 130 * MINUTE, () => db.insertOrder({ id: 160, user: 5, area: 1, amount: '160.00', status: 'created', created: T0 + 10 * MINUTE }));
  at(T0 + 130 * MINUTE, () => db.insertPayment({ id: paymentId++, order: 160, amount: '160.00', status: 'success', paid: T0 + 11 * MINUTE }));
  at(T0 + 131 * MINUTE, () => db.insertOrder({ id: 161, user: 6, area: 1, amount: '161.00', status: 'created', created: T0 + 131 * MINUTE - 7 * HOUR }));

  // ---------------- events ----------------
  const events: Event[] = [];
  const late: Event[] = [];
  const eventInputs: Array<{ at: number; partition: number; value: string }> = [];
  const emit = (e: Event, arrival: number, partition = r(PARTITIONS)): void => void eventInputs.push({ at: arrival, partition, value: JSON.stringify(e) });
  const make = (id: string, type: Event['type'], ts: number, user: number | null, area: number, ad: number, channel = CHANNELS[r(3)] as string): Event => ({
    event_id: id,
    type,
    ts,
    user_id: user,
    device_id: `dev${user ?? 100 + r(40)}`,
    session_id: `s${user ?? 0}-${Math.floor(ts / (20 * MINUTE))}-${r(2)}`,
    ip: `10.0.${r(4)}.${r(20)}`,
    area_id: area,
    channel,
    ...(type === 'page_view' ? { page: `/p/${r(20)}` } : { ad_id: ad }),
  });
  const ads = [1, 1, 1, 2, 2, 3, 4, 5, 6];
  for (let i = 0; i < 1500; i++) {
    const ts = T0 - 5 * MINUTE + r(160 * MINUTE);
    const roll = r(10);
    const type: Event['type'] = roll < 5 ? 'page_view' : roll < 8 ? 'ad_impression' : 'ad_click';
    const user = type === 'page_view' && r(3) === 0 ? null : 1 + r(30);
    const e = make(`e${i}`, type, ts, user, EVENT_AREAS[r(EVENT_AREAS.length)] as number, ads[r(ads.length)] as number);
    events.push(e);
    // out of order within the bound: arrivals up to 4 s after the event
    emit(e, ts + r(4 * SECOND));
    // a duplicate of one event in 25, in its partition or the other
    if (i % 25 === 3) emit(e, ts + r(4 * SECOND) + 1);
  }
  // late beyond the allowed lateness, sent after SPLIT (every partition is past them then): in no figure
  for (let i = 0; i < 6; i++) {
    const e = make(`late${i}`, i % 2 === 0 ? 'ad_click' : 'page_view', T0 + 20 * MINUTE + i * MINUTE, 7, 1, 1);
    late.push(e);
    emit(e, T0 + 140 * MINUTE + i * SECOND);
  }
  // an unknown area: dead-lettered
  emit(make('nowhere', 'ad_click', T0 + 30 * MINUTE, 8, 99, 1), T0 + 30 * MINUTE);
  // the bot: 8 clicks on ad 1 every 80 s from 23:40 local, crossing the threshold at the 6th; its 5th
  // click is on channel mini, the others on app
  const B0 = Date.UTC(2026, 0, 1, 15, 40);
  for (let k = 0; k < 8; k++) {
    const e = make(`bot${k}`, 'ad_click', B0 + k * 80 * SECOND, BOT, 1, 1, k === 4 ? 'mini' : 'app');
    events.push(e);
    emit(e, e.ts + 500, k % PARTITIONS);
  }
  // page views every 5 s on both partitions around the bot, so that the watermark is known there
  for (let t = B0 - MINUTE; t < B0 + 12 * MINUTE; t += 5 * SECOND) {
    for (let p = 0; p < PARTITIONS; p++) {
      const e = make(`pace${p}-${t}`, 'page_view', t, 50 + p, 5, 0);
      events.push(e);
      emit(e, t, p);
    }
  }
  // a late click within the lateness between its 4th and 5th, sent once the 5th is out (watermark about
  // B0 + 340 s, the 5th at B0 + 320 s, the late one at B0 + 300 s): the 5th is no longer counted (it flips)
  const flip = make('bot-late', 'ad_click', B0 + 300 * SECOND, BOT, 1, 1, 'web');
  events.push(flip);
  emit(flip, B0 + 351 * SECOND, 0);
  // and clicks on another ad after crossing: not counted
  const after = make('bot-ad2', 'ad_click', B0 + 600 * SECOND, BOT, 1, 2, 'web');
  events.push(after);
  emit(after, after.ts + 500, 1);
  // the bot orders 10 s after its 5th click, before the flip: attributed to app and mini, then no longer
  // to mini (a retraction through the join), and to web once the late click is in
  at(B0 + 331 * SECOND, () => db.insertOrder({ id: 170, user: BOT, area: 5, amount: '9.90', status: 'created', created: B0 + 330 * SECOND }));
  // channel attribution bounds: a click exactly 1 h before the order counts, 1 ms more does not, one at the order's instant counts
  const created = T0 + 90 * MINUTE;
  at(created + SECOND, () => db.insertOrder({ id: 171, user: 41, area: 6, amount: '41.00', status: 'created', created }));
  at(created + SECOND, () => db.insertOrder({ id: 172, user: 42, area: 6, amount: '42.00', status: 'created', created }));
  at(created + SECOND, () => db.insertOrder({ id: 173, user: 43, area: 6, amount: '43.00', status: 'created', created }));
  for (const [id, user, ts, channel] of [
    ['edge-41', 41, created - HOUR, 'app'],
    ['edge-42', 42, created - HOUR - 1, 'web'],
    ['edge-43', 43, created, 'mini'],
    ['edge-43b', 43, created + 1, 'app'],
  ] as const) {
    const e = make(id, 'ad_click', ts, user, 6, 3, channel);
    events.push(e);
    emit(e, ts + SECOND);
  }

  // far ahead on every partition, so that every window before has fired and been cleaned up (the
  // flush's own day stays open: it is in no figure yet)
  const end = T0 + 10 * 24 * HOUR;
  for (let p = 0; p < PARTITIONS; p++) eventInputs.push({ at: end, partition: p, value: JSON.stringify(make(`flush${p}`, 'page_view', end, 1, 1, 0)) });
  actions.sort((a, b) => a.at - b.at);
  for (const a of actions) binlog(a.at, a.run);
  for (let p = 0; p < PARTITIONS; p++) inputs.push({ at: end, topic: 'binlog', record: { partition: p, key: null, value: flushMessage(end) } });
  inputs.push(...eventInputs.map((e) => ({ at: e.at, topic: 'events' as const, record: { partition: e.partition, key: null, value: e.value } })));
  // stable: binlog writes of one instant keep their order
  inputs.sort((a, b) => a.at - b.at);
  return { db, inputs, events, late, lateOrder: 161 };
}

/** A binlog message of a table no job reads, only to move the binlog time forward on a partition. */
function flushMessage(es: number): string {
  return JSON.stringify({ data: [{ id: '1' }], database: 'shop', es, gtid: '', id: 1, isDdl: false, mysqlType: { id: 'bigint' }, old: null, pkNames: ['id'], sql: '', sqlType: { id: -5 }, table: 'users', ts: es, type: 'INSERT' });
}

/**
 * The warehouse job's settings for the scenario. Sources never go idle: every partition gets records to
 * the end (the flush), so a partition read behind the others never makes its records late.
 */
export function warehouseOptions(namespace: string): DwdJobOptions {
  return {
    ...PIPELINE_DEFAULTS,
    namespace,
    timeZone: ZONE,
    outOfOrdernessMs: OUT_OF_ORDERNESS_MS,
    idleTimeoutMs: 3_600_000,
    stateRetentionMs: RETENTION_MS,
    allowedLatenessMs: ALLOWED_LATENESS_MS,
    blacklistClicks: BLACKLIST_CLICKS,
    partitions: PARTITIONS,
    checkpointIntervalMs: 300,
  };
}

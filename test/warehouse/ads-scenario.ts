/**
 * A fixed input for the warehouse job and what SQL over it gives for every ADS table and screen.
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
 * The model reads the final source rows and the deduplicated on-time events directly and computes each
 * table as its SQL would, independently of the jobs' code.
 */
import { PIPELINE_DEFAULTS, type DwdJobOptions } from '../../jobs/dwd/options.js';
import { SourceDb, type SourceRecord } from './dwd-scenario.js';

export { PARTITIONS } from './dwd-scenario.js';
export const ZONE = 'Asia/Shanghai';
const ZONE_OFFSET = 8 * 3_600_000;
export const RETENTION_MS = 6 * 3_600_000;
export const OUT_OF_ORDERNESS_MS = 5000;
export const ALLOWED_LATENESS_MS = 60_000;
export const BLACKLIST_CLICKS = 5;
const PARTITIONS = 2;
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

// ---------------- the model ----------------

type Row = Record<string, unknown>;

/** DateTime('UTC') text */
const dateTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
/** the Shanghai calendar day of an instant (no DST), and its first instant */
const day = (ms: number): string => new Date(ms + ZONE_OFFSET).toISOString().slice(0, 10);
const cents = (text: string): number => Math.round(Number(text) * 100);
const money = (c: number): string => `${c < 0 ? '-' : ''}${Math.floor(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')}`;
const byCodePoint = (a: string, b: string): number => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) as number) - (y[i]?.codePointAt(0) as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
};
const floorTo = (ms: number, size: number): number => Math.floor(ms / size) * size;
/** starts of the 1 h windows sliding by 5 min that hold `ms` */
const hopStarts = (ms: number): number[] => Array.from({ length: 12 }, (_, i) => floorTo(ms, 5 * MINUTE) - i * 5 * MINUTE);

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

export interface CountedOrder {
  id: number;
  user: number;
  province: string;
  city: string;
  amountCents: number;
  created: number;
  /** the first success payment within [created, created + 30 min], by (paid_at, id) */
  paidCents: number | null;
}

/** counted orders: current rows not cancelled, except the one older than the retention */
export function countedOrders(s: Scenario): CountedOrder[] {
  const out: CountedOrder[] = [];
  for (const o of s.db.orders.values()) {
    if (o.status === 'cancelled' || o.id === s.lateOrder) continue;
    const first = [...s.db.payments.values()]
      .filter((p) => p.order === o.id && p.status === 'success' && p.paid >= o.created && p.paid <= o.created + 30 * MINUTE)
      .sort((a, b) => a.paid - b.paid || a.id - b.id)[0];
    const area = s.db.areas.get(o.area);
    out.push({ id: o.id, user: o.user, province: area?.province ?? '', city: area?.city ?? '', amountCents: cents(o.amount), created: o.created, paidCents: first === undefined ? null : cents(first.amount) });
  }
  return out;
}

/** the events with their counted flag: a user is blacklisted from the (threshold + 1)-th click on one ad in one day, in (ts, event_id) order */
export function countedEvents(events: readonly Event[]): Array<Event & { counted: boolean }> {
  const order = (a: Event, b: Event): number => a.ts - b.ts || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);
  const clicks = events.filter((e) => e.type === 'ad_click').sort(order);
  const since = new Map<number, Event>();
  for (const list of groupBy(clicks, (c) => `${c.user_id}|${c.ad_id}|${day(c.ts)}`).values()) {
    const crossing = list[BLACKLIST_CLICKS];
    if (crossing === undefined) continue;
    const first = since.get(crossing.user_id as number);
    if (first === undefined || order(crossing, first) < 0) since.set(crossing.user_id as number, crossing);
  }
  return events.map((e) => {
    const first = e.user_id === null ? undefined : since.get(e.user_id);
    return { ...e, counted: e.type !== 'ad_click' || first === undefined || order(e, first) < 0 };
  });
}

export interface Expected {
  tables: Record<string, Row[]>;
  /** screen hashes: Redis key (without the namespace) -> field -> value */
  screens: Map<string, Map<string, string>>;
}

export function expected(s: Scenario): Expected {
  const orders = countedOrders(s);
  const located = orders.filter((o) => o.province !== '');
  const events = countedEvents(s.events);
  const area = (id: number) => s.db.areas.get(id) as { province: string; city: string };
  const clicks = events.filter((e) => e.type === 'ad_click' && e.counted);
  const tables: Record<string, Row[]> = {};
  const screens = new Map<string, Map<string, string>>();
  const screen = (key: string, field: string, value: string): void => {
    const hash = screens.get(key) ?? new Map<string, string>();
    hash.set(field, value);
    screens.set(key, hash);
  };

  // ads_order_city_1h: HOP over created_at, per province and city
  const cityRows: Row[] = [];
  const cityWindows = groupBy(located.flatMap((o) => hopStarts(o.created).map((start) => ({ start, o }))), ({ start, o }) => JSON.stringify([start, o.province, o.city]));
  for (const [key, list] of cityWindows) {
    const [start, province, city] = JSON.parse(key) as [number, string, string];
    const amount = list.reduce((a, { o }) => a + o.amountCents, 0);
    cityRows.push({ window_start: dateTime(start), window_end: dateTime(start + HOUR), province, city, orders: list.length, amount: money(amount) });
    screen(`order_city_1h:${start}`, `${province}|${city}`, JSON.stringify({ orders: list.length, amount: money(amount) }));
  }
  tables.ads_order_city_1h = cityRows;

  // ads_order_top3_city_1h: ROW_NUMBER() per window and province by amount desc, orders desc, city
  const top3: Row[] = [];
  for (const [key, list] of groupBy(cityRows, (r) => JSON.stringify([r.window_start, r.window_end, r.province]))) {
    const [windowStart, windowEnd, province] = JSON.parse(key) as [string, string, string];
    const ranked = [...list]
      .sort((a, b) => cents(b.amount as string) - cents(a.amount as string) || (b.orders as number) - (a.orders as number) || byCodePoint(a.city as string, b.city as string))
      .slice(0, 3)
      .map((r, i) => ({ rank: i + 1, city: r.city, orders: r.orders, amount: r.amount }));
    for (const r of ranked) top3.push({ window_start: windowStart, window_end: windowEnd, province, ...r });
    screen(`order_top3_city_1h:${Date.parse(`${windowStart.replace(' ', 'T')}Z`)}`, province, JSON.stringify(ranked));
  }
  tables.ads_order_top3_city_1h = top3;

  // ads_order_payment_5m: TUMBLE(5 min) per province
  tables.ads_order_payment_5m = [...groupBy(located, (o) => JSON.stringify([floorTo(o.created, 5 * MINUTE), o.province]))].map(([key, list]) => {
    const [start, province] = JSON.parse(key) as [number, string];
    const paid = list.filter((o) => o.paidCents !== null);
    return { window_start: dateTime(start), province, orders: list.length, paid_orders: paid.length, paid_amount: money(paid.reduce((a, o) => a + (o.paidCents as number), 0)) };
  });

  // ads_ad_clicks_1h: HOP over ts, counted clicks per ad
  tables.ads_ad_clicks_1h = [...groupBy(clicks.flatMap((c) => hopStarts(c.ts).map((start) => ({ start, c }))), ({ start, c }) => JSON.stringify([start, c.ad_id]))].map(([key, list]) => {
    const [start, adId] = JSON.parse(key) as [number, number];
    screen(`ad_clicks_1h:${start}`, String(adId), String(list.length));
    return { window_start: dateTime(start), window_end: dateTime(start + HOUR), ad_id: adId, clicks: list.length };
  });

  // ads_ad_click_trend_1m: TUMBLE(1 min) per ad
  tables.ads_ad_click_trend_1m = [...groupBy(clicks, (c) => JSON.stringify([floorTo(c.ts, MINUTE), c.ad_id]))].map(([key, list]) => {
    const [minute, adId] = JSON.parse(key) as [number, number];
    screen(`ad_click_trend_1m:${adId}`, String(minute), String(list.length));
    return { minute: dateTime(minute), ad_id: adId, clicks: list.length };
  });

  // ads_hot_ads_daily: per day and province of the event's area, the top 3 ads by clicks desc, ad_id
  tables.ads_hot_ads_daily = [];
  for (const [key, list] of groupBy(clicks, (c) => JSON.stringify([day(c.ts), area(c.area_id).province]))) {
    const [d, province] = JSON.parse(key) as [string, string];
    const ranked = [...groupBy(list, (c) => String(c.ad_id))]
      .map(([ad, l]) => ({ ad_id: Number(ad), clicks: l.length }))
      .sort((a, b) => b.clicks - a.clicks || a.ad_id - b.ad_id)
      .slice(0, 3)
      .map((a, i) => ({ rank: i + 1, ...a }));
    for (const a of ranked) tables.ads_hot_ads_daily.push({ day: d, province, ...a });
    screen(`hot_ads_daily:${d}`, province, JSON.stringify(ranked));
  }

  // ads_ad_ctr_5m: impressions JOIN counted clicks per ad and 5-minute window
  const impressions = groupBy(events.filter((e) => e.type === 'ad_impression'), (e) => JSON.stringify([floorTo(e.ts, 5 * MINUTE), e.ad_id]));
  const windowClicks = groupBy(clicks, (c) => JSON.stringify([floorTo(c.ts, 5 * MINUTE), c.ad_id]));
  tables.ads_ad_ctr_5m = [...impressions].flatMap(([key, list]) => {
    const c = windowClicks.get(key);
    if (c === undefined) return [];
    const [start, adId] = JSON.parse(key) as [number, number];
    return [{ window_start: dateTime(start), ad_id: adId, impressions: list.length, clicks: c.length }];
  });

  // ads_channel_daily: counted clicks and their users per day and channel, and the counted orders of a user
  // with a counted click in the channel within [created_at - 1 h, created_at], each once per channel
  const channels = new Map<string, { clicks: number; clickers: Set<number>; orders: number; amount: number }>();
  const channel = (d: string, c: string) => {
    const id = JSON.stringify([d, c]);
    const row = channels.get(id) ?? { clicks: 0, clickers: new Set<number>(), orders: 0, amount: 0 };
    channels.set(id, row);
    return row;
  };
  for (const c of clicks) {
    const row = channel(day(c.ts), c.channel);
    row.clicks += 1;
    row.clickers.add(c.user_id as number);
  }
  for (const o of orders) {
    const attributed = new Set(clicks.filter((c) => c.user_id === o.user && c.ts >= o.created - HOUR && c.ts <= o.created).map((c) => c.channel));
    for (const c of attributed) {
      const row = channel(day(o.created), c);
      row.orders += 1;
      row.amount += o.amountCents;
    }
  }
  tables.ads_channel_daily = [...channels].map(([id, r]) => {
    const [d, c] = JSON.parse(id) as [string, string];
    return { day: d, channel: c, clicks: r.clicks, clickers: r.clickers.size, orders: r.orders, amount: money(r.amount) };
  });

  // ads_daily_kpi: page views, their distinct devices, ips and sessions; distinct users of every event and
  // counted order; counted orders and their amount by created_at; success payments by paid_at
  const kpis = new Map<string, { pv: number; uv: Set<string>; ip: Set<string>; vv: Set<string>; dau: Set<number>; orders: number; gmv: number; paid: number }>();
  const kpi = (d: string) => {
    const row = kpis.get(d) ?? { pv: 0, uv: new Set<string>(), ip: new Set<string>(), vv: new Set<string>(), dau: new Set<number>(), orders: 0, gmv: 0, paid: 0 };
    kpis.set(d, row);
    return row;
  };
  for (const e of events) {
    const row = kpi(day(e.ts));
    if (e.user_id !== null) row.dau.add(e.user_id);
    if (e.type !== 'page_view') continue;
    row.pv += 1;
    row.uv.add(e.device_id);
    row.ip.add(e.ip);
    row.vv.add(e.session_id);
  }
  for (const o of orders) {
    const row = kpi(day(o.created));
    row.dau.add(o.user);
    row.orders += 1;
    row.gmv += o.amountCents;
  }
  for (const p of s.db.payments.values()) if (p.status === 'success') kpi(day(p.paid)).paid += cents(p.amount);
  tables.ads_daily_kpi = [...kpis].map(([d, r]) => {
    const row = { day: d, pv: r.pv, uv: r.uv.size, ip: r.ip.size, vv: r.vv.size, dau: r.dau.size, orders: r.orders, gmv: money(r.gmv), paid_gmv: money(r.paid) };
    for (const [k, v] of Object.entries(row)) if (k !== 'day') screen(`daily_kpi:${d}`, k, String(v));
    return row;
  });

  return { tables, screens };
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

/**
 * What every ADS table and screen holds after the scenario of ads-scenario.ts: the model reads the final
 * source rows and the deduplicated on-time events directly and computes each table as its SQL would
 * (README "ADS tables"), independently of the jobs' code.
 */
import { BLACKLIST_CLICKS, type Event, type Scenario } from './ads-scenario.js';

const ZONE_OFFSET = 8 * 3_600_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

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


/**
 * Every ADS table recomputed in batch for the windows a run judges: the order side from MySQL
 * (order-figures.ts), the event side from dwd_ad_event (event-figures.ts), put together here where a
 * table needs both (the channel attribution, DAU), and the rankings of the top-N tables. Rows are
 * canonical text (tables.ts), the figures of a key that has none left are no row.
 */
import { formatDecimal, parseDecimal } from '../../runtime/core/decimal.js';
import type { ClickHouseReader } from '../clickhouse.js';
import type { MysqlReader } from '../mysql.js';
import { EventSide, type CountedClick } from './event-figures.js';
import { OrderSide } from './order-figures.js';
import type { AdsRow, AdsTableDef } from './tables.js';
import type { JudgedWindows } from './windows.js';

const HOUR_MS = 3_600_000;
/** ADS amounts are Decimal(18, 2) */
const AMOUNT_SCALE = 2;

/** Strings by Unicode code point (JavaScript's < compares UTF-16 code units, which differs past U+FFFF). */
export function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const cents = (text: string): bigint => parseDecimal(text, AMOUNT_SCALE);
const money = (unscaled: bigint): string => formatDecimal(unscaled, AMOUNT_SCALE);

/** Per window and province, the top 3 cities by amount desc, orders desc, city asc, ranked 1..3. */
export function top3Cities(cityRows: readonly AdsRow[]): AdsRow[] {
  const groups = new Map<string, AdsRow[]>();
  for (const r of cityRows) {
    const id = JSON.stringify([r.window_start, r.window_end, r.province]);
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  const out: AdsRow[] = [];
  for (const rows of groups.values()) {
    const ranked = [...rows].sort((a, b) => {
      const amount = cents(b.amount ?? '0') - cents(a.amount ?? '0');
      if (amount !== 0n) return amount > 0n ? 1 : -1;
      return Number(b.orders) - Number(a.orders) || byCodePoint(a.city ?? '', b.city ?? '');
    });
    ranked.slice(0, 3).forEach((r, i) => out.push({ window_start: r.window_start ?? '', window_end: r.window_end ?? '', province: r.province ?? '', rank: String(i + 1), city: r.city ?? '', orders: r.orders ?? '0', amount: r.amount ?? '0' }));
  }
  return out;
}

/** Clicks of each user in time order. */
function clicksByUser(clicks: readonly CountedClick[]): Map<string, Array<{ t: number; channel: string }>> {
  const byUser = new Map<string, Array<{ t: number; channel: string }>>();
  for (const c of clicks) {
    const list = byUser.get(c.user_id) ?? [];
    list.push({ t: Number(c.t), channel: c.channel });
    byUser.set(c.user_id, list);
  }
  for (const list of byUser.values()) list.sort((a, b) => a.t - b.t);
  return byUser;
}

/** The channels of a user's counted clicks within [t - 1 h, t] (inclusive bounds, an interval join). */
function channelsWithin(list: ReadonlyArray<{ t: number; channel: string }>, t: number): Set<string> {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid]?.t ?? 0) < t - HOUR_MS) lo = mid + 1;
    else hi = mid;
  }
  const channels = new Set<string>();
  for (let i = lo; i < list.length && (list[i]?.t ?? Infinity) <= t; i++) channels.add(list[i]?.channel ?? '');
  return channels;
}

export class AdsRecompute {
  private readonly orders: OrderSide;
  private readonly events: EventSide;
  /** ads_order_city_1h by window range: the top 3 ranks the same rows, read once when both tables judge the same windows */
  private readonly cities = new Map<string, Promise<AdsRow[]>>();

  constructor(mysql: MysqlReader, clickhouse: ClickHouseReader, sourceDatabase: string, zone: string) {
    this.orders = new OrderSide(mysql, sourceDatabase, zone);
    this.events = new EventSide(clickhouse, zone);
  }

  async table(def: AdsTableDef, w: JudgedWindows): Promise<AdsRow[]> {
    if (w.kind === 'day' ? w.days.length === 0 : w.until <= w.from) return [];
    switch (def.table) {
      case 'ads_order_city_1h':
        return this.city1h(w);
      case 'ads_order_top3_city_1h':
        return top3Cities(await this.city1h(w));
      case 'ads_order_payment_5m':
        return this.orders.payment5m(w.from, w.until);
      case 'ads_ad_clicks_1h':
        return this.events.clicks1h(w.from, w.until);
      case 'ads_ad_click_trend_1m':
        return this.events.trend1m(w.from, w.until);
      case 'ads_ad_ctr_5m':
        return this.events.ctr5m(w.from, w.until);
      case 'ads_hot_ads_daily':
        return this.events.hotAds(w.days);
      case 'ads_channel_daily':
        return this.channelDaily(w);
      case 'ads_daily_kpi':
        return this.dailyKpi(w);
      default:
        throw new Error(`no recomputation for ${def.table}`);
    }
  }

  private city1h(w: JudgedWindows): Promise<AdsRow[]> {
    const id = `${w.from}/${w.until}`;
    let rows = this.cities.get(id);
    if (rows === undefined) {
      rows = this.orders.city1h(w.from, w.until);
      this.cities.set(id, rows);
    }
    return rows;
  }

  /**
   * Per day and channel: counted clicks and clickers, and the counted orders created that day by a
   * user with a counted click in the channel within [created_at - 1 h, created_at], each once per channel.
   */
  private async channelDaily(w: JudgedWindows): Promise<AdsRow[]> {
    const [clicks, orders, clickRows] = await Promise.all([this.events.countedClicks(w.days), this.orders.ordersOn(w.days), this.events.channelClicks(w.days)]);
    const rows = new Map<string, { day: string; channel: string; clicks: string; clickers: string; orders: number; amount: bigint }>();
    const row = (day: string, channel: string) => {
      const id = JSON.stringify([day, channel]);
      let r = rows.get(id);
      if (r === undefined) {
        r = { day, channel, clicks: '0', clickers: '0', orders: 0, amount: 0n };
        rows.set(id, r);
      }
      return r;
    };
    for (const c of clickRows) Object.assign(row(c.day ?? '', c.channel ?? ''), { clicks: c.clicks, clickers: c.clickers });
    const byUser = clicksByUser(clicks);
    for (const o of orders) {
      for (const channel of channelsWithin(byUser.get(o.user_id) ?? [], Number(o.t))) {
        const r = row(o.day, channel);
        r.orders += 1;
        r.amount += cents(o.amount);
      }
    }
    return [...rows.values()].map((r) => ({ day: r.day, channel: r.channel, clicks: r.clicks, clickers: r.clickers, orders: String(r.orders), amount: money(r.amount) }));
  }

  /**
   * Per day: pv, uv, ip, vv of page views; dau: distinct users of every event and of the counted orders
   * created that day; orders and gmv by created_at; paid_gmv of `success` payments by paid_at.
   */
  private async dailyKpi(w: JudgedWindows): Promise<AdsRow[]> {
    const [views, events, eventUsers, orders, orderUsers, paid] = await Promise.all([
      this.events.dailyPageViews(w.days),
      this.events.dailyEvents(w.days),
      this.events.dailyEventUsers(w.days),
      this.orders.dailyOrders(w.days),
      this.orders.dailyOrderUsers(w.days),
      this.orders.dailyPaid(w.days),
    ]);
    const days = new Set([...events, ...orders, ...paid].map((r) => r.day ?? ''));
    const users = new Map<string, Set<string>>();
    for (const u of [...eventUsers, ...orderUsers]) {
      const set = users.get(u.day ?? '') ?? new Set<string>();
      set.add(u.user_id ?? '');
      users.set(u.day ?? '', set);
    }
    const byDay = (rows: readonly AdsRow[]) => new Map(rows.map((r) => [r.day ?? '', r]));
    const v = byDay(views);
    const o = byDay(orders);
    const p = byDay(paid);
    return [...days].map((day) => ({
      day,
      pv: v.get(day)?.pv ?? '0',
      uv: v.get(day)?.uv ?? '0',
      ip: v.get(day)?.ip ?? '0',
      vv: v.get(day)?.vv ?? '0',
      dau: String(users.get(day)?.size ?? 0),
      orders: o.get(day)?.orders ?? '0',
      gmv: o.get(day)?.gmv ?? '0',
      paid_gmv: p.get(day)?.paid_gmv ?? '0',
    }));
  }
}

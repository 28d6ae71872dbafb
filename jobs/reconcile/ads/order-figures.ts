/**
 * The order side of the ADS tables, recomputed with SQL over the source's current rows (MySQL, the
 * CDC user's SELECT). A counted order is an `orders` row whose status is not `cancelled`; its area is
 * its area_id's row of `areas` (an order of an unknown area is in no per-area figure); its instant is
 * its created_at read in RTDW_TIMEZONE (zone-sql.ts). Strings are compared and grouped as bytes
 * (CAST … AS BINARY), never by the column's collation, which would merge 'a' and 'A' where the stream
 * does not. Only the SQL of MySQL 5.7 is used (no CTE, no window function).
 */
import type { MysqlReader } from '../mysql.js';
import { quoted } from '../sql.js';
import { formatWall } from '../wall-clock.js';
import { raw, sql, type Fragment } from './sql-text.js';
import { instantSql, offsetBounds, offsetSpans, type OffsetSpan } from './zone-sql.js';
import type { CalendarDay } from './windows.js';

const DAY_MS = 86_400_000;
const SLIDE_MS = 300_000;
/** The 12 slides of a 1 h window. */
const HOP_SLIDES = raw(Array.from({ length: 12 }, (_, k) => `SELECT ${k} AS k`).join(' UNION ALL '));
const PAYMENT_WITHIN_MS = 30 * 60_000;

export interface CountedOrder {
  user_id: string;
  /** epoch ms */
  t: string;
  amount: string;
  /** YYYY-MM-DD of created_at */
  day: string;
}

type Row = Record<string, string>;

export class OrderSide {
  constructor(private readonly mysql: MysqlReader, private readonly database: string, private readonly zone: string) {}

  private table(name: string, alias: string): Fragment {
    return raw(`${quoted(this.database)}.${quoted(name)} AS ${quoted(alias)}`);
  }

  private spans(from: number, to: number): OffsetSpan[] {
    return offsetSpans(this.zone, from - DAY_MS, to + DAY_MS);
  }

  private rows(f: Fragment): Promise<Row[]> {
    return this.mysql.rows<Row>(f.sql, [...f.params]);
  }

  /** Counted orders created in the instants [from, to): id, user_id, area_id, amount, t (epoch ms). */
  private counted(from: number, to: number, spans: readonly OffsetSpan[]): Fragment {
    const { min, max } = offsetBounds(spans);
    // The wall clock of an instant in [from, to) lies in [from + min offset, to + max offset]: the index range read.
    return sql`SELECT src.id, src.user_id, src.area_id, src.amount, src.t FROM (
        SELECT o.id, o.user_id, o.area_id, o.amount, ${instantSql('o', 'created_at', spans)} AS t
          FROM ${this.table('orders', 'o')}
         WHERE o.created_at >= ${formatWall(from + min)} AND o.created_at <= ${formatWall(to + max)} AND CAST(o.status AS BINARY) <> 'cancelled'
      ) AS src WHERE src.t >= ${from} AND src.t < ${to}`;
  }

  /** ads_order_city_1h of the windows starting in [from, until): orders created in each window per province and city. */
  async city1h(from: number, until: number): Promise<Row[]> {
    const to = until - SLIDE_MS + 3_600_000;
    const spans = this.spans(from, to);
    // per 5-minute slice and area text, then each slice into the 12 windows holding it
    return this.rows(sql`SELECT CAST(y.ws * ${SLIDE_MS} AS CHAR) AS window_start, CAST(y.ws * ${SLIDE_MS} + 3600000 AS CHAR) AS window_end,
        MIN(y.province) AS province, MIN(y.city) AS city, CAST(SUM(y.n) AS CHAR) AS orders, CAST(SUM(y.amount) AS CHAR) AS amount
      FROM (
        SELECT w.slice - h.k AS ws, w.pb, w.cb, w.province, w.city, w.n, w.amount
          FROM (
            SELECT FLOOR(c.t / ${SLIDE_MS}) AS slice, CAST(a.province AS BINARY) AS pb, CAST(a.city AS BINARY) AS cb,
                   MIN(a.province) AS province, MIN(a.city) AS city, COUNT(*) AS n, SUM(c.amount) AS amount
              FROM (${this.counted(from, to, spans)}) AS c JOIN ${this.table('areas', 'a')} ON a.id = c.area_id
             GROUP BY slice, pb, cb
          ) AS w JOIN (${HOP_SLIDES}) AS h
      ) AS y
      WHERE y.ws * ${SLIDE_MS} >= ${from} AND y.ws * ${SLIDE_MS} < ${until}
      GROUP BY y.ws, y.pb, y.cb`);
  }

  /**
   * ads_order_payment_5m of the windows starting in [from, until): counted orders per 5-minute window of
   * created_at and province; paid ones have a `success` payment within [created_at, created_at + 30 min],
   * whose first (by paid_at, then id) gives the paid amount.
   */
  async payment5m(from: number, until: number): Promise<Row[]> {
    const spans = this.spans(from, until + PAYMENT_WITHIN_MS);
    const paidAt = instantSql('p', 'paid_at', spans);
    const firstPaid = sql`(SELECT p.amount FROM ${this.table('payments', 'p')}
        WHERE p.order_id = c.id AND CAST(p.status AS BINARY) = 'success' AND ${paidAt} BETWEEN c.t AND c.t + ${PAYMENT_WITHIN_MS}
        ORDER BY ${paidAt}, p.id LIMIT 1)`;
    return this.rows(sql`SELECT CAST(x.slice * ${SLIDE_MS} AS CHAR) AS window_start, MIN(x.province) AS province,
        CAST(COUNT(*) AS CHAR) AS orders, CAST(COUNT(x.paid) AS CHAR) AS paid_orders, CAST(IFNULL(SUM(x.paid), 0) AS CHAR) AS paid_amount
      FROM (
        SELECT FLOOR(c.t / ${SLIDE_MS}) AS slice, a.province, CAST(a.province AS BINARY) AS pb, ${firstPaid} AS paid
          FROM (${this.counted(from, until, spans)}) AS c JOIN ${this.table('areas', 'a')} ON a.id = c.area_id
      ) AS x
      GROUP BY x.slice, x.pb`);
  }

  /** The wall-clock bounds of `days` (they are consecutive): created_at in [first 00:00, after last 00:00). */
  private dayBounds(days: readonly CalendarDay[]): [string, string] {
    const first = days[0]?.day ?? '1970-01-01';
    const last = days[days.length - 1]?.day ?? first;
    return [`${first} 00:00:00`, formatWall(Date.parse(`${last}T00:00:00Z`) + DAY_MS)];
  }

  /** Per day of created_at: counted orders and their amount. */
  async dailyOrders(days: readonly CalendarDay[]): Promise<Row[]> {
    const [lo, hi] = this.dayBounds(days);
    return this.rows(sql`SELECT CAST(DATE(o.created_at) AS CHAR) AS day, CAST(COUNT(*) AS CHAR) AS orders, CAST(SUM(o.amount) AS CHAR) AS gmv
      FROM ${this.table('orders', 'o')} WHERE o.created_at >= ${lo} AND o.created_at < ${hi} AND CAST(o.status AS BINARY) <> 'cancelled'
      GROUP BY DATE(o.created_at)`);
  }

  /** Per day of paid_at: the amount of `success` payments. */
  async dailyPaid(days: readonly CalendarDay[]): Promise<Row[]> {
    const [lo, hi] = this.dayBounds(days);
    return this.rows(sql`SELECT CAST(DATE(p.paid_at) AS CHAR) AS day, CAST(SUM(p.amount) AS CHAR) AS paid_gmv
      FROM ${this.table('payments', 'p')} WHERE p.paid_at >= ${lo} AND p.paid_at < ${hi} AND CAST(p.status AS BINARY) = 'success'
      GROUP BY DATE(p.paid_at)`);
  }

  /** The users of counted orders, per day of created_at. */
  async dailyOrderUsers(days: readonly CalendarDay[]): Promise<Row[]> {
    const [lo, hi] = this.dayBounds(days);
    return this.rows(sql`SELECT DISTINCT CAST(DATE(o.created_at) AS CHAR) AS day, CAST(o.user_id AS CHAR) AS user_id
      FROM ${this.table('orders', 'o')} WHERE o.created_at >= ${lo} AND o.created_at < ${hi} AND CAST(o.status AS BINARY) <> 'cancelled'`);
  }

  /** Counted orders created on `days`, with their instant, for the channel attribution. */
  async ordersOn(days: readonly CalendarDay[]): Promise<CountedOrder[]> {
    const [lo, hi] = this.dayBounds(days);
    const first = days[0]?.start ?? 0;
    const spans = this.spans(first, days[days.length - 1]?.end ?? first);
    return (await this.rows(sql`SELECT CAST(o.user_id AS CHAR) AS user_id, CAST(${instantSql('o', 'created_at', spans)} AS CHAR) AS t, CAST(o.amount AS CHAR) AS amount,
        CAST(DATE(o.created_at) AS CHAR) AS day
      FROM ${this.table('orders', 'o')} WHERE o.created_at >= ${lo} AND o.created_at < ${hi} AND CAST(o.status AS BINARY) <> 'cancelled'`)) as unknown as CountedOrder[];
  }
}

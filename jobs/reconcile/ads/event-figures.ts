/**
 * The event side of the ADS tables, recomputed with SQL over the event log as the DWD job wrote it:
 * ClickHouse `dwd_ad_event FINAL` (one row per event_id: deduplicated, on time, with its area; a
 * counted click is an `ad_click` with counted = 1, i.e. not removed by the blacklist). Every value is a
 * query parameter; days are `toDate(ts, RTDW_TIMEZONE)`. Inner aliases never take a column's name: in
 * ClickHouse such an alias would stand for the column in the rest of the query.
 */
import type { ClickHouseReader } from '../clickhouse.js';
import type { CalendarDay } from './windows.js';

type Row = Record<string, string>;

const COUNTED_CLICK = "type = 'ad_click' AND counted = 1";
/** ts in [{lo}, {hi}) as epoch ms parameters */
const TS_RANGE = "ts >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')";
const HOUR_MS = 3_600_000;

export interface CountedClick {
  user_id: string;
  channel: string;
  /** epoch ms */
  t: string;
}

export class EventSide {
  constructor(private readonly clickhouse: ClickHouseReader, private readonly zone: string) {}

  /** The instants holding `days` (they are consecutive) and the day list, as parameters. */
  private dayParams(days: readonly CalendarDay[], before = 0): Record<string, unknown> {
    return { lo: (days[0]?.start ?? 0) - before, hi: days[days.length - 1]?.end ?? 0, days: days.map((d) => d.day), tz: this.zone };
  }

  /** ads_ad_clicks_1h of the windows starting in [from, until): counted clicks per ad, each click in its 12 windows. */
  clicks1h(from: number, until: number): Promise<Row[]> {
    return this.clickhouse.rows<Row>(
      `SELECT toString(s) AS window_start, toString(s + 3600000) AS window_end, toString(ad_id) AS ad_id, toString(count()) AS clicks
         FROM (SELECT ad_id, intDiv(toUnixTimestamp64Milli(ts), 300000) * 300000 - k * 300000 AS s
                 FROM dwd_ad_event FINAL ARRAY JOIN range(12) AS k
                WHERE ${COUNTED_CLICK} AND ${TS_RANGE})
        WHERE s >= {from:Int64} AND s < {until:Int64}
        GROUP BY s, ad_id`,
      { lo: from, hi: until - 300_000 + HOUR_MS, from, until },
    );
  }

  /** ads_ad_click_trend_1m of the minutes in [from, until). */
  trend1m(from: number, until: number): Promise<Row[]> {
    return this.clickhouse.rows<Row>(
      `SELECT toString(intDiv(toUnixTimestamp64Milli(ts), 60000) * 60000) AS minute, toString(ad_id) AS ad_id, toString(count()) AS clicks
         FROM dwd_ad_event FINAL WHERE ${COUNTED_CLICK} AND ${TS_RANGE} GROUP BY minute, ad_id`,
      { lo: from, hi: until },
    );
  }

  /** ads_ad_ctr_5m of the windows starting in [from, until): impressions and counted clicks per ad, ads with both. */
  ctr5m(from: number, until: number): Promise<Row[]> {
    return this.clickhouse.rows<Row>(
      `SELECT toString(s) AS window_start, toString(ad_id) AS ad_id, toString(i) AS impressions, toString(c) AS clicks
         FROM (SELECT intDiv(toUnixTimestamp64Milli(ts), 300000) * 300000 AS s, ad_id, countIf(type = 'ad_impression') AS i, countIf(${COUNTED_CLICK}) AS c
                 FROM dwd_ad_event FINAL WHERE type IN ('ad_impression', 'ad_click') AND ${TS_RANGE} GROUP BY s, ad_id)
        WHERE i > 0 AND c > 0`,
      { lo: from, hi: until },
    );
  }

  /** ads_hot_ads_daily of `days`: per day and province of the event's area, the top 3 ads by counted clicks desc, ad_id asc. */
  hotAds(days: readonly CalendarDay[]): Promise<Row[]> {
    if (days.length === 0) return Promise.resolve([]);
    return this.clickhouse.rows<Row>(
      `SELECT toString(d) AS day, province, toString(rn) AS rank, toString(ad) AS ad_id, toString(n) AS clicks
         FROM (SELECT d, province, ad, n, row_number() OVER (PARTITION BY d, province ORDER BY n DESC, ad ASC) AS rn
                 FROM (SELECT toDate(ts, {tz:String}) AS d, province, assumeNotNull(ad_id) AS ad, count() AS n
                         FROM dwd_ad_event FINAL WHERE ${COUNTED_CLICK} AND ${TS_RANGE} AND toDate(ts, {tz:String}) IN {days:Array(Date)}
                        GROUP BY d, province, ad))
        WHERE rn <= 3`,
      this.dayParams(days),
    );
  }

  /** Per day and channel: counted clicks and their distinct users. */
  channelClicks(days: readonly CalendarDay[]): Promise<Row[]> {
    if (days.length === 0) return Promise.resolve([]);
    return this.clickhouse.rows<Row>(
      `SELECT toString(toDate(ts, {tz:String})) AS day, toString(channel) AS channel, toString(count()) AS clicks, toString(uniqExact(user_id)) AS clickers
         FROM dwd_ad_event FINAL WHERE ${COUNTED_CLICK} AND ${TS_RANGE} AND toDate(ts, {tz:String}) IN {days:Array(Date)}
        GROUP BY day, channel`,
      this.dayParams(days),
    );
  }

  /** Counted clicks from an hour before the first of `days` to the end of the last: the channel attribution's other side. */
  countedClicks(days: readonly CalendarDay[]): Promise<CountedClick[]> {
    if (days.length === 0) return Promise.resolve([]);
    return this.clickhouse.rows<CountedClick>(
      `SELECT toString(user_id) AS user_id, toString(channel) AS channel, toString(toUnixTimestamp64Milli(ts)) AS t
         FROM dwd_ad_event FINAL WHERE ${COUNTED_CLICK} AND user_id IS NOT NULL AND ${TS_RANGE}`,
      this.dayParams(days, HOUR_MS),
    );
  }

  /** Per day: page views, their distinct devices, ips and sessions. */
  dailyPageViews(days: readonly CalendarDay[]): Promise<Row[]> {
    if (days.length === 0) return Promise.resolve([]);
    return this.clickhouse.rows<Row>(
      `SELECT toString(toDate(ts, {tz:String})) AS day, toString(count()) AS pv, toString(uniqExact(device_id)) AS uv, toString(uniqExact(ip)) AS ip, toString(uniqExact(session_id)) AS vv
         FROM dwd_ad_event FINAL WHERE type = 'page_view' AND ${TS_RANGE} AND toDate(ts, {tz:String}) IN {days:Array(Date)}
        GROUP BY day`,
      this.dayParams(days),
    );
  }

  /** The distinct non-null users of all events, per day. */
  dailyEventUsers(days: readonly CalendarDay[]): Promise<Row[]> {
    if (days.length === 0) return Promise.resolve([]);
    return this.clickhouse.rows<Row>(
      `SELECT DISTINCT toString(toDate(ts, {tz:String})) AS day, toString(user_id) AS user_id
         FROM dwd_ad_event FINAL WHERE user_id IS NOT NULL AND ${TS_RANGE} AND toDate(ts, {tz:String}) IN {days:Array(Date)}`,
      this.dayParams(days),
    );
  }

  /** Whether any event (of any type) is in `days`: a day's KPI row exists with one. */
  dailyEvents(days: readonly CalendarDay[]): Promise<Row[]> {
    if (days.length === 0) return Promise.resolve([]);
    return this.clickhouse.rows<Row>(
      `SELECT toString(toDate(ts, {tz:String})) AS day, toString(count()) AS events
         FROM dwd_ad_event FINAL WHERE ${TS_RANGE} AND toDate(ts, {tz:String}) IN {days:Array(Date)} GROUP BY day`,
      this.dayParams(days),
    );
  }
}

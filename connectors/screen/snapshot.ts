/**
 * The screen model: what one read of Redis (reader.ts) returned, raw texts as they are stored
 * (README "Redis layout"), turned into the figures the page shows. Pure: no I/O, no clock.
 *
 * Every stored text is data: a field or value that does not parse is left out of the figures and
 * named in `problems`, which the page shows, so nothing is dropped silently and one bad field
 * never blanks the screen. Rankings break ties as issue 11 says: amounts or counts descending,
 * then strings by Unicode code point and ids numerically, ascending.
 */
import { z } from 'zod';
import { formatDecimal, parseDecimal } from '../../jobs/runtime/core/decimal.js';
import { AMOUNT_KPIS, DAILY_KPIS, HOUR_MS, MINUTE_MS, SLIDE_MS, type AdRank, type Alert, type CityRank, type DailyKpi, type HashKind } from '../../schemas/redis-keys.js';

/** Top ads of the latest hour whose per-minute trend is drawn. */
export const TREND_ADS = 5;
/** Minutes of the trend chart: the last hour up to the newest complete minute. */
export const TREND_MINUTES = 60;
/** Newest alerts read and shown. */
export const ALERTS_SHOWN = 20;

/** One window's hash as read: its start (epoch ms) and its fields. */
export interface WindowHash {
  start: number;
  fields: Record<string, string>;
}

/** What the reader got from Redis in one round, untouched. */
export interface ScreenReads {
  /** HGETALL `<ns>:latest` */
  latest: Record<string, string>;
  /** HGETALL `<ns>:watermark` */
  watermarks: Record<string, string>;
  /** SCARD `<ns>:blacklist` */
  blacklistSize: number;
  /** LRANGE `<ns>:alerts` 0 ALERTS_SHOWN-1, newest first */
  alerts: string[];
  /** the windows `latest` names; undefined when it names none */
  orderCity: WindowHash | undefined;
  top3City: WindowHash | undefined;
  adClicks: WindowHash | undefined;
  /** HMGET of each top ad's trend hash over `minutes` (null: no such field) */
  trend: { minutes: number[]; ads: Array<{ adId: number; clicks: Array<string | null> }> } | undefined;
  /** "today" in the screen's zone, and that day's hashes */
  today: string;
  hotAds: Record<string, string>;
  dailyKpi: Record<string, string>;
}

/** Consumer-group lag as lag.ts last read it. */
export type LagReport =
  | { state: 'off' }
  | { state: 'pending' }
  | { state: 'error'; message: string }
  | { state: 'ok'; groups: Array<{ group: string; topics: string[]; lag: number }> };

export interface ProvinceRow {
  province: string;
  /** null: the province has a top-3 ranking but no figures in the latest order_city_1h window */
  orders: number | null;
  amount: string | null;
  cities: number;
  top3: CityRank[];
}

export interface ScreenSnapshot {
  namespace: string;
  timezone: string;
  /** when Redis was read (epoch ms, the server's clock): the page measures ages against it */
  readAt: number;
  /** set while Redis cannot be read; the figures are then those of the last good read */
  redisError: string | null;
  /** the newest complete window of each kind, as `<ns>:latest` names it */
  windows: Array<{ kind: HashKind; start: number; end: number }>;
  freshness: { newestWindowEnd: number | null; newestWatermark: number | null };
  orders: { start: number; end: number; top3Start: number | null; provinces: ProvinceRow[]; totals: { orders: number; amount: string; cities: number } } | null;
  ads: { start: number; end: number; ads: Array<{ adId: number; clicks: number }>; totalClicks: number } | null;
  trend: { minutes: number[]; series: Array<{ adId: number; clicks: number[] }> } | null;
  today: { day: string; kpi: Record<DailyKpi, string | null> | null; hotAds: Array<{ province: string; ranking: AdRank[] }> };
  alerts: Alert[];
  blacklistSize: number;
  watermarks: Array<{ job: string; watermark: number }>;
  lag: LagReport;
  problems: string[];
}

/** Strings by Unicode code point (not UTF-16 unit: the two differ beyond the BMP). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const count = z.int().nonnegative();
const amountText = z.string().regex(/^-?\d+\.\d{2}$/, 'an amount with two decimals');
const cityFigures = z.strictObject({ orders: count, amount: amountText });
const rankings = <T extends z.ZodType<{ rank: number }>>(entry: T) =>
  z
    .array(entry)
    .min(1)
    .max(3)
    .refine((rs) => rs.every((r, i) => r.rank === i + 1), 'ranks must run 1..n');
const cityRanking = rankings(z.strictObject({ rank: z.int(), city: z.string().min(1), orders: count, amount: amountText }));
const adRanking = rankings(z.strictObject({ rank: z.int(), ad_id: z.int().positive(), clicks: count }));
const alertSchema = z.strictObject({ time: z.int().nonnegative(), kind: z.string().min(1), subject: z.string(), value: z.number(), threshold: z.number(), detail: z.string() });

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
}

/** A JSON text checked against a schema; undefined (and a problem) when it is not. */
function parseJson<T>(text: string, schema: z.ZodType<T>, where: string, problems: string[]): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    problems.push(`${where}: not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    problems.push(`${where}: ${describe(parsed.error)}`);
    return undefined;
  }
  return parsed.data;
}

const COUNT_TEXT = /^\d{1,15}$/;

function countOf(text: string, where: string, problems: string[]): number | undefined {
  if (COUNT_TEXT.test(text)) return Number(text);
  problems.push(`${where}: not a count: ${JSON.stringify(text.slice(0, 80))}`);
  return undefined;
}

/** The window kinds of `latest` that name an epoch-ms start; the daily kinds are read by today's date instead. */
const WINDOW_KINDS = ['order_city_1h', 'order_top3_city_1h', 'ad_clicks_1h', 'ad_click_trend_1m'] as const satisfies readonly HashKind[];
type WindowKind = (typeof WINDOW_KINDS)[number];

/** The windows `latest` names, checked: 1 h windows on the 5-minute grid, trend minutes whole. */
export function latestWindows(latest: Record<string, string>, problems: string[] = []): Partial<Record<WindowKind, number>> {
  const windows: Partial<Record<WindowKind, number>> = {};
  for (const kind of WINDOW_KINDS) {
    const text = latest[kind];
    if (text === undefined) continue;
    const grid = kind === 'ad_click_trend_1m' ? MINUTE_MS : SLIDE_MS;
    const start = COUNT_TEXT.test(text) ? Number(text) : NaN;
    if (Number.isSafeInteger(start) && start % grid === 0) windows[kind] = start;
    else problems.push(`latest.${kind}: not a window start on the ${grid / 60_000}-minute grid: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return windows;
}

/** Ads of an `ad_clicks_1h` hash by clicks descending, then ad id ascending. */
export function rankAds(fields: Record<string, string>, where = 'ad_clicks_1h', problems: string[] = []): Array<{ adId: number; clicks: number }> {
  const ads: Array<{ adId: number; clicks: number }> = [];
  for (const [field, value] of Object.entries(fields)) {
    if (!/^[1-9]\d{0,15}$/.test(field) || !Number.isSafeInteger(Number(field))) {
      problems.push(`${where}: field ${JSON.stringify(field.slice(0, 80))} is not an ad id`);
      continue;
    }
    const clicks = countOf(value, `${where} ad ${field}`, problems);
    if (clicks !== undefined) ads.push({ adId: Number(field), clicks });
  }
  return ads.sort((a, b) => b.clicks - a.clicks || a.adId - b.adId);
}

/** The trend chart's minutes: the last hour up to and including the newest complete minute. */
export function trendMinutes(newestMinute: number): number[] {
  return Array.from({ length: TREND_MINUTES }, (_, i) => newestMinute - (TREND_MINUTES - 1 - i) * MINUTE_MS);
}

function orderFigures(reads: ScreenReads, problems: string[]): ScreenSnapshot['orders'] {
  const { orderCity, top3City } = reads;
  if (orderCity === undefined && top3City === undefined) return null;
  const provinces = new Map<string, { orders: number; amount: bigint; cities: number } | undefined>();
  let orders = 0;
  let amount = 0n;
  let cities = 0;
  if (orderCity !== undefined) {
    const where = `order_city_1h:${orderCity.start}`;
    for (const [field, value] of Object.entries(orderCity.fields)) {
      const bar = field.indexOf('|');
      if (bar <= 0 || bar === field.length - 1) {
        problems.push(`${where}: field ${JSON.stringify(field.slice(0, 80))} is not province|city`);
        continue;
      }
      const figures = parseJson(value, cityFigures, `${where} ${field}`, problems);
      if (figures === undefined) continue;
      const province = field.slice(0, bar);
      const row = provinces.get(province) ?? { orders: 0, amount: 0n, cities: 0 };
      const cents = parseDecimal(figures.amount, 2);
      row.orders += figures.orders;
      row.amount += cents;
      row.cities += 1;
      provinces.set(province, row);
      orders += figures.orders;
      amount += cents;
      cities += 1;
    }
  }
  const top3 = new Map<string, CityRank[]>();
  if (top3City !== undefined) {
    for (const [province, value] of Object.entries(top3City.fields)) {
      const ranking = parseJson(value, cityRanking, `order_top3_city_1h:${top3City.start} ${province}`, problems);
      if (ranking === undefined) continue;
      top3.set(province, ranking);
      if (!provinces.has(province)) provinces.set(province, undefined);
    }
  }
  const rows = [...provinces].map(([province, figures]) => ({ province, figures, top3: top3.get(province) ?? [] }));
  rows.sort((a, b) => {
    if (a.figures === undefined || b.figures === undefined) return a.figures === b.figures ? compareCodePoints(a.province, b.province) : a.figures === undefined ? 1 : -1;
    const byAmount = b.figures.amount - a.figures.amount;
    return byAmount !== 0n ? (byAmount > 0n ? 1 : -1) : b.figures.orders - a.figures.orders || compareCodePoints(a.province, b.province);
  });
  const start = orderCity?.start ?? top3City!.start;
  return {
    start,
    end: start + HOUR_MS,
    top3Start: top3City?.start ?? null,
    provinces: rows.map(({ province, figures, top3: ranking }) => ({
      province,
      orders: figures?.orders ?? null,
      amount: figures === undefined ? null : formatDecimal(figures.amount, 2),
      cities: figures?.cities ?? 0,
      top3: ranking,
    })),
    totals: { orders, amount: formatDecimal(amount, 2), cities },
  };
}

function kpiFigures(fields: Record<string, string>, day: string, problems: string[]): Record<DailyKpi, string | null> | null {
  if (Object.keys(fields).length === 0) return null;
  const kpi = Object.fromEntries(DAILY_KPIS.map((k) => [k, null])) as Record<DailyKpi, string | null>;
  for (const k of DAILY_KPIS) {
    const text = fields[k];
    if (text === undefined) continue;
    if (AMOUNT_KPIS.has(k)) {
      try {
        kpi[k] = formatDecimal(parseDecimal(text, 2), 2);
      } catch (err) {
        problems.push(`daily_kpi:${day} ${k}: ${(err as Error).message}`);
      }
    } else if (countOf(text, `daily_kpi:${day} ${k}`, problems) !== undefined) kpi[k] = String(Number(text));
  }
  return kpi;
}

function hotAdRankings(fields: Record<string, string>, day: string, problems: string[]): Array<{ province: string; ranking: AdRank[] }> {
  const hot: Array<{ province: string; ranking: AdRank[] }> = [];
  for (const [province, value] of Object.entries(fields)) {
    const ranking = parseJson(value, adRanking, `hot_ads_daily:${day} ${province}`, problems);
    if (ranking !== undefined) hot.push({ province, ranking });
  }
  return hot.sort((a, b) => b.ranking[0]!.clicks - a.ranking[0]!.clicks || compareCodePoints(a.province, b.province));
}

/** Redis reads → the screen's figures. `lag` and the context are the server's; nothing here reads a clock. */
export function buildSnapshot(reads: ScreenReads, context: { namespace: string; timezone: string; readAt: number; lag: LagReport }): ScreenSnapshot {
  const problems: string[] = [];
  const latest = latestWindows(reads.latest, problems);
  const windows = WINDOW_KINDS.flatMap((kind) => {
    const start = latest[kind];
    return start === undefined ? [] : [{ kind, start, end: start + (kind === 'ad_click_trend_1m' ? MINUTE_MS : HOUR_MS) }];
  });

  const watermarks: Array<{ job: string; watermark: number }> = [];
  for (const [job, text] of Object.entries(reads.watermarks)) {
    const watermark = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (Number.isSafeInteger(watermark)) watermarks.push({ job, watermark });
    else problems.push(`watermark.${job}: not epoch ms: ${JSON.stringify(text.slice(0, 80))}`);
  }
  watermarks.sort((a, b) => compareCodePoints(a.job, b.job));

  const orders = orderFigures(reads, problems);
  const ads = reads.adClicks === undefined ? null : rankAds(reads.adClicks.fields, `ad_clicks_1h:${reads.adClicks.start}`, problems);

  const trend =
    reads.trend === undefined
      ? null
      : {
          minutes: reads.trend.minutes,
          // A minute without a field had no counted click: the trend key holds every minute that had one.
          series: reads.trend.ads.map(({ adId, clicks }) => ({ adId, clicks: clicks.map((c, i) => (c === null ? 0 : (countOf(c, `ad_click_trend_1m:${adId} minute ${reads.trend!.minutes[i]}`, problems) ?? 0))) })),
        };

  const alerts: Alert[] = [];
  reads.alerts.forEach((text, i) => {
    const alert = parseJson(text, alertSchema, `alerts[${i}]`, problems);
    if (alert !== undefined) alerts.push(alert);
  });

  const ends = windows.map((w) => w.end);
  return {
    namespace: context.namespace,
    timezone: context.timezone,
    readAt: context.readAt,
    redisError: null,
    windows,
    freshness: {
      newestWindowEnd: ends.length === 0 ? null : Math.max(...ends),
      newestWatermark: watermarks.length === 0 ? null : Math.max(...watermarks.map((w) => w.watermark)),
    },
    orders,
    ads: reads.adClicks === undefined || ads === null ? null : { start: reads.adClicks.start, end: reads.adClicks.start + HOUR_MS, ads, totalClicks: ads.reduce((s, a) => s + a.clicks, 0) },
    trend,
    today: { day: reads.today, kpi: kpiFigures(reads.dailyKpi, reads.today, problems), hotAds: hotAdRankings(reads.hotAds, reads.today, problems) },
    alerts,
    blacklistSize: reads.blacklistSize,
    watermarks,
    lag: context.lag,
    problems,
  };
}

/** Two snapshots show the same thing: everything but the time of the read is equal. */
export function sameFigures(a: ScreenSnapshot, b: ScreenSnapshot): boolean {
  return JSON.stringify({ ...a, readAt: 0 }) === JSON.stringify({ ...b, readAt: 0 });
}

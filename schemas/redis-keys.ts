/**
 * The Redis layout of the live screens (issue 11): every key rtdw writes, one function per key
 * kind, and the text formats of their fields and values. Screens, reconciliation and the sink
 * (connectors/redis) all build key names here; README.md "Redis layout" documents the same table.
 *
 * Names are `<ns>:<table part>:<id>`. With hash tags on (Redis Cluster), the part of a name that
 * must share a slot is wrapped in `{}`:
 * - a window/day/ad key and its companion version key (written together by one Lua script) share
 *   the tag `{<ns>:<table part>:<id>}`, which is the key's whole default name;
 * - the shared singletons `latest`, `watermark`, `blacklist` and `alerts` share the tag `{<ns>}`,
 *   so a screen can read them, and the sink write them, in one pipeline or MULTI on one node.
 */

/** A namespace is also a Kafka topic prefix and a ClickHouse database name (the rule of RTDW_NAMESPACE). */
const NAMESPACE_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Hashes holding one window's (or one day's, or one ad's) figures: the "table part" of their key.
 * The 1 h kinds are keyed by the window's start (epoch ms, 5-minute grid), the daily ones by the
 * calendar day `YYYY-MM-DD` in RTDW_TIMEZONE, the trend by the ad id.
 */
export const HASH_KINDS = ['order_city_1h', 'order_top3_city_1h', 'ad_clicks_1h', 'ad_click_trend_1m', 'hot_ads_daily', 'daily_kpi'] as const;
export type HashKind = (typeof HASH_KINDS)[number];

export const HOUR_MS = 3_600_000;
export const SLIDE_MS = 300_000;
export const MINUTE_MS = 60_000;

/** The fields of `<ns>:daily_kpi:<day>`; gmv and paid_gmv are amounts, the others counts. */
export const DAILY_KPIS = ['pv', 'uv', 'ip', 'vv', 'dau', 'orders', 'gmv', 'paid_gmv'] as const;
export type DailyKpi = (typeof DAILY_KPIS)[number];
export const AMOUNT_KPIS: ReadonlySet<DailyKpi> = new Set(['gmv', 'paid_gmv']);

export interface RedisLayoutOptions {
  namespace: string;
  /** Wrap the slot-sharing part of each name in `{}` (RTDW_REDIS_HASH_TAGS, for Redis Cluster). */
  hashTags: boolean;
}

export interface RedisLayout {
  readonly namespace: string;
  readonly hashTags: boolean;
  /** hash `province|city` → `{"orders":N,"amount":"D.DD"}` of the 1 h window starting at windowStartMs */
  orderCity1h(windowStartMs: number): string;
  /** hash province → JSON array of `{"rank","city","orders","amount"}` (ranks 1..3) */
  orderTop3City1h(windowStartMs: number): string;
  /** hash ad_id → clicks of the 1 h window */
  adClicks1h(windowStartMs: number): string;
  /** hash minute_start_ms → clicks of one ad; fields are not trimmed, the TTL is renewed on each write */
  adClickTrend1m(adId: number): string;
  /** hash province → JSON array of `{"rank","ad_id","clicks"}` of that day */
  hotAdsDaily(day: string): string;
  /** hash pv uv ip vv dau orders gmv paid_gmv of that day */
  dailyKpi(day: string): string;
  /** The key of a hash kind and its id (window start ms, ad id, or day), as the functions above name it. */
  hash(kind: HashKind, id: string): string;
  /**
   * Companion of a figures hash, written by the same script: field `max` (newest version applied),
   * `replaced` (version of the last whole-window replace), `f:<field>` (version of the last write
   * of one field). Versions keep a replayed or older result from overwriting a newer one.
   */
  versions(kind: HashKind, id: string): string;
  /** hash table part (a HashKind) → window start ms, minute start ms, or day of its newest complete window */
  latest(): string;
  /** hash job → epoch ms up to which its outputs are complete */
  watermark(): string;
  /** set of blacklisted user ids */
  blacklist(): string;
  /** list of alerts (JSON), newest first, capped */
  alerts(): string;
}

export function assertNamespace(namespace: string): void {
  if (!NAMESPACE_PATTERN.test(namespace)) throw new RangeError(`namespace ${JSON.stringify(namespace)}: a letter, then letters, digits and _`);
}

export function redisLayout({ namespace, hashTags }: RedisLayoutOptions): RedisLayout {
  assertNamespace(namespace);
  const hash = (kind: HashKind, id: string): string => (hashTags ? `{${namespace}:${kind}:${id}}` : `${namespace}:${kind}:${id}`);
  const singleton = (name: string): string => (hashTags ? `{${namespace}}:${name}` : `${namespace}:${name}`);
  return {
    namespace,
    hashTags,
    orderCity1h: (windowStartMs) => hash('order_city_1h', epochMsId(windowStartMs)),
    orderTop3City1h: (windowStartMs) => hash('order_top3_city_1h', epochMsId(windowStartMs)),
    adClicks1h: (windowStartMs) => hash('ad_clicks_1h', epochMsId(windowStartMs)),
    adClickTrend1m: (adId) => hash('ad_click_trend_1m', adIdText(adId)),
    hotAdsDaily: (day) => hash('hot_ads_daily', dayId(day)),
    dailyKpi: (day) => hash('daily_kpi', dayId(day)),
    hash,
    // Tagged: the tag is the data key's own name, so both land in its slot.
    versions: (kind, id) => `${namespace}:version:${hashTags ? `{${namespace}:${kind}:${id}}` : `${kind}:${id}`}`,
    latest: () => singleton('latest'),
    watermark: () => singleton('watermark'),
    blacklist: () => singleton('blacklist'),
    alerts: () => singleton('alerts'),
  };
}

/** The id part of a window's key: its start, epoch ms. */
export function epochMsId(windowStartMs: number): string {
  if (!Number.isSafeInteger(windowStartMs) || windowStartMs < 0) throw new RangeError(`window start must be epoch ms, got ${windowStartMs}`);
  return String(windowStartMs);
}

/** The id part of an ad's trend key. */
export function adIdText(adId: number): string {
  if (!Number.isSafeInteger(adId) || adId < 0) throw new RangeError(`ad_id must be a non-negative integer, got ${adId}`);
  return String(adId);
}

const DAY_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day `YYYY-MM-DD` that exists (no 2024-02-30). */
export function dayId(day: string): string {
  const m = DAY_TEXT.exec(day);
  if (m === null || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) throw new RangeError(`day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
  return day;
}

/** The field of `order_city_1h`: province and city joined by a vertical bar (`山东省|青岛市`). */
export function orderCityField(province: string, city: string): string {
  return `${province}|${city}`;
}

/** Amounts are decimal strings with exactly two places; counts integers. */
export function orderCityValue(orders: number, amount: string): string {
  return `{"orders":${orders},"amount":${JSON.stringify(amount)}}`;
}

export interface CityRank {
  rank: number;
  city: string;
  orders: number;
  amount: string;
}

/** The value of `order_top3_city_1h` for one province: its ranking, rank 1 first. */
export function top3CityValue(ranking: readonly CityRank[]): string {
  return `[${ranking.map((r) => `{"rank":${r.rank},"city":${JSON.stringify(r.city)},"orders":${r.orders},"amount":${JSON.stringify(r.amount)}}`).join(',')}]`;
}

export interface AdRank {
  rank: number;
  ad_id: number;
  clicks: number;
}

/** The value of `hot_ads_daily` for one province: its ranking, rank 1 first. */
export function hotAdsValue(ranking: readonly AdRank[]): string {
  return `[${ranking.map((r) => `{"rank":${r.rank},"ad_id":${r.ad_id},"clicks":${r.clicks}}`).join(',')}]`;
}

export interface Alert {
  /** epoch ms */
  time: number;
  /** order_brushing | payment_failure | click_bot (issue 13) */
  kind: string;
  subject: string;
  value: number;
  threshold: number;
  detail: string;
}

/** An element of `<ns>:alerts`: its fields always in this order, so a replayed alert is the same string. */
export function alertElement(a: Alert): string {
  return JSON.stringify({ time: a.time, kind: a.kind, subject: a.subject, value: a.value, threshold: a.threshold, detail: a.detail });
}

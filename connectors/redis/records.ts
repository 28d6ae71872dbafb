/**
 * The records the Redis sink consumes: one JSON object per Kafka message, as the ADS jobs produce
 * them (README "Redis layout" documents the format). A record names the key kind, the window (or
 * day, or ad) and what to do with its hash:
 *
 *   {"kind":"order_city_1h","window_start":1717200000000,"window_end":1717203600000,
 *    "op":"replace","entries":[{"province":"山东省","city":"青岛市","orders":3,"amount":"120.50"}]}
 *
 * - `replace`: `entries` are the window's figures, all of them: the hash becomes exactly these
 *   (fields not listed are removed; no entries: the key is deleted).
 * - `upsert`: `entries` set those fields, others stay (a keyed window result, one TopN group's
 *   ranking, a trend minute, some of a day's KPIs).
 * - `remove`: `entries` hold only the identity of the fields to delete (a retracted result).
 * - `complete` (default true): the window is complete, so `<ns>:latest` may move to it; false for
 *   early results of a window still open (today's KPIs before midnight).
 *
 * Plus `{"kind":"blacklist","user_id":N}`, `{"kind":"watermark","job":"…","watermark":ms}` and
 * `{"kind":"alert","alert":{time,kind,subject,value,threshold,detail}}`.
 *
 * The version of a record is its Kafka offset: producers key every record by its Redis key
 * (`<kind>:<id>`, e.g. `order_city_1h:1717200000000`), so all versions of one key are in one
 * partition, in the order they were produced.
 */
import { z } from 'zod';
import { AMOUNT_KPIS, DAILY_KPIS, HOUR_MS, MINUTE_MS, SLIDE_MS, dayId } from '../../schemas/redis-keys.js';

const count = z.int().nonnegative();
const epochMs = z.int().nonnegative();
/** Exact decimal text; numbers are refused because a float may already have lost a cent. */
const amount = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string such as "12.50"');
const areaName = z
  .string()
  .min(1)
  .refine((s) => !s.includes('|'), 'must not contain "|" (it separates province and city in field names)');
const id = z.int().positive();
const day = z.string().refine((d) => {
  try {
    return dayId(d) === d;
  } catch {
    return false;
  }
}, 'a calendar day YYYY-MM-DD');

const cityRank = z.strictObject({ rank: z.int().min(1).max(3), city: areaName, orders: count, amount });
const adRank = z.strictObject({ rank: z.int().min(1).max(3), ad_id: id, clicks: count });
/** Ranks 1..n in order, without gaps (issue 11: ranks run 1..3 without gaps). */
const ranking = <T extends z.ZodType<{ rank: number }>>(entry: T) =>
  z
    .array(entry)
    .min(1, 'a ranking has 1 to 3 entries; remove the field when a group has none')
    .max(3)
    .refine((rs) => rs.every((r, i) => r.rank === i + 1), 'ranks must be 1..n in order');

/** Per kind: the entry of replace/upsert, and the identity (the parts that name the field) of remove. */
const entries = {
  order_city_1h: {
    entry: z.strictObject({ province: areaName, city: areaName, orders: count, amount }),
    identity: z.strictObject({ province: areaName, city: areaName }),
  },
  order_top3_city_1h: {
    entry: z.strictObject({ province: areaName, ranking: ranking(cityRank) }),
    identity: z.strictObject({ province: areaName }),
  },
  ad_clicks_1h: {
    entry: z.strictObject({ ad_id: id, clicks: count }),
    identity: z.strictObject({ ad_id: id }),
  },
  ad_click_trend_1m: {
    entry: z.strictObject({ minute_start: epochMs.refine((m) => m % MINUTE_MS === 0, 'minute_start must be a whole minute'), clicks: count }),
    identity: z.strictObject({ minute_start: epochMs }),
  },
  hot_ads_daily: {
    entry: z.strictObject({ province: areaName, ranking: ranking(adRank) }),
    identity: z.strictObject({ province: areaName }),
  },
  daily_kpi: {
    entry: z
      .strictObject({ kpi: z.enum(DAILY_KPIS), value: z.union([count, amount]) })
      .refine((e) => AMOUNT_KPIS.has(e.kpi) === (typeof e.value === 'string'), 'gmv and paid_gmv are decimal strings, the other KPIs integers'),
    identity: z.strictObject({ kpi: z.enum(DAILY_KPIS) }),
  },
} as const;

type Entries = typeof entries;

/** The three ops on one kind's hash, with the scope (window, day or ad) that names the key. */
function hashRecord<K extends keyof Entries, S extends z.ZodRawShape, E extends z.ZodType, I extends z.ZodType>(kind: K, scope: S, { entry, identity }: { entry: E; identity: I }) {
  const base = { kind: z.literal(kind), ...scope, complete: z.boolean().default(true) };
  return z.discriminatedUnion('op', [
    z.strictObject({ ...base, op: z.literal('replace'), entries: z.array(entry) }),
    z.strictObject({ ...base, op: z.literal('upsert'), entries: z.array(entry).min(1) }),
    z.strictObject({ ...base, op: z.literal('remove'), entries: z.array(identity).min(1) }),
  ]);
}

const hourWindow = {
  window_start: epochMs.refine((s) => s % SLIDE_MS === 0, 'window_start must be aligned to the 5-minute slide'),
  window_end: epochMs,
};
const dayScope = { day };
const adScope = { ad_id: id };

/** One schema per kind, so an error names that kind's problems only. */
const schemas = {
  order_city_1h: hashRecord('order_city_1h', hourWindow, entries.order_city_1h),
  order_top3_city_1h: hashRecord('order_top3_city_1h', hourWindow, entries.order_top3_city_1h),
  ad_clicks_1h: hashRecord('ad_clicks_1h', hourWindow, entries.ad_clicks_1h),
  ad_click_trend_1m: hashRecord('ad_click_trend_1m', adScope, entries.ad_click_trend_1m),
  hot_ads_daily: hashRecord('hot_ads_daily', dayScope, entries.hot_ads_daily),
  daily_kpi: hashRecord('daily_kpi', dayScope, entries.daily_kpi),
  blacklist: z.strictObject({ kind: z.literal('blacklist'), user_id: id }),
  watermark: z.strictObject({ kind: z.literal('watermark'), job: z.string().min(1), watermark: z.int() }),
  alert: z.strictObject({
    kind: z.literal('alert'),
    alert: z.strictObject({ time: epochMs, kind: z.string().min(1), subject: z.string(), value: z.number(), threshold: z.number(), detail: z.string() }),
  }),
} as const;

export type ScreenRecord = z.output<(typeof schemas)[keyof typeof schemas]>;
export type HashRecord = Extract<ScreenRecord, { op: string }>;

/** A record that cannot be written; its message is the dead letter's reason. */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

const isKind = (kind: unknown): kind is keyof typeof schemas => typeof kind === 'string' && Object.hasOwn(schemas, kind);

/** Validates a decoded JSON value as a record; throws a RecordError naming what is wrong. */
export function parseScreenRecord(value: unknown): ScreenRecord {
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (!isKind(kind)) throw new RecordError(`unknown record kind ${JSON.stringify(kind)}`);
  const parsed = schemas[kind].safeParse(value);
  if (!parsed.success) throw new RecordError(`${kind} record: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  const record: ScreenRecord = parsed.data;
  if ('window_end' in record && record.window_end !== record.window_start + HOUR_MS) throw new RecordError(`${kind} record: window_end must be window_start + 1 h`);
  if (record.kind === 'daily_kpi' && record.op === 'replace' && record.entries.length > 0) {
    const present = new Set(record.entries.map((e) => e.kpi));
    const missing = DAILY_KPIS.filter((k) => !present.has(k));
    if (missing.length > 0) throw new RecordError(`daily_kpi replace: a day's KPIs are all present or none; missing ${missing.join(', ')}`);
  }
  return record;
}

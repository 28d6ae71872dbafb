/**
 * Options of the traffic generator, validated like schemas/config.ts: every bad value is named in
 * one ConfigError. The model's options are everything its output depends on; `speed` only
 * concerns the writers.
 */
import { z } from 'zod';
import { ConfigError, type RtdwConfig } from '../../schemas/config.js';
import { PEAK_LOAD, rowsPerOrder, SESSION, sessionMix } from './traffic-shape.js';
import { assertTimeZone } from './zoned-time.js';

const DAY_MS = 86_400_000;

/** The pipeline settings the generator shares with the jobs (RTDW_NAMESPACE, RTDW_TIMEZONE, RTDW_BLACKLIST_CLICKS). */
export interface PipelineSettings {
  namespace: string;
  timezone: string;
  blacklistClicks: number;
}

export function pipelineSettings(config: Pick<RtdwConfig, 'pipeline'>): PipelineSettings {
  return { namespace: config.pipeline.namespace, timezone: config.pipeline.timezone, blacklistClicks: config.pipeline.blacklistClicks };
}

const timeZone = z.string().min(1).refine((zone) => {
  try {
    assertTimeZone(zone);
    return true;
  } catch {
    return false;
  }
}, 'expected an IANA time zone such as Asia/Shanghai or UTC');

const share = (max = 1) => z.coerce.number().min(0).max(max);
const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const perHour = z.coerce.number().min(0).max(3600);

/** An instant: epoch ms, or ISO 8601 text with a zone (an instant must not depend on where it is read). */
const instant = z.union([z.number().int().min(0), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))], {
  error: 'expected an ISO 8601 time with a zone, e.g. 2025-06-01T08:00:00+08:00 or 2025-06-01T00:00:00Z (or epoch ms)',
});

export const generatorOptionsSchema = z
  .object({
    seed: count(0, 0xffff_ffff).default(1),
    /** event time of the first action */
    start: instant,
    /** source rows + event deliveries per second at the day's mean load */
    rate: z.coerce.number().positive().max(2_000_000),
    /** event-time minutes to generate; unbounded without */
    minutes: z.coerce.number().positive().max(366 * 24 * 60).optional(),
    timezone: timeZone.default('UTC'),
    blacklistClicks: count(1, 1_000_000).default(100),
    /** ids of rows created during the run are idBase + 1, idBase + 2, … per table */
    idBase: count(0, 2 ** 52).default(0),
    /**
     * the initial user pool; by default enough that normal users stay far below the blacklist
     * threshold and order about once an hour (2,000 to 1,000,000)
     */
    users: count(100, 5_000_000).optional(),
    products: count(20, 1_000_000).default(1000),
    ads: count(1, 1_000_000).default(200),
    /** share of source rows in the actions (the rest are event deliveries); at least what sessions convert */
    rowShare: share(0.99).default(0.3),
    /** 0: flat load, 1: the full day-and-night curve */
    diurnal: share().default(0.5),
    anonymousShare: share().default(0.15),
    outOfOrderShare: share(0.5).default(0.03),
    lateShare: share(0.2).default(0.003),
    duplicateShare: share(0.5).default(0.01),
    /** failures per payment attempt outside bursts */
    paymentFailureRate: share(0.5).default(0.05),
    botsPerHour: perHour.default(6),
    brushersPerHour: perHour.default(4),
    failureBurstsPerHour: perHour.default(3),
    /** abuse starts this many minutes into the run: a clean stretch for the alerts' learned thresholds to calibrate on */
    abuseAfterMinutes: z.coerce.number().min(0).max(366 * 24 * 60).default(0),
  })
  .strict();

export type GeneratorOptionsInput = z.input<typeof generatorOptionsSchema>;

export interface GeneratorOptions extends Omit<z.output<typeof generatorOptionsSchema>, 'users'> {
  users: number;
  /** exclusive end of the run in event time, epoch ms (Infinity when unbounded) */
  end: number;
}

/** Share of clicks on the most shown ad (Zipf, s = 1, over `ads` ads). */
function topAdShare(ads: number): number {
  let h = 0;
  for (let k = 1; k <= ads; k++) h += 1 / k;
  return 1 / h;
}

/**
 * Clicks of one regular user (four times as active as others, 2.5× the mean) on the most shown ad
 * in one day (or the whole run when shorter), on average, with `users` users; an upper bound: the
 * top ad is taken to have the highest click-through multiplier, and the load its peak.
 */
export function regularUserTopAdClicks(o: Pick<GeneratorOptions, 'rate' | 'rowShare' | 'anonymousShare' | 'duplicateShare' | 'ads' | 'minutes' | 'diurnal'>, users: number): number {
  const mix = sessionMix(o.anonymousShare, o.duplicateShare, 1);
  const sessionsPerMs = ((o.rate * (1 - o.rowShare)) / mix.deliveries / 1000) * (1 + o.diurnal * (PEAK_LOAD - 1));
  const horizonMs = Math.min(DAY_MS, (o.minutes ?? Infinity) * 60_000);
  const topAdClicks = sessionsPerMs * horizonMs * mix.impressions * topAdShare(o.ads) * SESSION.baseCtr * SESSION.maxCtrFactor;
  return (topAdClicks * 2.5) / users;
}

/**
 * Users for a regular to place about one order an hour (or over the run when shorter), as in a
 * real shop, so that brushing stands out against normal buying.
 */
function usersForOrders(o: Pick<GeneratorOptions, 'rate' | 'rowShare' | 'paymentFailureRate' | 'minutes'>): number {
  const ordersPerSecond = (o.rate * o.rowShare) / rowsPerOrder(o.paymentFailureRate);
  return Math.ceil(ordersPerSecond * Math.min(3600, (o.minutes ?? Infinity) * 60) * 2.5);
}

const MIN_USERS = 2_000;
const MAX_DEFAULT_USERS = 1_000_000;
/** normal users stay below threshold / SAFETY clicks on one ad in a day, on average */
const SAFETY = 5;

/** Validates and completes the options; throws a ConfigError naming every bad one. */
export function resolveOptions(input: GeneratorOptionsInput): GeneratorOptions {
  const parsed = generatorOptionsSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`));
  const o = parsed.data;
  const problems: string[] = [];
  if (o.outOfOrderShare + o.lateShare > 1) problems.push('outOfOrderShare + lateShare: must not exceed 1');
  const limit = o.blacklistClicks / SAFETY;
  const needed = Math.ceil(regularUserTopAdClicks(o, 1) / limit);
  const users = o.users ?? Math.min(MAX_DEFAULT_USERS, Math.max(MIN_USERS, needed, usersForOrders(o)));
  if (users < needed) {
    problems.push(
      `users: with ${users} users a normal user would click the top ad ~${regularUserTopAdClicks(o, users).toFixed(0)} times a day, too close to the blacklist threshold ${o.blacklistClicks}; ` +
        `use at least ${needed} users, a lower rate or fewer minutes`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...o, users, end: o.minutes === undefined ? Infinity : o.start + Math.round(o.minutes * 60_000) };
}

/**
 * The click blacklist computed from the event log's deliveries, written from the contract (issue 10)
 * without the pipeline's code:
 *
 * - Watermark per partition of the event log, at a delivery: the largest ts delivered before it in
 *   that partition, minus the out-of-orderness, minus 1 (Flink's BoundedOutOfOrdernessWatermarks).
 * - A delivery is late when ts + allowed lateness <= that watermark (Flink's isElementLate).
 * - An event counts once (by event_id) when any of its deliveries is on time.
 * - Clicks of a user on an ad within a calendar day of the zone, numbered in (ts, event_id) order:
 *   the (threshold + 1)th is where the user is blacklisted, at its ts.
 */
import type { AdEvent } from '../../schemas/events.js';

export interface Delivery {
  partition: number;
  offset: bigint;
  event: AdEvent;
}

export interface ModelSettings {
  outOfOrdernessMs: number;
  allowedLatenessMs: number;
  threshold: number;
  /** the zone's offset from UTC, ms, for calendar days (a zone without DST, e.g. Asia/Shanghai) */
  zoneOffsetMs: number;
}

export interface BlacklistRow {
  user_id: number;
  ad_id: number;
  /** YYYY-MM-DD in the zone */
  day: string;
  /** epoch ms */
  blacklisted_at: number;
  /** the click that exceeded the threshold */
  crossing_event_id: string;
}

export interface EventModel {
  /** every event_id once, with the event, when one of its deliveries was on time */
  events: Map<string, AdEvent>;
  /** event_ids of late deliveries (an event may be both: an on-time delivery and a late copy) */
  lateDeliveries: Set<string>;
  /** event_ids with no on-time delivery */
  lateEvents: Set<string>;
  duplicates: number;
  blacklist: BlacklistRow[];
}

const MIN = Number.MIN_SAFE_INTEGER;

export function zonedDay(ts: number, zoneOffsetMs: number): string {
  return new Date(ts + zoneOffsetMs).toISOString().slice(0, 10);
}

/** Counted clicks: those before (ts, event_id) the first click at which their user was blacklisted, on any ad. */
export function countedClicks(model: EventModel): AdEvent[] {
  const before = (a: { ts: number; id: string }, b: { ts: number; id: string }): boolean => a.ts < b.ts || (a.ts === b.ts && a.id < b.id);
  const firstCrossing = new Map<number, { ts: number; id: string }>();
  for (const b of model.blacklist) {
    const c = { ts: b.blacklisted_at, id: b.crossing_event_id };
    const seen = firstCrossing.get(b.user_id);
    if (seen === undefined || before(c, seen)) firstCrossing.set(b.user_id, c);
  }
  return [...model.events.values()].filter((e) => {
    if (e.type !== 'ad_click') return false;
    const crossing = e.user_id === null ? undefined : firstCrossing.get(e.user_id);
    return crossing === undefined || before({ ts: e.ts, id: e.event_id }, crossing);
  });
}

export function eventModel(deliveries: readonly Delivery[], s: ModelSettings): EventModel {
  const ordered = [...deliveries].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const maxTs = new Map<number, number>();
  const events = new Map<string, AdEvent>();
  const lateDeliveries = new Set<string>();
  const seen = new Set<string>();
  let duplicates = 0;
  for (const { partition, event } of ordered) {
    const max = maxTs.get(partition) ?? MIN;
    const watermark = max === MIN ? MIN : max - s.outOfOrdernessMs - 1;
    if (event.ts > max) maxTs.set(partition, event.ts);
    if (seen.has(event.event_id)) duplicates += 1;
    seen.add(event.event_id);
    if (event.ts + s.allowedLatenessMs <= watermark) {
      lateDeliveries.add(event.event_id);
      continue;
    }
    if (!events.has(event.event_id)) events.set(event.event_id, event);
  }
  const lateEvents = new Set([...lateDeliveries].filter((id) => !events.has(id)));

  const clicks = new Map<string, AdEvent[]>();
  for (const e of events.values()) {
    if (e.type !== 'ad_click' || e.user_id === null || e.ad_id === undefined) continue;
    const key = `${e.user_id}|${e.ad_id}|${zonedDay(e.ts, s.zoneOffsetMs)}`;
    const list = clicks.get(key);
    if (list === undefined) clicks.set(key, [e]);
    else list.push(e);
  }
  const blacklist: BlacklistRow[] = [];
  for (const [key, list] of clicks) {
    if (list.length <= s.threshold) continue;
    list.sort((a, b) => a.ts - b.ts || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
    const crossing = list[s.threshold] as AdEvent;
    const [user, ad, day] = key.split('|') as [string, string, string];
    blacklist.push({ user_id: Number(user), ad_id: Number(ad), day, blacklisted_at: crossing.ts, crossing_event_id: crossing.event_id });
  }
  return { events, lateDeliveries, lateEvents, duplicates, blacklist };
}

/**
 * What the generator injected, as the alerts must see it: from its abuse markers and the rows and events
 * it wrote, never from the stages. A brushing user's span runs from the marker to their last small order;
 * a burst is the marker's [from, to); a bot is blacklisted at its click N + 1 on the ad (in (ts, event_id)
 * order, each event once, late deliveries not counted, as dwd_ad_event decides when the input partitions
 * are read in model time; `earliest` counts the late ones too, as a run may whose partitions are read
 * unevenly, so that the combined watermark has not passed an event late within its own partition).
 */
import { TimeZone } from '../../jobs/runtime/core/index.js';
import type { GeneratorTraffic } from './generator-inputs.js';

const UTC = TimeZone.of('UTC');

export interface AlertRow {
  alert_id: string;
  time: string;
  kind: string;
  subject: string;
  value: number;
  threshold: number;
  detail: string;
}

export interface Span {
  readonly from: number;
  readonly to: number;
}

export function injected(traffic: GeneratorTraffic, blacklistClicks: number) {
  const brushers = traffic.abuse.flatMap(({ at, abuse }) => {
    if (abuse.type !== 'order_brushing') return [];
    const created = [...traffic.rows.orders.values()].filter((o) => Number(o.user_id) === abuse.user_id && Number(o.amount) < 20 && UTC.parse(o.created_at as string) >= at).map((o) => UTC.parse(o.created_at as string));
    return [{ user: String(abuse.user_id), from: at, to: Math.max(...created) + 1, orders: created.length, planned: abuse.orders }];
  });
  const bursts = traffic.abuse.flatMap(({ abuse }) => (abuse.type === 'payment_failure_burst' ? [{ from: abuse.from, to: abuse.to }] : []));
  const bots = traffic.abuse.flatMap(({ at, abuse }) => {
    if (abuse.type !== 'click_bot') return [];
    const pastLimit = (withLate: boolean): number | undefined => {
      const clicks = new Map<string, number>();
      for (const i of traffic.inputs) {
        if (i.source !== 'events' || (i.late === true && !withLate)) continue;
        const e = JSON.parse(i.value) as { event_id: string; type: string; user_id: number | null; ad_id?: number; ts: number };
        if (e.type === 'ad_click' && e.user_id === abuse.user_id && e.ad_id === abuse.ad_id && e.ts >= at) clicks.set(e.event_id, e.ts);
      }
      return [...clicks].sort(([ia, a], [ib, b]) => a - b || (ia < ib ? -1 : 1))[blacklistClicks]?.[1];
    };
    const blacklistedAt = pastLimit(false);
    return blacklistedAt === undefined ? [] : [{ user: String(abuse.user_id), at, blacklistedAt, earliest: pastLimit(true) as number }];
  });
  return { brushers, bursts, bots };
}

export function windowOf(a: AlertRow): { start: number; end: number } {
  const d = JSON.parse(a.detail) as { window_start: string; window_end: string };
  return { start: UTC.parse(d.window_start), end: UTC.parse(d.window_end) };
}

export const overlaps = (w: { start: number; end: number }, span: Span): boolean => w.start < span.to && w.end > span.from;

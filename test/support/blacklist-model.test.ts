/** The end-to-end test's own blacklist model, on hand-made deliveries whose answer is worked out here. */
import { describe, expect, it } from 'vitest';
import type { AdEvent } from '../../schemas/events.js';
import { countedClicks, eventModel, zonedDay, type Delivery } from './blacklist-model.js';

const SHANGHAI = 8 * 3_600_000;
const settings = { outOfOrdernessMs: 5000, allowedLatenessMs: 60_000, threshold: 2, zoneOffsetMs: SHANGHAI };
/** 2025-06-01 15:59:50 UTC = 23:59:50 in Shanghai */
const T = Date.UTC(2025, 5, 1, 15, 59, 50);

let offset = 0n;
function delivery(partition: number, id: string, ts: number, extra: Partial<AdEvent> = {}): Delivery {
  offset += 1n;
  return { partition, offset, event: { event_id: id, type: 'ad_click', ts, user_id: 7, ad_id: 3, device_id: 'd', session_id: 's', ip: '1.2.3.4', area_id: 1, channel: 'c', ...extra } };
}

describe('the e2e blacklist model', () => {
  it('calendar days are the zone\'s', () => {
    expect(zonedDay(T, SHANGHAI)).toBe('2025-06-01');
    expect(zonedDay(T + 10_000, SHANGHAI)).toBe('2025-06-02');
  });

  it('blacklists at the (threshold + 1)th click of a user, ad and day, in (ts, event_id) order', () => {
    const model = eventModel(
      [
        delivery(0, 'b', T + 1000),
        delivery(0, 'a', T + 1000),
        delivery(1, 'c', T + 2000),
        delivery(1, 'z', T + 3000),
        // the next day in Shanghai: a day of its own
        delivery(0, 'n1', T + 11_000),
        delivery(0, 'n2', T + 12_000),
        // another ad, and page views, do not count
        delivery(1, 'o', T + 4000, { ad_id: 4 }),
        delivery(1, 'pv', T + 4000, { type: 'page_view', ad_id: undefined }),
      ],
      settings,
    );
    expect(model.blacklist).toEqual([{ user_id: 7, ad_id: 3, day: '2025-06-01', blacklisted_at: T + 2000, crossing_event_id: 'c' }]);
    // Counted: the clicks before the crossing one ('a', 'b'); from it on, none of the user's, on any ad, any day.
    expect(countedClicks(model).map((e) => e.event_id).sort()).toEqual(['a', 'b']);
  });

  it('counts the clicks before the user\'s first crossing click: ties on ts by event_id, users never blacklisted all', () => {
    const model = eventModel(
      [
        delivery(0, 'k1', T + 1000),
        delivery(0, 'k2', T + 2000),
        delivery(0, 'k3', T + 3000),
        // same ts as the crossing click, on another ad: before it by event_id ('k2x' < 'k3'), counted
        delivery(0, 'k2x', T + 3000, { ad_id: 9 }),
        // same ts, after it by event_id: not counted
        delivery(0, 'k4', T + 3000, { ad_id: 9 }),
        delivery(1, 'u8', T + 9000, { user_id: 8 }),
        delivery(1, 'anon', T + 9000, { user_id: null }),
      ],
      settings,
    );
    expect(model.blacklist.map((b) => b.crossing_event_id)).toEqual(['k3']);
    expect(countedClicks(model).map((e) => e.event_id).sort()).toEqual(['anon', 'k1', 'k2', 'k2x', 'u8']);
  });

  it('drops deliveries late against their partition\'s watermark (ts + lateness <= max before − bound − 1), and counts an event once', () => {
    const watermark = T + 100_000 - 5000 - 1;
    const model = eventModel(
      [
        delivery(0, 'first', T + 100_000),
        // exactly at the lateness bound: late
        delivery(0, 'late', watermark - 60_000),
        // one ms later: on time
        delivery(0, 'ontime', watermark - 60_000 + 1),
        // the same ts in another partition, whose watermark is far behind: on time
        delivery(1, 'other', watermark - 60_000),
        // a copy of an on-time event, late: the event still counts once
        delivery(0, 'other', watermark - 60_000),
        delivery(1, 'first', T + 100_000),
      ],
      settings,
    );
    expect([...model.lateEvents]).toEqual(['late']);
    expect([...model.lateDeliveries].sort()).toEqual(['late', 'other']);
    expect([...model.events.keys()].sort()).toEqual(['first', 'ontime', 'other']);
    expect(model.duplicates).toBe(2);
    expect(model.blacklist).toEqual([{ user_id: 7, ad_id: 3, day: '2025-06-02', blacklisted_at: T + 100_000, crossing_event_id: 'first' }]);
  });
});

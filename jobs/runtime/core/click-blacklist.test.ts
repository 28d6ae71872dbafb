import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClickBlacklist, type ClickBlacklistOptions, type ClickBlacklistOutput, type ClickBlacklistSnapshot, type TrackedEvent } from './click-blacklist.js';
import { TimeZone } from './time-zone.js';

type Event = TrackedEvent<{ user: string }>;
type Output = ClickBlacklistOutput<{ user: string }, string>;

const HOUR = 3_600_000;

// ---- the model: SQL over the deduplicated events, with calendar days from Intl directly ----

function localDay(zone: string, time: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(time);
}

const order = (a: Event, b: Event): number => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Per user: clicks by (ts, event_id); per (ad, day) the (threshold + 1)-th click crosses; the user's
 * first crossing (in that order) is where clicks stop counting.
 */
function model(events: readonly Event[], threshold: number, zone: string): { counted: Map<string, boolean>; blacklist: Map<string, number> } {
  const counted = new Map<string, boolean>();
  const blacklist = new Map<string, number>();
  const users = new Set(events.map((e) => e.payload.user));
  for (const user of users) {
    const clicks = events.filter((e) => e.payload.user === user && e.clickOn !== null).sort(order);
    const perGroup = new Map<string, Event[]>();
    for (const c of clicks) {
      const g = `${user}|${c.clickOn}|${localDay(zone, c.time)}`;
      perGroup.set(g, [...(perGroup.get(g) ?? []), c]);
    }
    let since: Event | undefined;
    for (const [g, list] of perGroup) {
      const crossing = list[threshold];
      if (crossing === undefined) continue;
      blacklist.set(g, crossing.time);
      if (since === undefined || order(crossing, since) < 0) since = crossing;
    }
    for (const c of clicks) counted.set(c.id, since === undefined || order(c, since) < 0);
  }
  for (const e of events) if (e.clickOn === null) counted.set(e.id, true);
  return { counted, blacklist };
}

/** The latest row per event id and per (user, ad, day), by version. */
function fold(outputs: readonly Output[]): { events: Map<string, { counted: boolean; dimension: string; version: number }>; blacklist: Map<string, { since: number; version: number }> } {
  const events = new Map<string, { counted: boolean; dimension: string; version: number }>();
  const blacklist = new Map<string, { since: number; version: number }>();
  for (const o of outputs) {
    if (o.kind === 'event') {
      const seen = events.get(o.event.id);
      if (seen === undefined || o.version > seen.version) events.set(o.event.id, { counted: o.counted, dimension: o.dimension, version: o.version });
    } else if (o.kind === 'blacklisted') {
      const g = `${o.key}|${o.adId}|${o.day}`;
      const seen = blacklist.get(g);
      if (seen === undefined || o.version > seen.version) blacklist.set(g, { since: o.since, version: o.version });
    }
  }
  return { events, blacklist };
}

const options = (zone: string, threshold: number, allowedLateness: number): ClickBlacklistOptions => ({ timeZone: TimeZone.of(zone), threshold, allowedLateness });

// around a local midnight and, in New York, across the spring DST gap (2026-03-08 has 23 hours)
const BASES: Record<string, number> = { 'Asia/Shanghai': Date.UTC(2026, 0, 1) - 8 * HOUR, 'America/New_York': Date.UTC(2026, 2, 8, 5) };

const eventArb = (base: number): fc.Arbitrary<Event> =>
  fc
    .record({
      n: fc.integer({ min: 0, max: 9999 }),
      user: fc.constantFrom('u1', 'u2', 'u3'),
      click: fc.constantFrom<string | null>('ad1', 'ad1', 'ad2', null),
      // 20-minute slots around a local midnight and around the next one (23 h later in New York), with the ms either side
      slot: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -6, max: 12 }) }, { weight: 1, arbitrary: fc.integer({ min: 62, max: 75 }) }),
      jitter: fc.constantFrom(-1, 0, 0, 1),
      // a3 arrives mid-stream, a4 never
      area: fc.constantFrom('a1', 'a1', 'a2', 'a3', 'a4'),
    })
    .map(({ n, user, click, slot, jitter, area }) => ({ id: `e${n}`, time: base + slot * 20 * 60_000 + jitter, dimensionId: area, clickOn: click, payload: { user } }));

const scenarioArb = fc
  .record({ zone: fc.constantFrom('Asia/Shanghai', 'America/New_York'), threshold: fc.integer({ min: 0, max: 3 }), lateness: fc.constantFrom(0, 40 * 60_000, 3 * HOUR, 30 * HOUR) })
  .chain(({ zone, threshold, lateness }) =>
    fc.record({
      zone: fc.constant(zone),
      threshold: fc.constant(threshold),
      lateness: fc.constant(lateness),
      events: fc.uniqueArray(eventArb(BASES[zone] as number), { selector: (e) => e.id, minLength: 1, maxLength: 70 }),
      duplicates: fc.array(fc.nat(), { maxLength: 10 }),
      order: fc.array(fc.nat(), { minLength: 1, maxLength: 100 }),
      steps: fc.array(fc.constantFrom(0, 0.3, 0.8, 1), { minLength: 1, maxLength: 100 }),
      cut: fc.nat(),
      lateArea: fc.nat(),
    }),
  );

type Step = { readonly kind: 'event'; readonly event: Event } | { readonly kind: 'watermark'; readonly watermark: number } | { readonly kind: 'dimension'; readonly id: string; readonly row: string };

/**
 * An arrival order of the events (duplicates included) with watermarks in between that keep every event
 * on time: a watermark never passes the earliest event still to come by the allowed lateness or more.
 */
function arrivals(events: readonly Event[], duplicates: readonly number[], order: readonly number[], steps: readonly number[], lateness: number, lateArea: number): Step[] {
  const rest = [...events, ...duplicates.map((d) => events[d % events.length] as Event)];
  const out: Step[] = [];
  let watermark = Number.MIN_SAFE_INTEGER;
  let i = 0;
  while (rest.length > 0) {
    const [event] = rest.splice((order[i % order.length] as number) % rest.length, 1) as [Event];
    out.push({ kind: 'event', event });
    if (rest.length === 0) break;
    const limit = Math.min(...rest.map((e) => e.time)) + lateness - 1;
    const floor = Math.max(watermark, Math.min(...events.map((e) => e.time)) - 1);
    if (limit > watermark) {
      watermark = Math.max(watermark, Math.floor(floor + (limit - floor) * (steps[i % steps.length] as number)));
      out.push({ kind: 'watermark', watermark });
    }
    i++;
  }
  out.splice(lateArea % (out.length + 1), 0, { kind: 'dimension', id: 'a3', row: 'Suzhou' });
  out.push({ kind: 'watermark', watermark: Math.max(...events.map((e) => e.time)) + lateness + 10 * 24 * HOUR });
  return out;
}

function run(op: ClickBlacklist<{ user: string }, string>, step: Step): Output[] {
  if (step.kind === 'dimension') return [...op.changeDimension(step.id, step.row)];
  return [...(step.kind === 'event' ? op.process(step.event.payload.user, step.event) : op.advanceWatermark(step.watermark))];
}

function withAreas(op: ClickBlacklist<{ user: string }, string>): ClickBlacklist<{ user: string }, string> {
  op.changeDimension('a1', 'Hangzhou');
  op.changeDimension('a2', 'Ningbo');
  return op;
}

describe('ClickBlacklist', () => {
  it('whatever the arrival order of on-time events, the latest rows equal the model over the deduplicated events', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(scenarioArb, ({ zone, threshold, lateness, events, duplicates, order: picks, steps, lateArea }) => {
        const op = withAreas(new ClickBlacklist<{ user: string }, string>(options(zone, threshold, lateness)));
        const outputs = arrivals(events, duplicates, picks, steps, lateness, lateArea).flatMap((step) => run(op, step));
        expect(outputs.filter((o) => o.kind === 'late')).toEqual([]);
        expect(op.duplicateCount).toBe(duplicates.length);
        const expected = model(events, threshold, zone);
        const got = fold(outputs);
        // an event is emitted or unresolved, once: unresolved only when its dimension row came too late or never
        const unresolved = outputs.flatMap((o) => (o.kind === 'unresolved' ? [o.event] : []));
        expect(new Set(unresolved.map((e) => e.id)).size).toBe(unresolved.length);
        for (const e of unresolved) expect(['a3', 'a4']).toContain(e.dimensionId);
        expect(unresolved.length + got.events.size).toBe(events.length);
        for (const [id, row] of got.events) expect(row.counted).toBe(expected.counted.get(id));
        const names: Record<string, string> = { a1: 'Hangzhou', a2: 'Ningbo', a3: 'Suzhou' };
        for (const e of events) if (got.events.has(e.id)) expect(got.events.get(e.id)?.dimension).toBe(names[e.dimensionId]);
        expect(events.filter((e) => e.dimensionId === 'a4').every((e) => unresolved.includes(e))).toBe(true);
        expect(new Map([...got.blacklist].map(([g, r]) => [g, r.since]))).toEqual(expected.blacklist);
        // everything is released and expired at the end, but blacklisted users
        expect(op.snapshot().keys.every(([, entry]) => 'dimension' in entry || entry.state.since !== null)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  it('restored from a JSON snapshot mid-stream, emits exactly what an uninterrupted run emits', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(scenarioArb, ({ zone, threshold, lateness, events, duplicates, order: picks, steps, cut, lateArea }) => {
        const opts = options(zone, threshold, lateness);
        const all = arrivals(events, duplicates, picks, steps, lateness, lateArea);
        const uninterrupted = withAreas(new ClickBlacklist<{ user: string }, string>(opts));
        const expected = all.map((step) => run(uninterrupted, step));
        let op = withAreas(new ClickBlacklist<{ user: string }, string>(opts));
        const at = cut % (all.length + 1);
        const got = all.map((step, i) => {
          if (i === at) op = ClickBlacklist.restore(opts, JSON.parse(JSON.stringify(op.snapshot())) as ClickBlacklistSnapshot<{ user: string }, string>);
          return run(op, step);
        });
        expect(got).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  const click = (id: string, time: number, ad = 'ad1', user = 'u1', area = 'a1'): Event => ({ id, time, dimensionId: area, clickOn: ad, payload: { user } });
  const view = (id: string, time: number, area = 'a1', user = 'u1'): Event => ({ id, time, dimensionId: area, clickOn: null, payload: { user } });
  const rows = (outputs: readonly Output[]): string[] =>
    outputs.map((o) => (o.kind === 'event' ? `${o.event.id}:${o.counted ? 1 : 0}` : o.kind === 'blacklisted' ? `blacklist ${o.key} ${o.adId} ${o.day} @${o.since}` : `${o.kind} ${o.event.id}`));
  const T = Date.UTC(2026, 0, 10, 4);

  it('blacklists at the click that exceeds the threshold: it and later clicks, on any ad, are not counted; earlier ones are', () => {
    const op = withAreas(new ClickBlacklist<{ user: string }, string>(options('UTC', 2, 0)));
    for (const [i, c] of [click('c1', T), click('c2', T + 1), click('c3', T + 2), click('x', T + 3, 'ad2'), click('c4', T + 4)].entries()) {
      expect(op.process('u1', c)).toEqual([]);
      expect(i).toBeLessThan(5);
    }
    expect(rows(op.process('u1', view('v', T + 5)))).toEqual(['v:1']);
    expect(rows(op.advanceWatermark(T + 10))).toEqual(['c1:1', 'c2:1', 'blacklist u1 ad1 2026-01-10 @' + (T + 2), 'c3:0', 'x:0', 'c4:0']);
  });

  it('takes clicks of equal time in event_id order', () => {
    const op = withAreas(new ClickBlacklist<{ user: string }, string>(options('UTC', 1, 0)));
    op.process('u1', click('b', T));
    op.process('u1', click('a', T));
    expect(rows(op.advanceWatermark(T))).toEqual(['a:1', `blacklist u1 ad1 2026-01-10 @${T}`, 'b:0']);
  });

  it('counts per calendar day in the zone: Asia/Shanghai days start at 16:00 UTC', () => {
    const op = withAreas(new ClickBlacklist<{ user: string }, string>(options('Asia/Shanghai', 1, 0)));
    const midnight = Date.UTC(2026, 0, 10, 16);
    op.process('u1', click('c1', midnight - 1));
    op.process('u1', click('c2', midnight));
    expect(rows(op.advanceWatermark(midnight))).toEqual(['c1:1', 'c2:1']);
    op.process('u1', click('c3', midnight + 1));
    expect(rows(op.advanceWatermark(midnight + 1))).toEqual([`blacklist u1 ad1 2026-01-11 @${midnight + 1}`, 'c3:0']);
  });

  it('a New York DST day has 23 hours: 23:30 local is still the same day', () => {
    const op = withAreas(new ClickBlacklist<{ user: string }, string>(options('America/New_York', 1, 0)));
    const start = Date.UTC(2026, 2, 8, 5);
    op.process('u1', click('c1', start));
    op.process('u1', click('c2', Date.UTC(2026, 2, 9, 3, 30)));
    op.process('u1', click('c3', Date.UTC(2026, 2, 9, 4)));
    expect(rows(op.advanceWatermark(Date.UTC(2026, 2, 9, 5)))).toEqual(['c1:1', `blacklist u1 ad1 2026-03-08 @${Date.UTC(2026, 2, 9, 3, 30)}`, 'c2:0', 'c3:0']);
  });

  it('a click within the allowed lateness that moves the decision earlier re-emits the blacklist row and the clicks it removes', () => {
    const op = withAreas(new ClickBlacklist<{ user: string }, string>(options('UTC', 1, 60_000)));
    op.process('u1', click('c1', T));
    op.process('u1', click('c3', T + 30_000));
    op.process('u1', click('other', T + 20_000, 'ad2'));
    const first = op.advanceWatermark(T + 40_000);
    expect(rows(first)).toEqual(['c1:1', 'other:1', `blacklist u1 ad1 2026-01-10 @${T + 30_000}`, 'c3:0']);
    const late = op.process('u1', click('c2', T + 10_000));
    expect(rows(late)).toEqual([`blacklist u1 ad1 2026-01-10 @${T + 10_000}`, 'other:0', 'c2:0']);
    const versions = [...first, ...late].map((o) => ('version' in o ? o.version : 0));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it('sends events later than the allowed lateness to the late output and drops duplicates, both counted', () => {
    const op = withAreas(new ClickBlacklist<{ user: string }, string>(options('UTC', 5, 1000)));
    expect(rows(op.process('u1', view('v', T)))).toEqual(['v:1']);
    expect(op.process('u1', view('v', T))).toEqual([]);
    op.advanceWatermark(T + 999);
    expect(op.process('u1', view('v', T))).toEqual([]);
    op.advanceWatermark(T + 1000);
    expect(rows(op.process('u1', view('v', T)))).toEqual(['late v']);
    expect(rows(op.process('u1', click('c', T)))).toEqual(['late c']);
    expect([op.lateCount, op.duplicateCount]).toEqual([2, 2]);
  });

  it('holds an event whose dimension row is unknown until the row arrives, or until it would be late (then unresolved)', () => {
    const op = new ClickBlacklist<{ user: string }, string>(options('UTC', 5, 1000));
    expect(op.process('u1', view('v1', T, 'a9'))).toEqual([]);
    expect(op.process('u1', view('v2', T + 500, 'a8'))).toEqual([]);
    expect(rows(op.changeDimension('a9', 'Suzhou'))).toEqual(['v1:1']);
    expect(op.advanceWatermark(T + 1499)).toEqual([]);
    expect(rows(op.advanceWatermark(T + 1500))).toEqual(['unresolved v2']);
    expect(op.unresolvedCount).toBe(1);
    expect(op.changeDimension('a8', 'Wuxi')).toEqual([]);
  });

  it('refuses a snapshot taken with another threshold or zone', () => {
    const op = new ClickBlacklist<{ user: string }, string>(options('UTC', 5, 1000));
    expect(() => ClickBlacklist.restore(options('UTC', 6, 1000), op.snapshot())).toThrow(RangeError);
    expect(() => ClickBlacklist.restore(options('Asia/Shanghai', 5, 1000), op.snapshot())).toThrow(RangeError);
  });
});

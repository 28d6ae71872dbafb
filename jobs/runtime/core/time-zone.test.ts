import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { TimeZone, formatUtc, parseLocalDateTime } from './time-zone.js';

/**
 * The model: V8's own local-time Date arithmetic under TZ=<zone> (this test runs in its own process).
 * ECMAScript resolves local times as java.time does: a gap moves forward by its length, an overlap takes
 * the earlier instant.
 */
const savedTz = process.env.TZ;
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

function modelInstant(zone: string, y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  process.env.TZ = zone;
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

function modelDay(zone: string, instant: number): { day: string; start: number } {
  process.env.TZ = zone;
  const date = new Date(instant);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return { day: `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`, start: new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() };
}

const ZONES = ['UTC', 'America/New_York', 'Asia/Shanghai', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'Pacific/Chatham'];
const text = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): string =>
  `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(ms).padStart(3, '0')}`;

describe('TimeZone', () => {
  it('converts wall-clock DATETIME text to the instant Date computes under TZ, across DST gaps and overlaps', { timeout: 60_000 }, () => {
    const localArb = fc.record({
      zone: fc.constantFrom(...ZONES),
      y: fc.integer({ min: 1985, max: 2035 }),
      mo: fc.integer({ min: 1, max: 12 }),
      d: fc.integer({ min: 1, max: 28 }),
      h: fc.integer({ min: 0, max: 23 }),
      mi: fc.integer({ min: 0, max: 59 }),
      s: fc.integer({ min: 0, max: 59 }),
      ms: fc.integer({ min: 0, max: 999 }),
    });
    fc.assert(
      fc.property(localArb, ({ zone, y, mo, d, h, mi, s, ms }) => {
        expect(TimeZone.of(zone).parse(text(y, mo, d, h, mi, s, ms))).toBe(modelInstant(zone, y, mo, d, h, mi, s, ms));
      }),
      { numRuns: 3000 },
    );
  });

  it('finds the calendar day of an instant and its first instant as Date does under TZ', { timeout: 60_000 }, () => {
    const instantArb = fc.record({ zone: fc.constantFrom(...ZONES), instant: fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2035, 0, 1) }) });
    fc.assert(
      fc.property(instantArb, ({ zone, instant }) => {
        const day = TimeZone.of(zone).dayOf(instant);
        const model = modelDay(zone, instant);
        expect({ day: day.day, start: day.start }).toEqual(model);
        expect(day.start).toBeLessThanOrEqual(instant);
        expect(instant).toBeLessThan(day.end);
        expect(TimeZone.of(zone).dayOf(day.end).start).toBe(day.end);
      }),
      { numRuns: 3000 },
    );
  });

  it('America/New_York 2026: the spring gap moves forward, the autumn overlap takes the earlier instant, days of 23 and 25 h', () => {
    const ny = TimeZone.of('America/New_York');
    expect(ny.parse('2026-03-08 01:59:59.999')).toBe(Date.UTC(2026, 2, 8, 6, 59, 59, 999));
    expect(ny.parse('2026-03-08 02:30:00.000')).toBe(Date.UTC(2026, 2, 8, 7, 30));
    expect(ny.parse('2026-03-08 03:00:00')).toBe(Date.UTC(2026, 2, 8, 7, 0));
    expect(ny.parse('2026-11-01 01:30:00.000')).toBe(Date.UTC(2026, 10, 1, 5, 30));
    expect(ny.toInstant(parseLocalDateTime('2026-11-01 01:30:00.000'), 'later')).toBe(Date.UTC(2026, 10, 1, 6, 30));
    const spring = ny.dayOf(Date.UTC(2026, 2, 8, 12));
    expect(spring).toEqual({ day: '2026-03-08', start: Date.UTC(2026, 2, 8, 5), end: Date.UTC(2026, 2, 9, 4) });
    const autumn = ny.dayOf(Date.UTC(2026, 10, 1, 12));
    expect(autumn).toEqual({ day: '2026-11-01', start: Date.UTC(2026, 10, 1, 4), end: Date.UTC(2026, 10, 2, 5) });
  });

  it('Asia/Shanghai: a day runs from 16:00 UTC the day before', () => {
    const sh = TimeZone.of('Asia/Shanghai');
    expect(sh.parse('2026-01-01 00:00:00.000')).toBe(Date.UTC(2025, 11, 31, 16));
    expect(sh.dayOf(Date.UTC(2025, 11, 31, 15, 59, 59, 999)).day).toBe('2025-12-31');
    expect(sh.dayOf(Date.UTC(2025, 11, 31, 16)).day).toBe('2026-01-01');
  });

  it('rejects malformed and impossible date-times, sub-millisecond digits and unknown zones', () => {
    expect(() => parseLocalDateTime('2026-02-30 00:00:00')).toThrow(RangeError);
    expect(() => parseLocalDateTime('0000-00-00 00:00:00')).toThrow(RangeError);
    expect(() => parseLocalDateTime('2026-01-01 24:00:00')).toThrow(RangeError);
    expect(() => parseLocalDateTime('2026-01-01')).toThrow(SyntaxError);
    expect(() => parseLocalDateTime('2026-01-01 00:00:00.0001')).toThrow(/sub-millisecond/);
    expect(parseLocalDateTime('2026-01-01 00:00:00.123000')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
    expect(() => TimeZone.of('Mars/Olympus')).toThrow(RangeError);
  });

  it('formats instants as DateTime64(3) text in UTC', () => {
    expect(formatUtc(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02 03:04:05.006');
    expect(formatUtc(0)).toBe('1970-01-01 00:00:00.000');
    expect(() => formatUtc(1.5)).toThrow(RangeError);
  });
});

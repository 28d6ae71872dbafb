import { describe, expect, it } from 'vitest';
import { assertTimeZone, ZonedClock } from './zoned-time.js';

describe('ZonedClock', () => {
  it('prints DATETIME(3) on the zone’s wall clock', () => {
    const t = Date.parse('2025-03-08T16:05:09.007Z');
    expect(new ZonedClock('UTC').dateTime(t)).toBe('2025-03-08 16:05:09.007');
    expect(new ZonedClock('Asia/Shanghai').dateTime(t)).toBe('2025-03-09 00:05:09.007');
    expect(new ZonedClock('Asia/Kolkata').dateTime(t)).toBe('2025-03-08 21:35:09.007');
    expect(new ZonedClock('Asia/Kathmandu').dateTime(t)).toBe('2025-03-08 21:50:09.007');
    expect(new ZonedClock('America/Los_Angeles').dateTime(t)).toBe('2025-03-08 08:05:09.007');
  });

  it('follows daylight saving time: the instant before and after the switch', () => {
    const ny = new ZonedClock('America/New_York');
    // 2025-03-09 02:00 EST → 03:00 EDT; 2025-11-02 02:00 EDT → 01:00 EST.
    expect(ny.dateTime(Date.parse('2025-03-09T06:59:59.999Z'))).toBe('2025-03-09 01:59:59.999');
    expect(ny.dateTime(Date.parse('2025-03-09T07:00:00.000Z'))).toBe('2025-03-09 03:00:00.000');
    expect(ny.dateTime(Date.parse('2025-11-02T05:59:59.999Z'))).toBe('2025-11-02 01:59:59.999');
    expect(ny.dateTime(Date.parse('2025-11-02T06:00:00.000Z'))).toBe('2025-11-02 01:00:00.000');
    expect(ny.offsetMs(Date.parse('2025-07-01T00:00:00Z'))).toBe(-4 * 3_600_000);
  });

  it('gives the local day and hour (calendar days east of UTC start before UTC midnight)', () => {
    const sh = new ZonedClock('Asia/Shanghai');
    expect(sh.day(Date.parse('2025-03-08T15:59:59.999Z'))).toBe('2025-03-08');
    expect(sh.day(Date.parse('2025-03-08T16:00:00.000Z'))).toBe('2025-03-09');
    expect(sh.hourOfDay(Date.parse('2025-03-08T13:30:00Z'))).toBe(21.5);
  });

  it('matches Intl’s own formatting at random instants, in every zone it is used with', () => {
    for (const zone of ['UTC', 'Asia/Shanghai', 'Europe/Berlin', 'America/Sao_Paulo', 'Australia/Lord_Howe']) {
      const clock = new ZonedClock(zone);
      const f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 });
      for (let i = 0; i < 2_000; i++) {
        const t = 1_600_000_000_000 + Math.floor(((i * 7919) % 2_000) * 157_680_017.3);
        const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, x.value]));
        expect(clock.dateTime(t)).toBe(`${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}.${p.fractionalSecond}`);
      }
    }
  });

  it('rejects unknown zones', () => {
    expect(() => assertTimeZone('Mars/Olympus')).toThrow(RangeError);
    expect(() => assertTimeZone('Asia/Shanghai')).not.toThrow();
  });
});

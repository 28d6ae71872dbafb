import { describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil, parseTimeZone, serverTimestampZone, UTC, zonedTimestampText } from './time-zone.js';

describe('parseTimeZone', () => {
  it('reads offsets as MySQL writes them, UTC names, and IANA zones', () => {
    expect(parseTimeZone('+08:00')).toMatchObject({ name: '+08:00', fixedOffset: 8 * 3600 });
    expect(parseTimeZone('-3:30')).toMatchObject({ fixedOffset: -(3 * 3600 + 30 * 60) });
    expect(parseTimeZone('+14:00').fixedOffset).toBe(14 * 3600);
    expect(parseTimeZone('+00:00')).toBe(UTC);
    expect(parseTimeZone('UTC')).toBe(UTC);
    expect(parseTimeZone('Z')).toBe(UTC);
    expect(parseTimeZone('Asia/Shanghai')).toMatchObject({ name: 'Asia/Shanghai', fixedOffset: null });
  });

  it('refuses anything else, naming what it expects', () => {
    for (const bad of ['SYSTEM', '+14:01', '-14:00', '+08:60', '8', 'Mars/Olympus', '']) expect(() => parseTimeZone(bad), bad).toThrow(/time zone/);
  });
});

describe('zonedTimestampText', () => {
  it('shifts by a fixed offset, across days and years, keeping the fraction', () => {
    expect(zonedTimestampText('2024-02-29 23:59:59.123', parseTimeZone('+08:00'))).toBe('2024-03-01 07:59:59.123');
    expect(zonedTimestampText('2023-12-31 20:00:00', parseTimeZone('+08:00'))).toBe('2024-01-01 04:00:00');
    expect(zonedTimestampText('1970-01-01 00:00:01', parseTimeZone('-05:00'))).toBe('1969-12-31 19:00:01');
    expect(zonedTimestampText('2038-01-19 03:14:07.999999', parseTimeZone('+05:45'))).toBe('2038-01-19 08:59:07.999999');
    expect(zonedTimestampText('2024-06-01 12:00:00', UTC)).toBe('2024-06-01 12:00:00');
  });

  it('keeps the zero TIMESTAMP in every zone', () => {
    expect(zonedTimestampText('0000-00-00 00:00:00.000', parseTimeZone('+08:00'))).toBe('0000-00-00 00:00:00.000');
  });

  it('follows daylight saving time in a named zone, to the second around each transition', () => {
    const newYork = parseTimeZone('America/New_York');
    expect(zonedTimestampText('2024-01-01 12:00:00', newYork)).toBe('2024-01-01 07:00:00');
    expect(zonedTimestampText('2024-07-01 12:00:00', newYork)).toBe('2024-07-01 08:00:00');
    // 2024-03-10 02:00 EST: the clock jumps to 03:00 EDT
    expect(zonedTimestampText('2024-03-10 06:59:59', newYork)).toBe('2024-03-10 01:59:59');
    expect(zonedTimestampText('2024-03-10 07:00:00', newYork)).toBe('2024-03-10 03:00:00');
    // 2024-11-03 02:00 EDT: back to 01:00 EST, so 01:30 happens twice
    expect(zonedTimestampText('2024-11-03 05:30:00', newYork)).toBe('2024-11-03 01:30:00');
    expect(zonedTimestampText('2024-11-03 06:30:00', newYork)).toBe('2024-11-03 01:30:00');
    // Lord Howe moves by 30 minutes at 02:00 local standard time (+10:30) = 15:30 UTC, mid-hour
    const lordHowe = parseTimeZone('Australia/Lord_Howe');
    expect(zonedTimestampText('2024-10-05 15:29:59', lordHowe)).toBe('2024-10-06 01:59:59');
    expect(zonedTimestampText('2024-10-05 15:30:00', lordHowe)).toBe('2024-10-06 02:30:00');
    expect(zonedTimestampText('2024-10-05 15:00:00', lordHowe)).toBe('2024-10-06 01:30:00');
  });
});

describe('serverTimestampZone', () => {
  it('takes @@global.time_zone unless SYSTEM', () => {
    expect(serverTimestampZone({ global: '+08:00', system: 'UTC', offsetSeconds: 8 * 3600 }).fixedOffset).toBe(8 * 3600);
    expect(serverTimestampZone({ global: 'Europe/Berlin', system: 'UTC', offsetSeconds: 0 }).name).toBe('Europe/Berlin');
  });

  it('for SYSTEM, trusts the system zone name only when it has the server offset', () => {
    expect(serverTimestampZone({ global: 'SYSTEM', system: 'UTC', offsetSeconds: 0 })).toBe(UTC);
    // China's CST: Intl reads CST as Chicago, whose offset is not the server's
    expect(serverTimestampZone({ global: 'SYSTEM', system: 'CST', offsetSeconds: 8 * 3600 })).toMatchObject({ name: '+08:00', fixedOffset: 8 * 3600 });
    expect(serverTimestampZone({ global: 'SYSTEM', system: 'Asia/Shanghai', offsetSeconds: 8 * 3600 })).toMatchObject({ name: 'Asia/Shanghai', fixedOffset: null });
    expect(serverTimestampZone({ global: 'SYSTEM', system: 'XYZ', offsetSeconds: -(9 * 3600 + 30 * 60) })).toMatchObject({ name: '-09:30' });
  });
});

describe('civil dates', () => {
  it('round-trips days and dates (checked against Date.UTC)', () => {
    for (const days of [-25567, -1, 0, 1, 11016, 19782, 24855, 2932896]) {
      const [y, m, d] = civilFromDays(days);
      expect(Date.UTC(y, m - 1, d) / 86_400_000, String(days)).toBe(days);
      expect(daysFromCivil(y, m, d)).toBe(days);
    }
  });
});

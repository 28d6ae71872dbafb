import { describe, expect, it } from 'vitest';
import { earliestInstant, formatWall, latestInstant, offsetAt, parseWall, wallOf } from './wall-clock.js';

const at = (iso: string) => Date.parse(iso);
const wall = (text: string) => parseWall(text) as number;

describe('wall clock in a zone', () => {
  it('reads UTC and fixed-offset zones', () => {
    expect(offsetAt('UTC', at('2024-06-01T12:00:00Z'))).toBe(0);
    expect(formatWall(wallOf('Asia/Shanghai', at('2024-01-01T00:00:00Z')))).toBe('2024-01-01 08:00:00.000');
    expect(earliestInstant('Asia/Shanghai', wall('2024-01-01 08:00:00'))).toBe(at('2024-01-01T00:00:00Z'));
    expect(latestInstant('Asia/Shanghai', wall('2024-01-01 08:00:00'))).toBe(at('2024-01-01T00:00:00Z'));
  });

  it('maps a wall time read twice (Paris, 27 Oct 2024, 03:00 CEST → 02:00 CET) to both instants', () => {
    const w = wall('2024-10-27 02:30:00');
    expect(earliestInstant('Europe/Paris', w)).toBe(at('2024-10-27T00:30:00Z'));
    expect(latestInstant('Europe/Paris', w)).toBe(at('2024-10-27T01:30:00Z'));
  });

  it('moves a wall time in a gap (Paris, 31 Mar 2024, 02:00 → 03:00) forward by the gap, as java.time does', () => {
    const w = wall('2024-03-31 02:30:00');
    expect(earliestInstant('Europe/Paris', w)).toBe(at('2024-03-31T01:30:00Z'));
    expect(formatWall(wallOf('Europe/Paris', earliestInstant('Europe/Paris', w)))).toBe('2024-03-31 03:30:00.000');
  });

  it('parses MySQL DATETIME text, truncating past the millisecond, and refuses impossible dates', () => {
    expect(parseWall('2024-01-02 03:04:05.123')).toBe(at('2024-01-02T03:04:05.123Z'));
    expect(parseWall('2024-01-02 03:04:05.123999')).toBe(at('2024-01-02T03:04:05.123Z'));
    expect(parseWall('2024-01-02 03:04')).toBe(at('2024-01-02T03:04:00Z'));
    expect(parseWall('2024-02-30 00:00:00')).toBeUndefined();
    expect(parseWall('2024-01-02 24:00:00')).toBeUndefined();
    expect(parseWall('yesterday')).toBeUndefined();
  });
});

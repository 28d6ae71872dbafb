import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignWindows,
  cleanupTime,
  dailyWindows,
  DAY_MS,
  HOUR_MS,
  isWindowLate,
  maxTimestamp,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  windowStart,
} from './windows.js';

describe('windowStart (Flink TimeWindow.getWindowStartWithOffset)', () => {
  it('aligns to size and offset, including negative timestamps', () => {
    expect(windowStart(0, 0, 10)).toBe(0);
    expect(windowStart(9, 0, 10)).toBe(0);
    expect(windowStart(10, 0, 10)).toBe(10);
    expect(windowStart(-1, 0, 10)).toBe(-10);
    expect(windowStart(-10, 0, 10)).toBe(-10);
    expect(windowStart(-11, 0, 10)).toBe(-20);
    expect(windowStart(2, 3, 10)).toBe(-7);
    expect(windowStart(3, 3, 10)).toBe(3);
    expect(windowStart(5, -3, 10)).toBe(-3);
  });

  it('always returns the start of the window that holds the timestamp', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 1, max: 1e6 }), fc.double({ min: -0.999, max: 0.999, noNaN: true }), (timestamp, size, offsetFraction) => {
        const offset = Math.trunc(offsetFraction * size);
        const start = windowStart(timestamp, offset, size);
        expect(start <= timestamp && timestamp < start + size).toBe(true);
        expect((((start - offset) % size) + size) % size).toBe(0);
      }),
    );
  });
});

describe('assigners', () => {
  it('validates like Flink', () => {
    expect(() => tumblingWindows(0)).toThrow(RangeError);
    expect(() => tumblingWindows(10, 10)).toThrow(RangeError);
    expect(() => tumblingWindows(10, -10)).toThrow(RangeError);
    expect(() => slidingWindows(10, 0)).toThrow(RangeError);
    expect(() => slidingWindows(10, 5, 5)).toThrow(RangeError);
    expect(() => sessionWindows(0)).toThrow(RangeError);
    expect(() => tumblingWindows(1.5)).toThrow(RangeError);
    expect(tumblingWindows(10, -9)).toEqual({ kind: 'tumbling', size: 10, offset: -9 });
  });

  it('assigns one tumbling window: end - 1 inside, end in the next', () => {
    const assigner = tumblingWindows(10);
    expect(assignWindows(assigner, 9)).toEqual([{ start: 0, end: 10 }]);
    expect(assignWindows(assigner, 10)).toEqual([{ start: 10, end: 20 }]);
  });

  it('assigns size/slide sliding windows, latest start first', () => {
    expect(assignWindows(slidingWindows(15, 5), 12)).toEqual([
      { start: 10, end: 25 },
      { start: 5, end: 20 },
      { start: 0, end: 15 },
    ]);
    expect(assignWindows(slidingWindows(2, 5), 3)).toEqual([]); // falls between windows
  });

  it('assigns [timestamp, timestamp + gap) for sessions', () => {
    expect(assignWindows(sessionWindows(30), 100)).toEqual([{ start: 100, end: 130 }]);
  });

  it('builds daily windows for a UTC offset', () => {
    expect(dailyWindows(8 * HOUR_MS)).toEqual({ kind: 'tumbling', size: DAY_MS, offset: -8 * HOUR_MS });
    const [day] = assignWindows(dailyWindows(8 * HOUR_MS), Date.parse('2024-06-30T23:59:59.999+08:00'));
    expect(day).toEqual({ start: Date.parse('2024-06-30T00:00:00+08:00'), end: Date.parse('2024-07-01T00:00:00+08:00') });
  });
});

describe('window lifecycle', () => {
  it('has maxTimestamp end - 1 and is late once the watermark reaches end - 1 + lateness', () => {
    const window = { start: 0, end: 10 };
    expect(maxTimestamp(window)).toBe(9);
    expect(cleanupTime(window, 5)).toBe(14);
    expect(isWindowLate(window, 5, 13)).toBe(false);
    expect(isWindowLate(window, 5, 14)).toBe(true);
    expect(isWindowLate(window, 0, 9)).toBe(true);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal, parseDecimal } from './decimal.js';

describe('parseDecimal', () => {
  it('parses to the unscaled value at the declared scale', () => {
    expect(parseDecimal('12345678901234.56', 2)).toBe(1234567890123456n);
    expect(parseDecimal('-0.01', 2)).toBe(-1n);
    expect(parseDecimal('0.1', 2)).toBe(10n);
    expect(parseDecimal('+7', 3)).toBe(7000n);
    expect(parseDecimal('.5', 1)).toBe(5n);
    expect(parseDecimal('3.', 0)).toBe(3n);
  });

  it('accepts extra fractional zeros but never rounds', () => {
    expect(parseDecimal('1.2300', 2)).toBe(123n);
    expect(() => parseDecimal('1.234', 2)).toThrow(RangeError);
    expect(() => parseDecimal('0.5', 0)).toThrow(RangeError);
  });

  it('rejects text that is not a plain decimal', () => {
    for (const text of ['', '-', '.', '1e5', '1,5', ' 1', '0x10', '--1', 'NaN']) {
      expect(() => parseDecimal(text, 2), text).toThrow(SyntaxError);
    }
  });

  it('rejects a bad scale', () => {
    expect(() => parseDecimal('1', -1)).toThrow(RangeError);
    expect(() => formatDecimal(1n, 1.5)).toThrow(RangeError);
  });
});

describe('formatDecimal', () => {
  it('writes exactly the declared scale', () => {
    expect(formatDecimal(1234567890123456n, 2)).toBe('12345678901234.56');
    expect(formatDecimal(-1n, 2)).toBe('-0.01');
    expect(formatDecimal(70n, 2)).toBe('0.70');
    expect(formatDecimal(0n, 3)).toBe('0.000');
    expect(formatDecimal(-5n, 0)).toBe('-5');
  });

  it('round-trips every unscaled value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 12 }), (unscaled, scale) => {
        expect(parseDecimal(formatDecimal(unscaled, scale), scale)).toBe(unscaled);
      }),
    );
  });
});

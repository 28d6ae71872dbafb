import { describe, expect, it } from 'vitest';
import { canonicalDecimal, decimalDifference } from './figures.js';

describe('decimal figures', () => {
  it('spell MySQL and ClickHouse figures alike', () => {
    expect(canonicalDecimal('12.30')).toBe('12.3');
    expect(canonicalDecimal('12.3')).toBe('12.3');
    expect(canonicalDecimal('100')).toBe('100');
    expect(canonicalDecimal('10.00')).toBe('10');
    expect(canonicalDecimal('-0.00')).toBe('0');
    expect(canonicalDecimal('123456789012345678901234567890.10')).toBe('123456789012345678901234567890.1');
  });

  it('subtract exactly, sink minus source, signed', () => {
    expect(decimalDifference('12.30', '12.31')).toBe('+0.01');
    expect(decimalDifference('5', '3')).toBe('-2');
    expect(decimalDifference('1.5', '1.50')).toBe('0');
    expect(decimalDifference('0.1', '0.3')).toBe('+0.2');
    expect(decimalDifference('9007199254740993', '9007199254740992')).toBe('-1');
  });

  it('refuse text that is not a decimal', () => {
    expect(() => canonicalDecimal('1e3')).toThrow(/not a decimal/);
  });
});

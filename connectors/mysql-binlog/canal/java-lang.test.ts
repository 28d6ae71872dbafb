import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { javaDoubleToString, javaFloatToString, javaIntAbs, javaStringHashCode } from './java-lang.js';

describe('javaStringHashCode', () => {
  // Values printed by String.hashCode() on OpenJDK 17.
  it.each([
    ['', 0],
    ['a', 97],
    ['hello', 99162322],
    ['polygenelubricants', -2147483648],
    ['Aa', 2112],
    ['BB', 2112],
    ['dwshow', -1318623728],
    ['ad_show', -1152277095],
    ['2020-07-21', 131789748],
    ['shop', 3529462],
    ['orders', -1008770331],
    ['1001', 1507424],
    ['😀', 1772899],
    ['日期', 835034],
    ['-1', 1444],
  ])('%j -> %i', (text, hash) => {
    expect(javaStringHashCode(text)).toBe(hash);
  });

  it('equals the definition s[0]*31^(n-1) + ... + s[n-1], wrapped to a signed 32-bit int', () => {
    const definition = (text: string): number => {
      let sum = 0n;
      for (let i = 0; i < text.length; i++) sum += BigInt(text.charCodeAt(i)) * 31n ** BigInt(text.length - 1 - i);
      return Number(BigInt.asIntN(32, sum));
    };
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => javaStringHashCode(text) === definition(text)));
  });
});

describe('javaIntAbs', () => {
  it('leaves Integer.MIN_VALUE negative, like Math.abs(int)', () => {
    expect(javaIntAbs(-2147483648)).toBe(-2147483648);
    expect(javaIntAbs(-5)).toBe(5);
    expect(javaIntAbs(7)).toBe(7);
  });
});

describe('javaDoubleToString', () => {
  // Double.toString on OpenJDK 17, which agrees with the JDK 19+ algorithm on all of these.
  it.each([
    [0.002, '0.002'],
    [0.1, '0.1'],
    [1.1, '1.1'],
    [100, '100.0'],
    [1e7, '1.0E7'],
    [9999999, '9999999.0'],
    [0.001, '0.001'],
    [0.0009, '9.0E-4'],
    [123456789, '1.23456789E8'],
    [1e-5, '1.0E-5'],
    [5e-324, '4.9E-324'],
    [1.7976931348623157e308, '1.7976931348623157E308'],
    [-0, '-0.0'],
    [0, '0.0'],
    [3.141592653589793, '3.141592653589793'],
    [1e22, '1.0E22'],
    [4.35, '4.35'],
    [0.30000000000000004, '0.30000000000000004'],
    [-1234.5, '-1234.5'],
  ])('%d -> %s', (value, expected) => {
    expect(javaDoubleToString(value)).toBe(expected);
  });

  it('uses the shortest digits (JDK 19+; JDK 8-18 print 1e23 as 9.999999999999999E22, the same double)', () => {
    expect(javaDoubleToString(1e23)).toBe('1.0E23');
    expect(javaDoubleToString(2e23)).toBe('2.0E23');
  });

  it('always reads back as the same double', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => Object.is(Number(javaDoubleToString(d)), d)));
  });
});

describe('javaFloatToString', () => {
  // Float.toString on OpenJDK 17; the input is the float widened to a double, as zongji delivers it.
  it.each([
    [Math.fround(0.1), '0.1'],
    [Math.fround(1.1), '1.1'],
    [100, '100.0'],
    [1e7, '1.0E7'],
    [Math.fround(0.001), '0.001'],
    [Math.fround(3.4028235e38), '3.4028235E38'],
    [Math.fround(1.4e-45), '1.4E-45'],
    [Math.fround(0.3), '0.3'],
    [16777216, '1.6777216E7'],
    [Math.fround(123.456), '123.456'],
    [Math.fround(33.333332), '33.333332'],
    // an exact tie between 359427.12 and 359427.13: the even digit, as Java does
    [359427.125, '359427.12'],
    [Math.fround(62690.8125), '62690.812'],
  ])('%d -> %s', (value, expected) => {
    expect(javaFloatToString(value)).toBe(expected);
  });

  it('rounds a double to float first (a snapshot may read FLOAT as a double)', () => {
    expect(javaFloatToString(1.1)).toBe('1.1');
  });

  it('always reads back as the same float, in no more digits than needed', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (f) => {
        const text = javaFloatToString(f);
        const digits = text.replace(/^-/, '').replace(/E.*/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
        return Object.is(Math.fround(Number(text)), Math.fround(f)) && digits.length <= 9;
      }),
    );
  });
});

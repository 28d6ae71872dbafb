import { describe, expect, it } from 'vitest';
import { encodeValue, parseColumnType, RowEncoder, RowError } from './encoder.js';

const t = parseColumnType;

describe('parseColumnType', () => {
  it('reads the types system.columns prints', () => {
    expect(t('Int32')).toEqual({ kind: 'int', bits: 32, signed: true });
    expect(t('UInt64')).toEqual({ kind: 'int', bits: 64, signed: false });
    expect(t('Decimal(12, 2)')).toEqual({ kind: 'decimal', precision: 12, scale: 2 });
    expect(t('Decimal64(4)')).toEqual({ kind: 'decimal', precision: 18, scale: 4 });
    expect(t("DateTime64(3, 'UTC')")).toEqual({ kind: 'datetime64', precision: 3, timezone: 'UTC' });
    expect(t('DateTime64(3)')).toEqual({ kind: 'datetime64', precision: 3, timezone: undefined });
    expect(t("DateTime('UTC')")).toEqual({ kind: 'datetime', timezone: 'UTC' });
    expect(t('DateTime')).toEqual({ kind: 'datetime', timezone: undefined });
    expect(t('LowCardinality(String)')).toEqual({ kind: 'string' });
    expect(t("Nullable(DateTime64(3, 'UTC'))")).toEqual({ kind: 'nullable', inner: { kind: 'datetime64', precision: 3, timezone: 'UTC' } });
  });

  it('refuses types it cannot check', () => {
    expect(() => t('Float64')).toThrow(/Float64 is not supported/);
    expect(() => t('Array(String)')).toThrow(/not supported/);
  });
});

const ok = (type: string, value: unknown) => encodeValue(t(type), value);
const bad = (type: string, value: unknown) => {
  try {
    encodeValue(t(type), value);
  } catch (err) {
    expect(err).toBeInstanceOf(RowError);
    return (err as Error).message;
  }
  throw new Error(`${JSON.stringify(value)} was accepted as ${type}`);
};

describe('encodeValue keeps values exactly or refuses them', () => {
  it('integers: numbers or digit strings within the range; 64-bit ones as strings', () => {
    expect(ok('Int32', '-2147483648')).toBe('-2147483648');
    expect(ok('Int32', 7)).toBe('7');
    expect(ok('Int64', '-9223372036854775808')).toBe('"-9223372036854775808"');
    expect(ok('UInt64', '18446744073709551615')).toBe('"18446744073709551615"');
    expect(ok('UInt8', true)).toBe('1');
    expect(bad('Int32', '2147483648')).toMatch(/outside the range of Int32/);
    expect(bad('UInt64', '-1')).toMatch(/outside the range of UInt64/);
    expect(bad('Int64', 1.5)).toMatch(/expected an integer/);
    expect(bad('Int64', 2 ** 53)).toMatch(/expected an integer/);
    expect(bad('Int64', 'x1')).toMatch(/expected an integer/);
  });

  it('decimals: at most the scale, at most precision - scale integer digits', () => {
    expect(ok('Decimal(12, 2)', '9999999999.99')).toBe('"9999999999.99"');
    expect(ok('Decimal(12, 2)', '-0.01')).toBe('"-0.01"');
    expect(ok('Decimal(12, 2)', '12.500')).toBe('"12.5"');
    expect(ok('Decimal(12, 2)', '007')).toBe('"7"');
    expect(ok('Decimal(18, 2)', 12.5)).toBe('"12.5"');
    expect(bad('Decimal(12, 2)', '1.234')).toMatch(/more than 2 decimal places/);
    expect(bad('Decimal(18, 2)', 0.1 + 0.2)).toMatch(/more than 2 decimal places/);
    expect(bad('Decimal(12, 2)', '10000000000.00')).toMatch(/does not fit Decimal\(12, 2\)/);
    expect(bad('Decimal(12, 2)', '1e3')).toMatch(/expected a decimal/);
    expect(bad('Decimal(12, 2)', null)).toMatch(/expected a decimal/);
  });

  it('times: MySQL text with up to the precision, or epoch ms into a UTC column', () => {
    expect(ok("DateTime64(3, 'UTC')", '2024-02-29 23:59:59.999')).toBe('"2024-02-29 23:59:59.999"');
    expect(ok("DateTime64(3, 'UTC')", '2024-01-01 00:00:00')).toBe('"2024-01-01 00:00:00.000"');
    expect(ok("DateTime64(3, 'UTC')", '2024-01-01 00:00:00.120000')).toBe('"2024-01-01 00:00:00.120"');
    expect(ok("DateTime64(3, 'UTC')", 1_700_000_000_123)).toBe('"2023-11-14 22:13:20.123"');
    expect(bad("DateTime64(3, 'UTC')", '2024-01-01 00:00:00.1234')).toMatch(/more than 3 fractional digits/);
    expect(bad("DateTime64(3, 'UTC')", '2023-02-29 00:00:00.000')).toMatch(/not a valid time/);
    expect(bad("DateTime64(3, 'UTC')", '0000-00-00 00:00:00.000')).toMatch(/not a valid time/);
    expect(bad("DateTime64(3, 'UTC')", '1000-01-01 00:00:00.000')).toMatch(/outside the range of DateTime64/);
    expect(bad("DateTime64(3, 'UTC')", '2024-01-01T00:00:00Z')).toMatch(/expected a time/);
    expect(bad("DateTime64(3, 'Asia/Shanghai')", 1_700_000_000_123)).toMatch(/need a column in UTC/);
    expect(ok("DateTime('UTC')", '2024-06-01 10:05:00')).toBe('"2024-06-01 10:05:00"');
    expect(ok("DateTime('UTC')", 1_717_236_300_000)).toBe('"2024-06-01 10:05:00"');
    expect(ok('DateTime', '2106-02-07 06:28:15')).toBe('"2106-02-07 06:28:15"');
    expect(bad("DateTime('UTC')", 1_717_236_300_500)).toMatch(/more than 0 fractional digits/);
    expect(bad("DateTime('UTC')", '1969-12-31 23:59:59')).toMatch(/outside the range of DateTime \(1970/);
    expect(bad("DateTime('UTC')", '2106-02-07 06:28:16')).toMatch(/outside the range of DateTime \(1970/);
    expect(bad("DateTime('Asia/Shanghai')", 1_717_236_300_000)).toMatch(/column in UTC/);
    expect(ok('Date', '2149-06-06')).toBe('"2149-06-06"');
    expect(bad('Date', '1969-12-31')).toMatch(/outside the range of Date/);
    expect(bad('Date', '2024-13-01')).toMatch(/not a calendar date/);
  });

  it('strings stay strings; Nullable takes null', () => {
    expect(ok('String', 'it\'s "q"\n北京')).toBe(JSON.stringify('it\'s "q"\n北京'));
    expect(bad('String', 5)).toMatch(/expected a string, got 5/);
    expect(ok('Nullable(UInt64)', null)).toBe('null');
    expect(ok('Nullable(UInt64)', '5')).toBe('"5"');
    expect(bad('String', null)).toMatch(/expected a string, got null/);
  });
});

describe('RowEncoder', () => {
  const encoder = new RowEncoder({
    table: 'orders',
    columns: [
      { name: 'id', type: t('Int64') },
      { name: 'amount', type: t('Decimal(12, 2)') },
      { name: 'paid_at', type: t("Nullable(DateTime64(3, 'UTC'))") },
    ],
  });

  it('writes one JSON object in column order, Nullable columns optional', () => {
    const line = encoder.encode({ amount: '1.50', id: '42' });
    expect(line).toBe('{"id":"42","amount":"1.5","paid_at":null}');
    expect(JSON.parse(line)).toEqual({ id: '42', amount: '1.5', paid_at: null });
  });

  it('names the table, the column and the problem', () => {
    expect(() => encoder.encode({ id: '1' })).toThrow('orders: column amount is missing');
    expect(() => encoder.encode({ id: '1', amount: 'x' })).toThrow('orders.amount: expected a decimal number, got "x"');
    expect(() => encoder.encode({ id: '1', amount: '1', extra: 'e', more: 1 })).toThrow('orders: unknown columns extra, more');
  });

  it('treats a column named __proto__ as an ordinary field', () => {
    const row = JSON.parse('{"id":"1","amount":"1","__proto__":"x"}') as Record<string, unknown>;
    expect(() => encoder.encode(row)).toThrow('orders: unknown column __proto__');
  });
});

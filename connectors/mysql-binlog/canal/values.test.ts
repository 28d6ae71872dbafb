import { describe, expect, it } from 'vitest';
import { buildTableSchema, SqlTypes } from './column-types.js';
import type { CanalColumn, InformationSchemaColumn } from './column-types.js';
import { isColumn } from './test-fixtures.js';
import { parseTimeZone } from './time-zone.js';
import { toCanalValue } from './values.js';

function column(dataType: string, columnType: string, extra: Partial<InformationSchemaColumn> = {}): CanalColumn {
  const [described] = buildTableSchema('d', 't', [isColumn('c', 1, dataType, columnType, extra)]).columns;
  if (described === undefined) throw new Error('no column');
  return described;
}

describe('toCanalValue', () => {
  it('NULL is null with the sqlType Canal reports for NULL', () => {
    expect(toCanalValue(column('text', 'text'), null)).toEqual({ value: null, sqlType: SqlTypes.LONGVARBINARY });
    expect(toCanalValue(column('set', "set('a')"), null)).toEqual({ value: null, sqlType: SqlTypes.BINARY });
    expect(toCanalValue(column('int', 'int(11)'), null)).toEqual({ value: null, sqlType: SqlTypes.INTEGER });
  });

  describe('integers', () => {
    it('prints signed values as they are', () => {
      expect(toCanalValue(column('tinyint', 'tinyint(4)'), -128)).toEqual({ value: '-128', sqlType: SqlTypes.TINYINT });
      expect(toCanalValue(column('tinyint', 'tinyint(1)'), 1)).toEqual({ value: '1', sqlType: SqlTypes.TINYINT });
      expect(toCanalValue(column('bigint', 'bigint(20)'), '-9223372036854775808')).toEqual({ value: '-9223372036854775808', sqlType: SqlTypes.BIGINT });
      // a snapshot row reads integers as the server's text
      expect(toCanalValue(column('int', 'int(11)'), '42')).toEqual({ value: '42', sqlType: SqlTypes.INTEGER });
    });

    // LogEventConvert: an unsigned value beyond the signed range is printed unsigned and typed one size up
    it.each([
      ['tinyint', 'tinyint(3) unsigned', 127, SqlTypes.TINYINT],
      ['tinyint', 'tinyint(3) unsigned', 200, SqlTypes.SMALLINT],
      ['smallint', 'smallint(5) unsigned', 65535, SqlTypes.INTEGER],
      ['mediumint', 'mediumint(8) unsigned', 16777215, SqlTypes.INTEGER],
      ['int', 'int(10) unsigned', 2147483647, SqlTypes.INTEGER],
      ['int', 'int(10) unsigned', 4294967295, SqlTypes.BIGINT],
      ['bigint', 'bigint(20) unsigned', 9007199254740991, SqlTypes.BIGINT],
      ['bigint', 'bigint(20) unsigned', '9223372036854775807', SqlTypes.BIGINT],
      ['bigint', 'bigint(20) unsigned', '18446744073709551615', SqlTypes.DECIMAL],
      ['int', 'int(10) unsigned zerofill', 3000000000, SqlTypes.BIGINT],
    ])('%s %s = %s -> sqlType %i', (dataType, columnType, raw, sqlType) => {
      expect(toCanalValue(column(dataType, columnType), raw)).toEqual({ value: String(raw), sqlType });
    });

    it('never loses digits of a BIGINT beyond 2^53 and refuses a rounded number', () => {
      expect(toCanalValue(column('bigint', 'bigint(20) unsigned'), 18446744073709551615n).value).toBe('18446744073709551615');
      expect(() => toCanalValue(column('bigint', 'bigint(20)'), 2 ** 60)).toThrow(/expected an integer/);
    });
  });

  describe('DECIMAL', () => {
    it('keeps every declared digit', () => {
      const price = column('decimal', 'decimal(12,2)', { NUMERIC_SCALE: 2 });
      expect(toCanalValue(price, '1.50')).toEqual({ value: '1.50', sqlType: SqlTypes.DECIMAL });
      expect(toCanalValue(price, '-0.07').value).toBe('-0.07');
      expect(toCanalValue(price, '3').value).toBe('3.00');
      expect(toCanalValue(column('decimal', 'decimal(65,30)', { NUMERIC_SCALE: 30 }), '12345678901234567890123456789012345.123456789012345678901234567890').value).toBe(
        '12345678901234567890123456789012345.123456789012345678901234567890',
      );
      expect(toCanalValue(column('decimal', 'decimal(10,0)', { NUMERIC_SCALE: 0 }), '9999999999').value).toBe('9999999999');
    });

    it('refuses a number (decimalNumbers would have rounded it)', () => {
      expect(() => toCanalValue(column('decimal', 'decimal(12,2)', { NUMERIC_SCALE: 2 }), 1.5)).toThrow(/decimalNumbers/);
    });
  });

  describe('FLOAT and DOUBLE', () => {
    it('print as Java Float.toString / Double.toString', () => {
      expect(toCanalValue(column('float', 'float'), Math.fround(0.1))).toEqual({ value: '0.1', sqlType: SqlTypes.REAL });
      expect(toCanalValue(column('float', 'float'), 100)).toEqual({ value: '100.0', sqlType: SqlTypes.REAL });
      expect(toCanalValue(column('float', 'float'), Math.fround(1.0e10)).value).toBe('1.0E10');
      expect(toCanalValue(column('double', 'double'), 0.1 + 0.2)).toEqual({ value: '0.30000000000000004', sqlType: SqlTypes.DOUBLE });
      expect(toCanalValue(column('double', 'double'), 12345678.9).value).toBe('1.23456789E7');
      expect(toCanalValue(column('double', 'double'), '2.5').value).toBe('2.5');
    });
  });

  describe('temporal types (dateStrings text)', () => {
    it('pass the server text through, with the column precision in fractional digits', () => {
      expect(toCanalValue(column('date', 'date'), '2020-07-21')).toEqual({ value: '2020-07-21', sqlType: SqlTypes.DATE });
      expect(toCanalValue(column('date', 'date'), '0000-00-00').value).toBe('0000-00-00');
      const dt6 = column('datetime', 'datetime(6)', { DATETIME_PRECISION: 6 });
      expect(toCanalValue(dt6, '2024-01-02 03:04:05.123456')).toEqual({ value: '2024-01-02 03:04:05.123456', sqlType: SqlTypes.TIMESTAMP });
      expect(toCanalValue(dt6, '2024-01-02 03:04:05').value).toBe('2024-01-02 03:04:05.000000');
      expect(toCanalValue(column('datetime', 'datetime', { DATETIME_PRECISION: 0 }), '0000-00-00 00:00:00').value).toBe('0000-00-00 00:00:00');
      expect(toCanalValue(column('timestamp', 'timestamp(3)', { DATETIME_PRECISION: 3 }), '2021-08-21 07:52:04.500')).toEqual({ value: '2021-08-21 07:52:04.500', sqlType: SqlTypes.TIMESTAMP });
      expect(toCanalValue(column('time', 'time(2)', { DATETIME_PRECISION: 2 }), '-838:59:59.00')).toEqual({ value: '-838:59:59.00', sqlType: SqlTypes.TIME });
    });

    it('TIMESTAMP (UTC text in) is printed in the column zone: the fraction pads first, the zero value stays', () => {
      const [ts3] = buildTableSchema('d', 't', [isColumn('c', 1, 'timestamp', 'timestamp(3)', { DATETIME_PRECISION: 3 })], { timeZone: parseTimeZone('+08:00') }).columns;
      if (ts3 === undefined) throw new Error('no column');
      expect(toCanalValue(ts3, '2024-02-29 23:59:59.5')).toEqual({ value: '2024-03-01 07:59:59.500', sqlType: SqlTypes.TIMESTAMP });
      expect(toCanalValue(ts3, '0000-00-00 00:00:00.000').value).toBe('0000-00-00 00:00:00.000');
      // a DATETIME is no instant: as written, whatever the zone
      const [dt] = buildTableSchema('d', 't', [isColumn('c', 1, 'datetime', 'datetime')], { timeZone: parseTimeZone('+08:00') }).columns;
      if (dt === undefined) throw new Error('no column');
      expect(toCanalValue(dt, '2024-02-29 23:59:59').value).toBe('2024-02-29 23:59:59');
    });

    it('refuse a Date (dateStrings unset: microseconds and zero dates would be lost)', () => {
      expect(() => toCanalValue(column('datetime', 'datetime', { DATETIME_PRECISION: 0 }), new Date(0))).toThrow(/dateStrings/);
    });

    it('YEAR is VARCHAR text; the zero year prints 0000 (zongji reports it as 1900)', () => {
      const year = column('year', 'year(4)');
      expect(toCanalValue(year, 2024)).toEqual({ value: '2024', sqlType: SqlTypes.VARCHAR });
      expect(toCanalValue(year, 1900).value).toBe('0000');
      expect(toCanalValue(year, '0000').value).toBe('0000');
      expect(toCanalValue(year, 1901).value).toBe('1901');
    });
  });

  describe('strings and bytes', () => {
    it('text keeps utf8mb4 intact', () => {
      expect(toCanalValue(column('varchar', 'varchar(32)'), '日期 😀')).toEqual({ value: '日期 😀', sqlType: SqlTypes.VARCHAR });
      expect(toCanalValue(column('char', 'char(4)'), 'ab')).toEqual({ value: 'ab', sqlType: SqlTypes.CHAR });
      expect(toCanalValue(column('longtext', 'longtext'), '{"a": 1}')).toEqual({ value: '{"a": 1}', sqlType: SqlTypes.CLOB });
      expect(toCanalValue(column('uuid', 'uuid'), '123e4567-e89b-12d3-a456-426614174000').value).toBe('123e4567-e89b-12d3-a456-426614174000');
    });

    it('binary values are ISO-8859-1 text, one char per byte', () => {
      const bytes = Buffer.from([0x00, 0x7f, 0x80, 0xe6, 0x97, 0xa5, 0xff]);
      expect(toCanalValue(column('varbinary', 'varbinary(16)'), bytes)).toEqual({ value: '\u0000\u007f\u0080\u00e6\u0097\u00a5\u00ff', sqlType: SqlTypes.BLOB });
      expect(toCanalValue(column('blob', 'blob'), Buffer.alloc(0))).toEqual({ value: '', sqlType: SqlTypes.BLOB });
      expect(Buffer.from(toCanalValue(column('binary', 'binary(7)'), bytes).value ?? '', 'latin1')).toEqual(bytes);
    });

    it('a text column zongji could not decode keeps its bytes as ISO-8859-1', () => {
      expect(toCanalValue(column('varchar', 'varchar(8)'), Buffer.from([0xa4]))).toEqual({ value: '\u00a4', sqlType: SqlTypes.VARCHAR });
    });

    it('MySQL JSON must arrive as text (jsonStrings)', () => {
      expect(toCanalValue(column('json', 'json'), '{"k": [1, 2]}')).toEqual({ value: '{"k": [1, 2]}', sqlType: SqlTypes.VARCHAR });
      expect(() => toCanalValue(column('json', 'json'), { k: 1 })).toThrow(/jsonStrings/);
    });
  });

  // RowsLogBuffer on Canal 1.1.7 decodes BIT(10) 0x0201 as 513, ENUM index 2 as 2 (INTEGER), SET a,c as 5 (BIT).
  describe('BIT, ENUM, SET as Canal reports them (numbers)', () => {
    it('BIT is the unsigned big-endian value', () => {
      expect(toCanalValue(column('bit', 'bit(1)'), Buffer.from([1]))).toEqual({ value: '1', sqlType: SqlTypes.BIT });
      expect(toCanalValue(column('bit', 'bit(1)'), Buffer.from([0])).value).toBe('0');
      expect(toCanalValue(column('bit', 'bit(10)'), Buffer.from([0x02, 0x01])).value).toBe('513');
      expect(toCanalValue(column('bit', 'bit(64)'), Buffer.alloc(8, 0xff)).value).toBe('18446744073709551615');
    });

    it('ENUM is the 1-based index of the label', () => {
      const status = column('enum', "enum('new','paid','it''s','')");
      expect(toCanalValue(status, 'new')).toEqual({ value: '1', sqlType: SqlTypes.INTEGER });
      expect(toCanalValue(status, 'paid').value).toBe('2');
      expect(toCanalValue(status, "it's").value).toBe('3');
      // zongji's own COLUMN_TYPE split keeps the doubled quote
      expect(toCanalValue(status, "it''s").value).toBe('3');
      expect(toCanalValue(status, '').value).toBe('4');
      expect(() => toCanalValue(status, 'gone')).toThrow(/not one of/);
    });

    it('ENUM invalid value (index 0) is 0: zongji gives undefined, a snapshot gives an empty string', () => {
      const status = column('enum', "enum('new','paid')");
      expect(toCanalValue(status, undefined).value).toBe('0');
      expect(toCanalValue(status, '').value).toBe('0');
    });

    it('SET is the bitmask of its labels', () => {
      const flags = column('set', "set('a','b','c')");
      expect(toCanalValue(flags, 'a,c')).toEqual({ value: '5', sqlType: SqlTypes.BIT });
      expect(toCanalValue(flags, '').value).toBe('0');
      expect(toCanalValue(flags, 'c').value).toBe('4');
      expect(() => toCanalValue(flags, 'a,z')).toThrow(/z is not one of/);
      const wide = column('set', `set(${Array.from({ length: 64 }, (_, i) => `'v${i}'`).join(',')})`);
      expect(toCanalValue(wide, 'v63,v0').value).toBe('9223372036854775809');
    });
  });

  it('names the column and the configuration to fix in its errors', () => {
    expect(() => toCanalValue(column('int', 'int(11)'), 'abc')).toThrow('column c (int(11)): got string abc; expected an integer');
  });
});

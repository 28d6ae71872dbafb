import { describe, expect, it } from 'vitest';
import { buildTableSchema, canalMysqlType, parseEnumLabels, SqlTypes } from './column-types.js';
import { AD_SHOW_COLUMNS, isColumn, referenceMessage } from './test-fixtures.js';
import { parseTimeZone, UTC } from './time-zone.js';

describe('buildTableSchema', () => {
  it('gives the reference table the mysqlType, sqlType and pkNames Canal emitted', () => {
    const schema = buildTableSchema('dwshow', 'ad_show', AD_SHOW_COLUMNS);
    const reference = referenceMessage('insert');
    expect(Object.fromEntries(schema.columns.map((c) => [c.name, c.mysqlType]))).toEqual(reference.mysqlType);
    expect(Object.fromEntries(schema.columns.map((c) => [c.name, c.sqlType]))).toEqual(reference.sqlType);
    // PRIMARY KEY (dt, hour, ad_action) lists in column order
    expect(schema.pkNames).toEqual(reference.pkNames);
  });

  it('orders columns by ORDINAL_POSITION, whatever the row order or number type', () => {
    const schema = buildTableSchema('d', 't', [isColumn('b', '2', 'int', 'int(11)'), isColumn('a', '1', 'int', 'int(11)', { COLUMN_KEY: 'PRI' })]);
    expect(schema.columns.map((c) => c.name)).toEqual(['a', 'b']);
    expect(schema.pkNames).toEqual(['a']);
  });

  it('takes the primary key from primaryKeyColumns when given (COLUMN_KEY shows a NOT NULL unique key as PRI)', () => {
    const rows = [isColumn('id', 1, 'int', 'int(11)', { COLUMN_KEY: 'PRI' }), isColumn('x', 2, 'int', 'int(11)')];
    expect(buildTableSchema('d', 't', rows, { primaryKeyColumns: [] }).pkNames).toEqual([]);
    expect(buildTableSchema('d', 't', rows, { primaryKeyColumns: ['x'] }).pkNames).toEqual(['x']);
  });

  it('rejects an empty column list, spatial and unknown types', () => {
    expect(() => buildTableSchema('d', 't', [])).toThrow(/no columns/);
    expect(() => buildTableSchema('d', 't', [isColumn('g', 1, 'point', 'point')])).toThrow(/spatial columns are not supported/);
    expect(() => buildTableSchema('d', 't', [isColumn('v', 1, 'vector', 'vector(3)')])).toThrow(/unsupported data type vector/);
  });

  // [DATA_TYPE, COLUMN_TYPE, mysqlType, sqlType of a value, sqlType of NULL, value kind], per RowsLogBuffer + LogEventConvert
  const cases: Array<[string, string, string, number, number, string]> = [
    ['tinyint', 'tinyint(4)', 'tinyint(4)', SqlTypes.TINYINT, SqlTypes.TINYINT, 'integer'],
    ['tinyint', 'tinyint(1)', 'tinyint(1)', -6, -6, 'integer'],
    ['tinyint', 'tinyint(3) unsigned', 'tinyint(3) unsigned', -6, -6, 'integer'],
    ['smallint', 'smallint(6)', 'smallint(6)', 5, 5, 'integer'],
    ['mediumint', 'mediumint(8) unsigned', 'mediumint(8) unsigned', 4, 4, 'integer'],
    ['int', 'int(11)', 'int(11)', 4, 4, 'integer'],
    ['int', 'int', 'int', 4, 4, 'integer'],
    ['int', 'int(10) unsigned zerofill', 'int(10) unsigned zerofill', 4, 4, 'integer'],
    ['bigint', 'bigint(20) unsigned', 'bigint(20) unsigned', -5, -5, 'integer'],
    ['decimal', 'decimal(12,2)', 'decimal(12,2)', SqlTypes.DECIMAL, 3, 'decimal'],
    ['float', 'float', 'float', SqlTypes.REAL, 7, 'float'],
    ['float', 'float(7,3)', 'float(7,3)', 7, 7, 'float'],
    ['double', 'double', 'double', SqlTypes.DOUBLE, 8, 'double'],
    ['bit', 'bit(1)', 'bit(1)', SqlTypes.BIT, -7, 'bit'],
    ['date', 'date', 'date', SqlTypes.DATE, 91, 'temporal'],
    ['datetime', 'datetime(3)', 'datetime(3)', SqlTypes.TIMESTAMP, 93, 'temporal'],
    ['timestamp', 'timestamp(6)', 'timestamp(6)', 93, 93, 'timestamp'],
    ['time', 'time', 'time', SqlTypes.TIME, 92, 'temporal'],
    ['year', 'year(4)', 'year(4)', SqlTypes.VARCHAR, 12, 'year'],
    ['char', 'char(36)', 'char(36)', SqlTypes.CHAR, 1, 'text'],
    ['varchar', 'varchar(32)', 'varchar(32)', SqlTypes.VARCHAR, 12, 'text'],
    ['binary', 'binary(16)', 'binary(16)', SqlTypes.BLOB, SqlTypes.BINARY, 'bytes'],
    ['varbinary', 'varbinary(255)', 'varbinary(255)', SqlTypes.BLOB, SqlTypes.VARBINARY, 'bytes'],
    ['tinytext', 'tinytext', 'tinytext', SqlTypes.CLOB, SqlTypes.VARBINARY, 'text'],
    ['text', 'text', 'text', SqlTypes.CLOB, SqlTypes.LONGVARBINARY, 'text'],
    ['mediumtext', 'mediumtext', 'mediumtext', 2005, -4, 'text'],
    // MariaDB JSON is LONGTEXT with a json_valid CHECK: Canal sees longtext, a CLOB
    ['longtext', 'longtext', 'longtext', 2005, -4, 'text'],
    ['tinyblob', 'tinyblob', 'tinyblob', SqlTypes.BLOB, -3, 'bytes'],
    ['blob', 'blob', 'blob', 2004, -4, 'bytes'],
    ['mediumblob', 'mediumblob', 'mediumblob', 2004, -4, 'bytes'],
    ['longblob', 'longblob', 'longblob', 2004, -4, 'bytes'],
    ['enum', "enum('new','paid')", "enum('new','paid')", SqlTypes.INTEGER, 4, 'enum'],
    ['set', "set('a','b')", "set('a','b')", SqlTypes.BIT, SqlTypes.BINARY, 'set'],
    // MySQL JSON: text when set; a NULL falls to RowsLogBuffer's default, OTHER
    ['json', 'json', 'json', SqlTypes.VARCHAR, SqlTypes.OTHER, 'json'],
    ['uuid', 'uuid', 'uuid', SqlTypes.CHAR, 1, 'text'],
    ['inet6', 'inet6', 'inet6', 1, 1, 'text'],
    // MariaDB version comments are not part of the type Canal's DDL parser keeps
    ['varchar', 'varchar(100) /*M!100301 COMPRESSED*/', 'varchar(100)', 12, 12, 'text'],
    ['text', 'text /*M!100301 COMPRESSED*/', 'text', 2005, -4, 'text'],
    ['datetime', 'datetime(3) /* mariadb-5.3 */', 'datetime(3)', 93, 93, 'temporal'],
  ];
  it.each(cases)('%s %s -> %s, sqlType %i (NULL %i)', (dataType, columnType, mysqlType, sqlType, sqlTypeWhenNull, kind) => {
    const [column] = buildTableSchema('d', 't', [isColumn('c', 1, dataType, columnType, { DATETIME_PRECISION: 3, NUMERIC_SCALE: 2 })]).columns;
    expect(column).toMatchObject({ mysqlType, sqlType, sqlTypeWhenNull, value: { kind } });
  });

  it('keeps what values.ts needs: unsigned and width, DECIMAL scale, temporal precision, labels', () => {
    const schema = buildTableSchema('d', 't', [
      isColumn('u', 1, 'bigint', 'bigint(20) unsigned'),
      isColumn('s', 2, 'smallint', 'smallint(6)'),
      isColumn('p', 3, 'decimal', 'decimal(12,4)', { NUMERIC_SCALE: 4 }),
      isColumn('ts', 4, 'timestamp', 'timestamp(3)', { DATETIME_PRECISION: '3' }),
      isColumn('d', 5, 'date', 'date', { DATETIME_PRECISION: null }),
      isColumn('e', 6, 'enum', "enum('a','it''s','x,y')"),
    ]);
    expect(schema.columns.map((c) => c.value)).toEqual([
      { kind: 'integer', byteWidth: 8, unsigned: true },
      { kind: 'integer', byteWidth: 2, unsigned: false },
      { kind: 'decimal', scale: 4 },
      { kind: 'timestamp', fractionDigits: 3, zone: UTC },
      { kind: 'temporal', fractionDigits: 0 },
      { kind: 'enum', labels: ['a', "it's", 'x,y'], zongjiLabels: ['a', "it''s", '', "y'"] },
    ]);
  });

  it('gives TIMESTAMP columns the configured zone', () => {
    const zone = parseTimeZone('+08:00');
    const [ts, dt] = buildTableSchema('d', 't', [isColumn('ts', 1, 'timestamp', 'timestamp'), isColumn('dt', 2, 'datetime', 'datetime')], { timeZone: zone }).columns;
    expect(ts?.value).toEqual({ kind: 'timestamp', fractionDigits: 0, zone });
    expect(dt?.value).toEqual({ kind: 'temporal', fractionDigits: 0 });
  });
});

describe('canalMysqlType', () => {
  it('drops comments and extra blanks, keeps case and arguments', () => {
    expect(canalMysqlType("enum('A','b')")).toBe("enum('A','b')");
    expect(canalMysqlType('varbinary(16)  /*M!100301 COMPRESSED*/ ')).toBe('varbinary(16)');
  });
});

describe('parseEnumLabels', () => {
  it('undoes quoting and both escape styles', () => {
    expect(parseEnumLabels("enum('new','paid','')")).toEqual(['new', 'paid', '']);
    expect(parseEnumLabels("set('a''b','c\\\\d','日期')")).toEqual(["a'b", 'c\\d', '日期']);
  });
});

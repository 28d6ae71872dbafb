/**
 * A table's columns as Canal describes them, built from information_schema.COLUMNS.
 *
 * mysqlType: Canal takes the column type from `SHOW CREATE TABLE` parsed by Druid (TableMetaCache,
 * MemoryTableMeta.processTableElement): type name + arguments + ' unsigned' + ' zerofill'. That is
 * COLUMN_TYPE without version comments (MariaDB's '/*M!100301 COMPRESSED*\/', '/* mariadb-5.3 *\/').
 *
 * sqlType: Canal does not map the declared type; it reports the java.sql.Types code of the value it
 * decoded from the binlog (RowsLogBuffer.mysqlToJavaType / fetchValue), adjusted by LogEventConvert:
 * BINARY/VARBINARY/BLOB/TEXT values become BLOB (2004), or CLOB (2005) when the declared type is exactly
 * tinytext/text/mediumtext/longtext; unsigned integers above the signed range move one type up.
 * Those adjustments apply to non-NULL values only, so a column can have a different code when NULL.
 */

import { UTC, type TimestampZone } from './time-zone.js';

/** java.sql.Types codes Canal emits. */
export const SqlTypes = {
  BIT: -7,
  TINYINT: -6,
  BIGINT: -5,
  LONGVARBINARY: -4,
  VARBINARY: -3,
  BINARY: -2,
  CHAR: 1,
  DECIMAL: 3,
  INTEGER: 4,
  SMALLINT: 5,
  REAL: 7,
  DOUBLE: 8,
  VARCHAR: 12,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  OTHER: 1111,
  BLOB: 2004,
  CLOB: 2005,
} as const;

/** How a decoded value becomes Canal's text; see values.ts. */
export type ColumnValueKind =
  | { kind: 'integer'; byteWidth: 1 | 2 | 3 | 4 | 8; unsigned: boolean }
  | { kind: 'decimal'; scale: number }
  | { kind: 'float' }
  | { kind: 'double' }
  | { kind: 'bit' }
  | { kind: 'temporal'; fractionDigits: number }
  /** TIMESTAMP: an instant, printed in `zone` (time-zone.ts) */
  | { kind: 'timestamp'; fractionDigits: number; zone: TimestampZone }
  | { kind: 'year' }
  | { kind: 'text' }
  | { kind: 'bytes' }
  | { kind: 'enum'; labels: readonly string[]; zongjiLabels: readonly string[] }
  | { kind: 'set'; labels: readonly string[]; zongjiLabels: readonly string[] }
  | { kind: 'json' };

export interface CanalColumn {
  name: string;
  /** information_schema DATA_TYPE, lower case. */
  dataType: string;
  /** What Canal puts in mysqlType. */
  mysqlType: string;
  /** Part of the PRIMARY KEY (Canal's Column.isKey). */
  isKey: boolean;
  /** sqlType Canal reports for a non-NULL value (before the unsigned adjustment). */
  sqlType: number;
  /** sqlType Canal reports for a NULL value. */
  sqlTypeWhenNull: number;
  value: ColumnValueKind;
}

export interface CanalTableSchema {
  database: string;
  table: string;
  /** In table order (ORDINAL_POSITION), the order of binlog row images. */
  columns: readonly CanalColumn[];
  /** PRIMARY KEY columns in table column order (Canal's pkNames), empty when the table has none. */
  pkNames: readonly string[];
}

/** The information_schema.COLUMNS fields used; numbers may arrive as strings (mysql2 bigNumberStrings). */
export interface InformationSchemaColumn {
  COLUMN_NAME: string;
  ORDINAL_POSITION: number | string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  NUMERIC_SCALE: number | string | null;
  DATETIME_PRECISION: number | string | null;
  COLUMN_KEY: string;
}

export interface TableSchemaOptions {
  /**
   * The PRIMARY KEY columns, when known from information_schema.STATISTICS (INDEX_NAME = 'PRIMARY').
   * Without it COLUMN_KEY = 'PRI' is used, which MySQL also shows for a NOT NULL UNIQUE key of a table
   * without a primary key; Canal reads SHOW CREATE TABLE and sees no key there.
   */
  primaryKeyColumns?: readonly string[];
  /** The zone TIMESTAMP values are printed in (CDC_TIMEZONE); UTC when not given. */
  timeZone?: TimestampZone;
}

const INTEGER_TYPES: Record<string, { byteWidth: 1 | 2 | 3 | 4 | 8; sqlType: number }> = {
  tinyint: { byteWidth: 1, sqlType: SqlTypes.TINYINT },
  smallint: { byteWidth: 2, sqlType: SqlTypes.SMALLINT },
  mediumint: { byteWidth: 3, sqlType: SqlTypes.INTEGER },
  int: { byteWidth: 4, sqlType: SqlTypes.INTEGER },
  integer: { byteWidth: 4, sqlType: SqlTypes.INTEGER },
  bigint: { byteWidth: 8, sqlType: SqlTypes.BIGINT },
};

/** Binlog MYSQL_TYPE_BLOB packs TINYBLOB/TINYTEXT with a 1-byte length (RowsLogBuffer: VARBINARY), the rest LONGVARBINARY. */
const BLOB_NULL_SQL_TYPES: Record<string, number> = {
  tinyblob: SqlTypes.VARBINARY,
  tinytext: SqlTypes.VARBINARY,
  blob: SqlTypes.LONGVARBINARY,
  text: SqlTypes.LONGVARBINARY,
  mediumblob: SqlTypes.LONGVARBINARY,
  mediumtext: SqlTypes.LONGVARBINARY,
  longblob: SqlTypes.LONGVARBINARY,
  longtext: SqlTypes.LONGVARBINARY,
};

const GEOMETRY_TYPES = new Set(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection']);

/** COLUMN_TYPE as Canal's Druid-parsed SHOW CREATE TABLE renders it: comments dropped. */
export function canalMysqlType(columnType: string): string {
  return columnType.replace(/\/\*.*?\*\//gs, '').replace(/\s+/g, ' ').trim();
}

/** LogEventConvert.isText: the declared type is exactly one of the TEXT types (case-insensitive). */
function isCanalText(mysqlType: string): boolean {
  return ['longtext', 'mediumtext', 'text', 'tinytext'].includes(mysqlType.toLowerCase());
}

/** Labels of enum('a','b''c') / set(...) as the server declares them: quotes removed, '' and backslash escapes undone. */
export function parseEnumLabels(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const labels: string[] = [];
  let i = open + 1;
  while (i > 0 && i < columnType.length && columnType[i] === "'") {
    let label = '';
    i++;
    while (i < columnType.length) {
      const c = columnType[i];
      if (c === "'" && columnType[i + 1] === "'") {
        label += "'";
        i += 2;
      } else if (c === "'") {
        i++;
        break;
      } else if (c === '\\' && i + 1 < columnType.length) {
        label += columnType[i + 1];
        i += 2;
      } else {
        label += c;
        i++;
      }
    }
    labels.push(label);
    if (columnType[i] === ',') i++;
  }
  return labels;
}

/** The labels zongji derives from COLUMN_TYPE when the binlog has no value list: split on ',' and strip one quote each side. */
function zongjiEnumLabels(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const close = columnType.lastIndexOf(')');
  return columnType
    .slice(open + 1, close)
    .split(',')
    .map((option) => (option.startsWith("'") || option.startsWith('"') ? option.slice(1, -1) : option));
}

function toNumber(value: number | string | null): number {
  return value === null ? 0 : Number(value);
}

function describeColumn(row: InformationSchemaColumn, isKey: boolean, zone: TimestampZone): CanalColumn {
  const dataType = row.DATA_TYPE.toLowerCase();
  const mysqlType = canalMysqlType(row.COLUMN_TYPE);
  const column = (sqlType: number, sqlTypeWhenNull: number, value: ColumnValueKind): CanalColumn => ({
    name: row.COLUMN_NAME,
    dataType,
    mysqlType,
    isKey,
    sqlType,
    sqlTypeWhenNull,
    value,
  });
  const integer = INTEGER_TYPES[dataType];
  if (integer !== undefined) {
    // FieldMeta.isUnsigned: the declared type mentions unsigned (zerofill implies it in COLUMN_TYPE).
    const unsigned = /unsigned/i.test(mysqlType);
    return column(integer.sqlType, integer.sqlType, { kind: 'integer', byteWidth: integer.byteWidth, unsigned });
  }
  // LogEventConvert treats any declared type containing BINARY as binary (issue #66).
  const isBinary = /binary/i.test(mysqlType);
  switch (dataType) {
    case 'decimal':
    case 'numeric':
      return column(SqlTypes.DECIMAL, SqlTypes.DECIMAL, { kind: 'decimal', scale: toNumber(row.NUMERIC_SCALE) });
    case 'float':
      return column(SqlTypes.REAL, SqlTypes.REAL, { kind: 'float' });
    case 'double':
    case 'real':
    case 'double precision':
      return column(SqlTypes.DOUBLE, SqlTypes.DOUBLE, { kind: 'double' });
    case 'bit':
      return column(SqlTypes.BIT, SqlTypes.BIT, { kind: 'bit' });
    case 'date':
      return column(SqlTypes.DATE, SqlTypes.DATE, { kind: 'temporal', fractionDigits: 0 });
    case 'datetime':
      return column(SqlTypes.TIMESTAMP, SqlTypes.TIMESTAMP, { kind: 'temporal', fractionDigits: toNumber(row.DATETIME_PRECISION) });
    case 'timestamp':
      return column(SqlTypes.TIMESTAMP, SqlTypes.TIMESTAMP, { kind: 'timestamp', fractionDigits: toNumber(row.DATETIME_PRECISION), zone });
    case 'time':
      return column(SqlTypes.TIME, SqlTypes.TIME, { kind: 'temporal', fractionDigits: toNumber(row.DATETIME_PRECISION) });
    case 'year':
      return column(SqlTypes.VARCHAR, SqlTypes.VARCHAR, { kind: 'year' });
    case 'char':
    case 'binary':
      // MYSQL_TYPE_STRING: CHAR, or BINARY when the type says binary; a binary value is re-typed BLOB.
      return isBinary ? column(SqlTypes.BLOB, SqlTypes.BINARY, { kind: 'bytes' }) : column(SqlTypes.CHAR, SqlTypes.CHAR, { kind: 'text' });
    case 'varchar':
    case 'varbinary':
      // MYSQL_TYPE_VARCHAR: VARCHAR, or VARBINARY when the type says binary; a binary value is re-typed BLOB.
      return isBinary ? column(SqlTypes.BLOB, SqlTypes.VARBINARY, { kind: 'bytes' }) : column(SqlTypes.VARCHAR, SqlTypes.VARCHAR, { kind: 'text' });
    case 'enum':
      return column(SqlTypes.INTEGER, SqlTypes.INTEGER, { kind: 'enum', labels: parseEnumLabels(row.COLUMN_TYPE), zongjiLabels: zongjiEnumLabels(row.COLUMN_TYPE) });
    case 'set':
      // RowsLogBuffer decodes a SET value as BIT but maps a NULL one to BINARY.
      return column(SqlTypes.BIT, SqlTypes.BINARY, { kind: 'set', labels: parseEnumLabels(row.COLUMN_TYPE), zongjiLabels: zongjiEnumLabels(row.COLUMN_TYPE) });
    case 'json':
      // MySQL's binary JSON: decoded to text (VARCHAR); a NULL one falls to mysqlToJavaType's default, OTHER.
      return column(SqlTypes.VARCHAR, SqlTypes.OTHER, { kind: 'json' });
    case 'uuid':
    case 'inet4':
    case 'inet6':
      // MariaDB types carried as MYSQL_TYPE_STRING; zongji renders them as the server prints them.
      return column(SqlTypes.CHAR, SqlTypes.CHAR, { kind: 'text' });
  }
  const blobNullType = BLOB_NULL_SQL_TYPES[dataType];
  if (blobNullType !== undefined) {
    return isCanalText(mysqlType) ? column(SqlTypes.CLOB, blobNullType, { kind: 'text' }) : column(SqlTypes.BLOB, blobNullType, { kind: 'bytes' });
  }
  if (GEOMETRY_TYPES.has(dataType)) {
    throw new Error(
      `column ${row.COLUMN_NAME} is ${dataType}: spatial columns are not supported (zongji decodes them to coordinates and drops the SRID, so Canal's WKB text cannot be rebuilt)`,
    );
  }
  throw new Error(`column ${row.COLUMN_NAME}: unsupported data type ${dataType} (${row.COLUMN_TYPE})`);
}

export function buildTableSchema(database: string, table: string, rows: readonly InformationSchemaColumn[], options: TableSchemaOptions = {}): CanalTableSchema {
  if (rows.length === 0) throw new Error(`no columns for ${database}.${table}`);
  const ordered = [...rows].sort((a, b) => Number(a.ORDINAL_POSITION) - Number(b.ORDINAL_POSITION));
  const primaryKey = options.primaryKeyColumns;
  const zone = options.timeZone ?? UTC;
  const columns = ordered.map((row) => describeColumn(row, primaryKey !== undefined ? primaryKey.includes(row.COLUMN_NAME) : row.COLUMN_KEY === 'PRI', zone));
  return { database, table, columns, pkNames: columns.filter((c) => c.isKey).map((c) => c.name) };
}

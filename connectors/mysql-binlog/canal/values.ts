/**
 * A decoded column value (from zongji's row images, or a mysql2 snapshot row) as Canal's text, with the
 * java.sql.Types code Canal reports for it (LogEventConvert.parseOneRow over RowsLogBuffer.fetchValue).
 *
 * The decoding side must be configured so that nothing is lost before this point:
 * - dateStrings: true. DATE/DATETIME/TIMESTAMP/TIME arrive as the server's text with every fractional
 *   digit; a Date would drop microseconds and zero dates. TIMESTAMP must arrive in UTC (zongji's
 *   `timezone: 'Z'`, a snapshot session with time_zone '+00:00'): it is rendered here in the column's
 *   zone (CDC_TIMEZONE), as Canal renders it in its JVM's zone (java.sql.Timestamp).
 * - jsonStrings: true for MySQL's binary JSON (MariaDB's JSON is LONGTEXT and always text).
 * - decimalNumbers unset: DECIMAL arrives as an exact string. BIGINT arrives as a number up to 2^53 and
 *   as an exact string beyond (zongji always; mysql2 with supportBigNumbers + bigNumberStrings).
 * - FLOAT/DOUBLE as the stored value (zongji), or text that reads back as it: the server's text for a
 *   FLOAT keeps 6 significant digits, so a snapshot should read CAST(col AS DOUBLE) for FLOAT columns.
 */
import { SqlTypes } from './column-types.js';
import type { CanalColumn } from './column-types.js';
import { javaDoubleToString, javaFloatToString } from './java-lang.js';
import { zonedTimestampText } from './time-zone.js';

export interface CanalValue {
  /** Canal's text for the value; null for SQL NULL. */
  value: string | null;
  sqlType: number;
}

/** Signed maximum per integer width, and the type LogEventConvert reports once an unsigned value exceeds it. */
const SIGNED_RANGE = {
  1: { max: 127n, widerSqlType: SqlTypes.SMALLINT },
  2: { max: 32767n, widerSqlType: SqlTypes.INTEGER },
  3: { max: 8388607n, widerSqlType: SqlTypes.INTEGER },
  4: { max: 2147483647n, widerSqlType: SqlTypes.BIGINT },
  8: { max: 9223372036854775807n, widerSqlType: SqlTypes.DECIMAL },
} as const;

class ColumnValueError extends TypeError {
  constructor(column: CanalColumn, raw: unknown, expectation: string) {
    const shown = Buffer.isBuffer(raw) ? `Buffer(${raw.length})` : raw instanceof Date ? `Date ${String(raw)}` : `${typeof raw} ${String(raw)}`;
    super(`column ${column.name} (${column.mysqlType}): got ${shown}; ${expectation}`);
    this.name = 'ColumnValueError';
  }
}

function integerText(column: CanalColumn, raw: unknown): string {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw);
  if (typeof raw === 'bigint') return raw.toString();
  if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return raw;
  throw new ColumnValueError(column, raw, 'expected an integer (a number within 2^53, else an exact string)');
}

function decimalText(column: CanalColumn, raw: unknown, scale: number): string {
  if (typeof raw !== 'string' || !/^-?\d+(\.\d*)?$/.test(raw)) {
    throw new ColumnValueError(column, raw, 'expected an exact decimal string (do not set decimalNumbers)');
  }
  // BigDecimal.toPlainString of the binlog value carries exactly `scale` fraction digits.
  const dot = raw.indexOf('.');
  if (scale === 0) return dot === -1 ? raw : raw.slice(0, dot);
  // zongji already prints `scale` digits: the text is the value (no allocation on the hot path).
  if (dot !== -1 && raw.length - dot - 1 >= scale) return raw;
  return `${dot === -1 ? raw : raw.slice(0, dot)}.${(dot === -1 ? '' : raw.slice(dot + 1)).padEnd(scale, '0')}`;
}

function floatingValue(column: CanalColumn, raw: unknown): number {
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ColumnValueError(column, raw, 'expected a number');
  return value;
}

function temporalText(column: CanalColumn, raw: unknown, fractionDigits: number): string {
  if (typeof raw !== 'string') throw new ColumnValueError(column, raw, 'expected the server text of the value (set dateStrings: true)');
  if (fractionDigits === 0) return raw;
  const dot = raw.indexOf('.');
  if (dot !== -1 && raw.length - dot - 1 >= fractionDigits) return raw;
  const fraction = dot === -1 ? '' : raw.slice(dot + 1);
  return `${dot === -1 ? raw : raw.slice(0, dot)}.${fraction.padEnd(fractionDigits, '0')}`;
}

/** RowsLogBuffer reads YEAR as one byte: 0 prints "0000", otherwise 1900 + byte. zongji turns the byte 0 into 1900. */
function yearText(column: CanalColumn, raw: unknown): string {
  const year = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof year !== 'number' || !Number.isInteger(year)) throw new ColumnValueError(column, raw, 'expected a year number');
  return year === 0 || year === 1900 ? '0000' : String(year);
}

/**
 * Binary values: `new String(bytes, "ISO-8859-1")`, one char per byte, so consumers can recover the bytes.
 * BINARY(n) is the full n bytes, as SELECT returns it (and the snapshot reads it): the binlog drops
 * trailing zero bytes, which zongji restores and Canal does not.
 */
function bytesText(column: CanalColumn, raw: unknown): string {
  if (Buffer.isBuffer(raw)) return raw.toString('latin1');
  if (typeof raw === 'string') return raw;
  throw new ColumnValueError(column, raw, 'expected a Buffer');
}

function text(column: CanalColumn, raw: unknown): string {
  if (typeof raw === 'string') return raw;
  // zongji hands back the raw bytes when iconv has no decoder for the column's charset.
  if (Buffer.isBuffer(raw)) return raw.toString('latin1');
  throw new ColumnValueError(column, raw, 'expected a string');
}

/** BIT is an unsigned big-endian integer of the column's bytes (RowsLogBuffer: getUint8 ... getBeUlong64). */
function bitText(column: CanalColumn, raw: unknown): string {
  if (Buffer.isBuffer(raw)) return raw.length === 0 ? '0' : BigInt(`0x${raw.toString('hex')}`).toString();
  if (typeof raw === 'number' || typeof raw === 'bigint') return raw.toString();
  throw new ColumnValueError(column, raw, 'expected a Buffer');
}

/** Position of a label, 1-based; zongji's own label list is the fallback when it split COLUMN_TYPE naively. */
function labelPosition(label: string, labels: readonly string[], zongjiLabels: readonly string[]): number {
  const declared = labels.indexOf(label);
  return declared !== -1 ? declared + 1 : zongjiLabels.indexOf(label) + 1;
}

/** Canal reports an ENUM as its 1-based index (RowsLogBuffer MYSQL_TYPE_ENUM), 0 for the invalid-value ''. */
function enumText(column: CanalColumn, raw: unknown, labels: readonly string[], zongjiLabels: readonly string[]): string {
  // zongji yields undefined for index 0 (it looks up choices[-1]); a snapshot reads ''.
  if (raw === undefined) return '0';
  if (typeof raw === 'number' && Number.isInteger(raw)) return String(raw);
  if (typeof raw !== 'string') throw new ColumnValueError(column, raw, 'expected an enum label');
  const position = labelPosition(raw, labels, zongjiLabels);
  if (position === 0 && raw !== '') throw new ColumnValueError(column, raw, `not one of ${labels.join(',')}`);
  return String(position);
}

/** Canal reports a SET as its bitmask (RowsLogBuffer MYSQL_TYPE_SET, unsigned). */
function setText(column: CanalColumn, raw: unknown, labels: readonly string[], zongjiLabels: readonly string[]): string {
  if (typeof raw !== 'string') throw new ColumnValueError(column, raw, 'expected comma-separated set labels');
  let mask = 0n;
  for (const label of raw === '' ? [] : raw.split(',')) {
    const position = labelPosition(label, labels, zongjiLabels);
    if (position === 0) throw new ColumnValueError(column, raw, `${label} is not one of ${labels.join(',')}`);
    mask |= 1n << BigInt(position - 1);
  }
  return mask.toString();
}

export function toCanalValue(column: CanalColumn, raw: unknown): CanalValue {
  const value = canalText(column, raw);
  return { value, sqlType: canalSqlType(column, value) };
}

/** Canal's text for a decoded value, null for SQL NULL: toCanalValue(column, raw).value without the object. */
export function canalText(column: CanalColumn, raw: unknown): string | null {
  if (raw === null) return null;
  const kind = column.value;
  switch (kind.kind) {
    case 'integer':
      return integerText(column, raw);
    case 'decimal':
      return decimalText(column, raw, kind.scale);
    case 'float':
      return javaFloatToString(floatingValue(column, raw));
    case 'double':
      return javaDoubleToString(floatingValue(column, raw));
    case 'bit':
      return bitText(column, raw);
    case 'temporal':
      return temporalText(column, raw, kind.fractionDigits);
    case 'timestamp':
      return zonedTimestampText(temporalText(column, raw, kind.fractionDigits), kind.zone);
    case 'year':
      return yearText(column, raw);
    case 'text':
      return text(column, raw);
    case 'bytes':
      return bytesText(column, raw);
    case 'enum':
      return enumText(column, raw, kind.labels, kind.zongjiLabels);
    case 'set':
      return setText(column, raw, kind.labels, kind.zongjiLabels);
    case 'json':
      if (typeof raw !== 'string') throw new ColumnValueError(column, raw, 'expected JSON text (set jsonStrings: true)');
      return raw;
  }
}

/** The sqlType Canal reports for a value whose Canal text (canalText) is `value`: toCanalValue(column, raw).sqlType. */
export function canalSqlType(column: CanalColumn, value: string | null): number {
  if (value === null) return column.sqlTypeWhenNull;
  const kind = column.value;
  if (kind.kind === 'integer' && kind.unsigned) {
    const range = SIGNED_RANGE[kind.byteWidth];
    // Up to 15 digits a Number is exact; longer texts compare as BigInt.
    if (value.length <= 15 ? Number(value) > Number(range.max) : BigInt(value) > range.max) return range.widerSqlType;
  }
  return column.sqlType;
}

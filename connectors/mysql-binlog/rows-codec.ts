/**
 * Binlog rows events decoded straight from their bytes into Canal flat messages.
 *
 * zongji turns every row into an object of decoded values (and every DECIMAL into a copied Buffer and
 * a handful of strings), which the encoder then turns into Canal rows and JSON: ~10 µs and a dozen
 * objects per row. Here the row images are read in place and each value is written as its Canal JSON
 * bytes, straight from its binary form where the Canal text is the value zongji reads unchanged
 * (integers, decimals and temporals of the declared scale, text, binary), else through canalText; the
 * messages go to the record batches as byte ranges. The values are read exactly as zongji reads them
 * (same options as binlog-reader.ts: dateStrings, timezone 'Z', bigNumberStrings), so a message is byte
 * for byte what the decoded path builds (test/cdc/raw-rows.it.test.ts); tables with a column type this
 * reader does not cover (MySQL binary JSON, spatial, MariaDB compressed columns and 5.3 temporal
 * formats, non-UTF-8 text) keep the decoded path.
 */
import type { ColumnInfo, ColumnSchema, TableMapEntry } from '@vlasky/zongji';
import type { CanalColumn, CanalTableSchema, ColumnValueKind } from './canal/column-types.js';
import { emptyRecord, type CanalFlatMessage, type FlatMessageWriter } from './canal/flat-message.js';
import type { CanalMqRouter, RowPartitioner } from './canal/routing.js';
import type { MessageEnvelope } from './canal/row-event.js';
import { civilFromDays } from './canal/time-zone.js';
import { canalSqlType, canalText } from './canal/values.js';
import { JsonBytes } from './json-bytes.js';
import { ValueParts, type RecordSink } from './record-batch.js';

/** Binlog column type codes (MYSQL_TYPE_*), after zongji resolved ENUM/SET from STRING's metadata. */
const T = {
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  YEAR: 13,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  STRING: 254,
} as const;

/** WRITE/UPDATE/DELETE_ROWS_EVENT v1 (MariaDB) and v2 (MySQL); MariaDB's compressed variants stay with zongji. */
const ROWS_EVENT_KINDS: Record<number, { kind: RowsKind; v2: boolean }> = {
  0x17: { kind: 'insert', v2: false },
  0x18: { kind: 'update', v2: false },
  0x19: { kind: 'delete', v2: false },
  0x1e: { kind: 'insert', v2: true },
  0x1f: { kind: 'update', v2: true },
  0x20: { kind: 'delete', v2: true },
};

export type RowsKind = 'insert' | 'update' | 'delete';

/** A rows event as read from the wire, not yet decoded. */
export interface RawRowsEvent {
  kind: RowsKind;
  tableMap: TableMapEntry & { columns: ColumnInfo[] };
  buf: Buffer;
  /** columns-present bitmaps (before and, for updates, after image) */
  present: Buffer;
  presentAfter: Buffer;
  rowsStart: number;
  rowsEnd: number;
  rowCount: number;
}

const UTF8_CHARSETS = new Set(['utf8', 'utf8mb3', 'utf8mb4']);
/** 2^(8 × bytes) per integer width of up to 4 bytes. */
const INT_RANGE = [1, 2 ** 8, 2 ** 16, 2 ** 24, 2 ** 32];
const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
const ZEROS = '00000000000000000000000000000000';

/** zongji's zeroPad: the last `size` characters of the number left-padded with zeros. */
function zeroPad(num: number | string, size: number): string {
  const s = typeof num === 'string' ? num : String(num);
  return s.length >= size ? s.substring(s.length - size) : ZEROS.substring(0, size - s.length) + s;
}

/** zongji's sliceBits(input, start, end). */
function sliceBits(input: number, start: number, end: number): number {
  return (input & (((1 << end) - 1) ^ ((1 << start) - 1))) >> start;
}

/** Unsigned little-endian integer of 1 to 4 bytes (Buffer.readUIntLE without its generic dispatch). */
function readUInt(buf: Buffer, at: number, size: number): number {
  switch (size) {
    case 1:
      return buf[at] as number;
    case 2:
      return (buf[at] as number) | ((buf[at + 1] as number) << 8);
    case 3:
      return (buf[at] as number) | ((buf[at + 1] as number) << 8) | ((buf[at + 2] as number) << 16);
    default:
      return buf.readUInt32LE(at);
  }
}

function readIntBE(buf: Buffer, at: number, length: number): number {
  switch (length) {
    case 1:
      return buf.readInt8(at);
    case 2:
      return buf.readInt16BE(at);
    case 3:
      return (buf.readInt8(at) << 16) + buf.readUInt16BE(at + 1);
    default:
      return buf.readInt32BE(at);
  }
}

/** Per column: how its value is laid out in a row image, and what zongji would make of it. */
interface ColumnReader {
  type: number;
  /** integer width, BIT/ENUM/SET bytes, DECIMAL bytes, length-prefix bytes, or fractional-second digits */
  size: number;
  unsigned: boolean;
  /** NEWDECIMAL precision and scale */
  precision: number;
  scale: number;
  /** VARCHAR/STRING: 'text', 'binary' (zero-padded to width) or 'varbinary'; BLOBs: 'text' or 'bytes' */
  bytes: 'text' | 'binary' | 'varbinary' | 'bytes';
  width: number;
  /** ENUM/SET labels as zongji reads them */
  labels: readonly string[];
}

function zongjiLabels(schema: ColumnSchema, values: string[] | undefined, prefix: number): string[] {
  if (values !== undefined) return values;
  const type = schema.COLUMN_TYPE;
  return type
    .substr(prefix, type.length - prefix - 1)
    .split(',')
    .map((option) => (option[0] === '"' || option[0] === "'" ? option.substr(1, option.length - 2) : option));
}

function metadataNumber(column: ColumnInfo, key: string): number {
  const value = column.metadata?.[key];
  return typeof value === 'number' ? value : Number.NaN;
}

/** The reader of one column, or undefined when this module does not decode its type. */
function columnReader(column: ColumnInfo, schema: ColumnSchema): ColumnReader | undefined {
  const base: ColumnReader = { type: column.type, size: 0, unsigned: false, precision: 0, scale: 0, bytes: 'text', width: 0, labels: [] };
  const textual = column.charset === null || column.charset === undefined || UTF8_CHARSETS.has(column.charset);
  switch (column.type) {
    case T.TINY:
    case T.SHORT:
    case T.INT24:
    case T.LONG:
    case T.LONGLONG: {
      const size = column.type === T.TINY ? 1 : column.type === T.SHORT ? 2 : column.type === T.INT24 ? 3 : column.type === T.LONG ? 4 : 8;
      // zongji: the binlog's signedness when it has one, else the declared type.
      const unsigned = schema.UNSIGNED !== undefined ? schema.UNSIGNED : schema.COLUMN_TYPE.indexOf('unsigned') !== -1;
      return { ...base, size, unsigned };
    }
    case T.FLOAT:
    case T.DOUBLE:
    case T.DATE:
    case T.YEAR:
      return base;
    case T.NEWDECIMAL: {
      const precision = metadataNumber(column, 'precision');
      const scale = metadataNumber(column, 'decimals');
      if (!Number.isInteger(precision) || !Number.isInteger(scale)) return undefined;
      const intg = precision - scale;
      const size = Math.floor(intg / 9) * 4 + (DIG2BYTES[intg % 9] ?? 0) + Math.floor(scale / 9) * 4 + (DIG2BYTES[scale % 9] ?? 0);
      return { ...base, precision, scale, size };
    }
    case T.TIMESTAMP2:
    case T.DATETIME2:
    case T.TIME2: {
      const decimals = metadataNumber(column, 'decimals');
      return Number.isInteger(decimals) ? { ...base, size: decimals } : undefined;
    }
    case T.BIT: {
      const bits = metadataNumber(column, 'bits');
      return Number.isInteger(bits) ? { ...base, size: Math.floor((bits + 7) / 8) } : undefined;
    }
    case T.ENUM:
    case T.SET: {
      const size = metadataNumber(column, 'size');
      if (![1, 2, 3, 4, 8].includes(size) || (column.type === T.ENUM && size > 2)) return undefined;
      const labels = column.type === T.ENUM ? zongjiLabels(schema, schema.ENUM_VALUES, 5) : zongjiLabels(schema, schema.SET_VALUES, 4);
      return { ...base, size, labels };
    }
    case T.VARCHAR:
    case T.STRING: {
      const maxLength = metadataNumber(column, 'max_length');
      if (!Number.isInteger(maxLength)) return undefined;
      const def = schema.COLUMN_TYPE;
      const prefix = def.substr(0, 6);
      // MariaDB's uuid/inet4/inet6/vector ride on these codes with their own text forms: zongji's.
      if (def === 'uuid' || def === 'inet4' || def === 'inet6' || prefix === 'vector') return undefined;
      const size = maxLength > 255 ? 2 : 1;
      if (prefix === 'binary') return { ...base, size, bytes: 'binary', width: parseInt(def.substr(7, def.length - 2), 10) };
      if (prefix === 'varbin') return { ...base, size, bytes: 'varbinary' };
      return textual ? { ...base, size } : undefined;
    }
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB: {
      const size = metadataNumber(column, 'length_size');
      if (![1, 2, 3, 4].includes(size)) return undefined;
      // zongji decodes a BLOB whose charset is null (binary collation) as bytes, any other as text.
      if (column.charset === null) return { ...base, size, bytes: 'bytes' };
      return textual ? { ...base, size } : undefined;
    }
    default:
      return undefined;
  }
}

const readers = new WeakMap<TableMapEntry, ColumnReader[] | null>();

/** The column readers of a table, or null when some column needs zongji. */
function readersOf(tableMap: TableMapEntry): ColumnReader[] | null {
  let cached = readers.get(tableMap);
  if (cached === undefined) {
    const columns = tableMap.columns ?? [];
    const list: ColumnReader[] = [];
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as ColumnInfo;
      const schema = tableMap.columnSchemas[i];
      const reader = schema === undefined ? undefined : columnReader(column, schema);
      if (reader === undefined) break;
      list.push(reader);
    }
    cached = columns.length > 0 && list.length === columns.length ? list : null;
    readers.set(tableMap, cached);
  }
  return cached;
}

function bitSet(bitmap: Buffer, index: number): boolean {
  return ((bitmap[index >> 3] as number) & (1 << (index & 7))) !== 0;
}

function countBits(bitmap: Buffer, columns: number): number {
  let n = 0;
  for (let i = 0; i < columns; i++) if (bitSet(bitmap, i)) n += 1;
  return n;
}

/** Bytes of one non-NULL value at `at`. */
function valueWidth(r: ColumnReader, buf: Buffer, at: number): number {
  switch (r.type) {
    case T.TINY:
    case T.SHORT:
    case T.INT24:
    case T.LONG:
    case T.LONGLONG:
    case T.NEWDECIMAL:
    case T.BIT:
    case T.ENUM:
    case T.SET:
      return r.size;
    case T.FLOAT:
      return 4;
    case T.DOUBLE:
      return 8;
    case T.DATE:
      return 3;
    case T.YEAR:
      return 1;
    case T.TIMESTAMP2:
      return 4 + Math.ceil(r.size / 2);
    case T.DATETIME2:
      return 5 + Math.ceil(r.size / 2);
    case T.TIME2:
      return 3 + Math.ceil(r.size / 2);
    default:
      // length-prefixed: VARCHAR, STRING, BLOBs
      return r.size + readUInt(buf, at, r.size);
  }
}

/** Offset after one row image starting at `at`. */
function skipImage(list: ColumnReader[], present: Buffer, presentCount: number, buf: Buffer, at: number): number {
  const nulls = buf.subarray(at, at + ((presentCount + 7) >> 3));
  let p = at + nulls.length;
  for (let i = 0, n = 0; i < list.length; i++) {
    if (!bitSet(present, i)) continue;
    if (!bitSet(nulls, n++)) p += valueWidth(list[i] as ColumnReader, buf, p);
  }
  return p;
}

/**
 * The rows event at buf[start, end) (the event after its 19-byte header, checksum excluded) when its
 * table decodes here; undefined for zongji. Counts its rows (a length walk over the images).
 */
export function captureRowsEvent(typeCode: number, tableMap: TableMapEntry, buf: Buffer, start: number, end: number): RawRowsEvent | undefined {
  const type = ROWS_EVENT_KINDS[typeCode];
  if (type === undefined) return undefined;
  const list = readersOf(tableMap);
  const columns = tableMap.columns;
  if (list === null || columns === undefined) return undefined;
  // post header: table id (6), flags (2); v2: extra data (its length includes its own 2 bytes)
  let p = start + 8;
  if (type.v2) p += buf.readUInt16LE(p);
  const first = buf[p] as number;
  let columnCount = first;
  if (first >= 251) {
    const width = first === 252 ? 2 : first === 253 ? 3 : 8;
    columnCount = buf.readUIntLE(p + 1, Math.min(width, 6));
    p += width;
  }
  p += 1;
  if (columnCount !== columns.length) return undefined;
  const bitmapBytes = (columnCount + 7) >> 3;
  const present = buf.subarray(p, p + bitmapBytes);
  p += bitmapBytes;
  let presentAfter = present;
  if (type.kind === 'update') {
    presentAfter = buf.subarray(p, p + bitmapBytes);
    p += bitmapBytes;
  }
  const rowsStart = p;
  const presentCount = countBits(present, columnCount);
  const presentAfterCount = countBits(presentAfter, columnCount);
  let rowCount = 0;
  while (p < end) {
    p = skipImage(list, present, presentCount, buf, p);
    if (type.kind === 'update') p = skipImage(list, presentAfter, presentAfterCount, buf, p);
    rowCount += 1;
  }
  if (p !== end) throw new Error(`${tableMap.parentSchema}.${tableMap.tableName}: rows event images overrun the event by ${p - end} bytes`);
  return { kind: type.kind, tableMap: tableMap as RawRowsEvent['tableMap'], buf, present, presentAfter, rowsStart, rowsEnd: end, rowCount };
}

/** Reads values one after the other: what zongji's readMysqlValue returns for the column. */
class ImageReader {
  pos = 0;
  private readonly scratch = Buffer.alloc(64);

  constructor(public buf: Buffer) {}

  value(r: ColumnReader): unknown {
    const buf = this.buf;
    const at = this.pos;
    switch (r.type) {
      case T.TINY:
      case T.SHORT:
      case T.INT24:
      case T.LONG: {
        this.pos += r.size;
        const u = readUInt(buf, at, r.size);
        const range = INT_RANGE[r.size] as number;
        return !r.unsigned && u >= range / 2 ? u - range : u;
      }
      case T.LONGLONG: {
        this.pos += 8;
        const low = buf.readUInt32LE(at);
        const high = buf.readUInt32LE(at + 4);
        // Within 2^53 a Number; beyond, the exact text (zongji gives Number or string, the text is the same).
        if (high < 0x200000) return high * 0x100000000 + low;
        const value = (BigInt(high) << 32n) | BigInt(low);
        return (r.unsigned ? value : BigInt.asIntN(64, value)).toString();
      }
      case T.FLOAT:
        this.pos += 4;
        return buf.readFloatLE(at);
      case T.DOUBLE:
        this.pos += 8;
        return buf.readDoubleLE(at);
      case T.NEWDECIMAL:
        this.pos += r.size;
        return this.decimal(r, at);
      case T.DATE: {
        this.pos += 3;
        const raw = readUInt(buf, at, 3);
        return `${zeroPad(sliceBits(raw, 9, 24), 4)}-${zeroPad(sliceBits(raw, 5, 9), 2)}-${zeroPad(sliceBits(raw, 0, 5), 2)}`;
      }
      case T.YEAR:
        this.pos += 1;
        return (buf[at] as number) + 1900;
      case T.DATETIME2: {
        const high = readIntBE(buf, at, 4);
        const low = readIntBE(buf, at + 1, 4);
        this.pos += 5;
        const fraction = this.fraction(r.size);
        const yearMonth = sliceBits(high, 14, 31);
        return (
          `${zeroPad(Math.floor(yearMonth / 13), 4)}-${zeroPad(yearMonth % 13, 2)}-${zeroPad(sliceBits(low, 17, 22), 2)} ` +
          `${zeroPad(sliceBits(low, 12, 17), 2)}:${zeroPad(sliceBits(low, 6, 12), 2)}:${zeroPad(sliceBits(low, 0, 6), 2)}${fractionText(fraction, r.size)}`
        );
      }
      case T.TIMESTAMP2: {
        const seconds = readIntBE(buf, at, 4);
        this.pos += 4;
        const fraction = this.fraction(r.size);
        if (seconds === 0 && (fraction === undefined || fraction === 0)) return `0000-00-00 00:00:00${fractionText(fraction, r.size)}`;
        // TIMESTAMP in UTC (binlog-reader's timezone 'Z'), with zongji's milliseconds rounding of the Date.
        const d = new Date(seconds * 1000 + (fraction === undefined ? 0 : milliseconds(fraction, r.size)));
        return (
          `${zeroPad(d.getUTCFullYear(), 4)}-${zeroPad(d.getUTCMonth() + 1, 2)}-${zeroPad(d.getUTCDate(), 2)} ` +
          `${zeroPad(d.getUTCHours(), 2)}:${zeroPad(d.getUTCMinutes(), 2)}:${zeroPad(d.getUTCSeconds(), 2)}${fractionText(fraction, r.size)}`
        );
      }
      case T.TIME2: {
        let raw = readIntBE(buf, at, 3);
        this.pos += 3;
        const fraction = this.fraction(r.size);
        const negative = (raw & (1 << 23)) === 0;
        if (negative) raw = raw ^ ((1 << 24) - 1);
        const hour = sliceBits(raw, 12, 22);
        let second = sliceBits(raw, 0, 6);
        if (negative && (fraction === undefined || fraction === 0)) second += 1;
        return `${negative ? '-' : ''}${zeroPad(hour, hour > 99 ? 3 : 2)}:${zeroPad(sliceBits(raw, 6, 12), 2)}:${zeroPad(second, 2)}${fractionText(fraction, r.size)}`;
      }
      case T.BIT:
        this.pos += r.size;
        return buf.subarray(at, at + r.size);
      case T.ENUM: {
        this.pos += r.size;
        return r.labels[buf.readUIntLE(at, r.size) - 1];
      }
      case T.SET:
        this.pos += r.size;
        return this.set(r, at);
      default: {
        const length = readUInt(buf, at, r.size);
        const from = at + r.size;
        this.pos = from + length;
        if (r.bytes === 'text') return buf.toString('utf8', from, from + length);
        if (r.bytes === 'binary') {
          // The binlog drops BINARY(n)'s trailing zero bytes; zongji restores the full width.
          const padded = Buffer.alloc(r.width, 0);
          buf.copy(padded, 0, from, from + length);
          return padded;
        }
        return buf.subarray(from, from + length);
      }
    }
  }

  /** zongji's readTemporalFraction: the digits after the point as an integer, or undefined without any. */
  private fraction(digits: number): number | undefined {
    if (digits === 0) return undefined;
    const size = Math.ceil(digits / 2);
    let fraction = readIntBE(this.buf, this.pos, size);
    this.pos += size;
    if (digits % 2 !== 0) fraction /= 10;
    return fraction < 0 ? -fraction : fraction;
  }

  /** zongji's parseNewDecimal: sign bit flipped in a copy, groups of 9 digits, leading zeros stripped. */
  private decimal(r: ColumnReader, at: number): string {
    const b = this.scratch.length >= r.size ? this.scratch : Buffer.alloc(r.size);
    this.buf.copy(b, 0, at, at + r.size);
    const positive = ((b[0] as number) & 0x80) === 0x80;
    b[0] = (b[0] as number) ^ 0x80;
    const mask = positive ? 0 : -1;
    const intg = r.precision - r.scale;
    const wholeGroups = Math.floor(intg / 9);
    const headBytes = DIG2BYTES[intg % 9] as number;
    let pos = 0;
    let digits = '';
    if (headBytes > 0) {
      digits += (readIntBE(b, 0, headBytes) ^ mask).toString(10);
      pos += headBytes;
    }
    for (let i = 0; i < wholeGroups; i++) {
      digits += zeroPad((b.readInt32BE(pos) ^ mask).toString(10), 9);
      pos += 4;
    }
    let lead = 0;
    while (lead < digits.length - 1 && digits.charCodeAt(lead) === 48) lead += 1;
    digits = digits.length === 0 ? '0' : digits.substring(lead);
    let text = (positive ? '' : '-') + digits;
    if (r.scale > 0) {
      let fraction = '';
      for (let i = 0, groups = Math.floor(r.scale / 9); i < groups; i++) {
        fraction += zeroPad((b.readInt32BE(pos) ^ mask).toString(10), 9);
        pos += 4;
      }
      const tail = DIG2BYTES[r.scale % 9] as number;
      if (tail > 0) fraction += zeroPad((readIntBE(b, pos, tail) ^ mask).toString(10), r.scale % 9);
      text += `.${fraction}`;
    }
    return text;
  }

  /** zongji's SET decoding: labels of the set bits, joined by ','. */
  private set(r: ColumnReader, at: number): string {
    let low: number;
    let high = 0;
    if (r.size === 8) {
      low = this.buf.readUInt32LE(at);
      high = this.buf.readUInt32LE(at + 4);
    } else {
      low = this.buf.readUIntLE(at, r.size);
    }
    let result = '';
    for (let i = 0; low >= 2 ** i; i++) if (low & (2 ** i)) result += `${r.labels[i]},`;
    for (let i = 0; high >= 2 ** i; i++) if (high & (2 ** i)) result += `${r.labels[i + 32]},`;
    return result.length > 0 ? result.substring(0, result.length - 1) : result;
  }
}

function fractionText(fraction: number | undefined, digits: number): string {
  return fraction === undefined ? '' : `.${zeroPad(fraction, digits)}`;
}

function milliseconds(fraction: number, digits: number): number {
  if (digits > 3) return Math.floor(fraction / 10 ** (digits - 3));
  if (digits < 3) return fraction * 10 ** (3 - digits);
  return fraction;
}

/** How a column's JSON is written: straight from its bytes, or through canalText (every other case). */
const W_GENERIC = 0;
const W_INT = 1;
const W_DECIMAL = 2;
const W_DATE = 3;
const W_DATETIME = 4;
const W_TIMESTAMP = 5;
const W_TIME = 6;
const W_UTF8 = 7;
const W_LATIN1 = 8;

const INTEGER_TYPES = new Set<number>([T.TINY, T.SHORT, T.INT24, T.LONG, T.LONGLONG]);

/**
 * The byte writer of a column when its Canal text is the value zongji reads unchanged: integers,
 * decimals and temporals whose declared scale/precision is the binlog's, text and binary values.
 */
function writerOf(r: ColumnReader, column: CanalColumn): number {
  const kind = column.value;
  if (INTEGER_TYPES.has(r.type)) return kind.kind === 'integer' ? W_INT : W_GENERIC;
  switch (r.type) {
    case T.NEWDECIMAL:
      return kind.kind === 'decimal' && kind.scale === r.scale ? W_DECIMAL : W_GENERIC;
    case T.DATE:
      return kind.kind === 'temporal' && kind.fractionDigits === 0 ? W_DATE : W_GENERIC;
    case T.DATETIME2:
      return kind.kind === 'temporal' && kind.fractionDigits === r.size ? W_DATETIME : W_GENERIC;
    case T.TIMESTAMP2:
      return kind.kind === 'timestamp' && kind.fractionDigits === r.size ? W_TIMESTAMP : W_GENERIC;
    case T.TIME2:
      return kind.kind === 'temporal' && kind.fractionDigits === r.size ? W_TIME : W_GENERIC;
    case T.VARCHAR:
    case T.STRING:
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB:
      if (r.bytes === 'text') return kind.kind === 'text' || kind.kind === 'json' ? W_UTF8 : W_GENERIC;
      return kind.kind === 'text' || kind.kind === 'bytes' ? W_LATIN1 : W_GENERIC;
    default:
      return W_GENERIC;
  }
}

/** How a table's rows become JSON, computed once per (event columns, Canal schema). */
interface RowLayout {
  readers: ColumnReader[];
  columns: readonly CanalColumn[];
  writers: number[];
  /** column indices in the order JSON.stringify enumerates a row object's keys */
  keyOrder: number[];
  /** `"name":` per column */
  keyJson: Buffer[];
  /** texts needing JSON escaping (text, binary as ISO-8859-1, JSON); the others are ASCII digits and separators */
  escape: boolean[];
  mysqlType: Record<string, string>;
  /** primary-key column indices, in pkNames order */
  pkIndexes: number[];
  pkNames: string[] | null;
  /** `["database","table",` of the Kafka key */
  keyPrefix: Buffer;
  plainRows: boolean;
}

const layouts = new WeakMap<CanalTableSchema, WeakMap<ColumnReader[], RowLayout>>();

function layoutOf(schema: CanalTableSchema, list: ColumnReader[]): RowLayout {
  let bySchema = layouts.get(schema);
  if (bySchema === undefined) {
    bySchema = new WeakMap();
    layouts.set(schema, bySchema);
  }
  let layout = bySchema.get(list);
  if (layout === undefined) {
    const names = schema.columns.map((c) => c.name);
    // Rows are built like row-event.ts builds them, so that their keys enumerate in the same order.
    const plainRows = !names.includes('__proto__');
    const probe: Record<string, number> = plainRows ? {} : emptyRecord<number>();
    names.forEach((name, i) => (probe[name] = i));
    const mysqlType = plainRows ? {} : emptyRecord<string>();
    for (const c of schema.columns) mysqlType[c.name] = c.mysqlType;
    const keyPrefix = JSON.stringify([schema.database, schema.table]);
    layout = {
      readers: list,
      columns: schema.columns,
      writers: list.map((r, i) => writerOf(r, schema.columns[i] as CanalColumn)),
      keyOrder: Object.keys(probe).map((name) => probe[name] as number),
      keyJson: names.map((name) => Buffer.from(`${JSON.stringify(name)}:`)),
      escape: schema.columns.map((c) => c.value.kind === 'text' || c.value.kind === 'bytes' || c.value.kind === 'json'),
      mysqlType,
      pkIndexes: schema.pkNames.map((name) => names.indexOf(name)),
      pkNames: schema.pkNames.length > 0 ? [...schema.pkNames] : null,
      keyPrefix: Buffer.from(`${keyPrefix.slice(0, -1)},`),
      plainRows,
    };
    bySchema.set(list, layout);
  }
  return layout;
}

/** What a keyed message of a rows event is: the event's own type, or a part of a primary-key change. */
const AS_EVENT = 0;
const KEY_DELETE = 1;
const KEY_TOMBSTONE = 2;
const KEY_INSERT = 3;

const HEAD = Buffer.from('{"data":[');
const NULL_JSON = Buffer.from('null');
const COMMA = Buffer.from(',');
const ZERO_TIMESTAMP = '0000-00-00 00:00:00';

/**
 * Encodes raw rows events: the same messages, partitions and keys as buildRowsMessage +
 * CanalMqRouter.route + FlatMessageWriter, written as bytes. One per encoder (it reuses its buffers).
 */
export class RawRowsEncoder {
  private readonly out = new JsonBytes();
  private readonly parts = new ValueParts();
  private readonly reader = new ImageReader(Buffer.alloc(0));
  private before = new Int32Array(0);
  private after = new Int32Array(0);
  private layout!: RowLayout;
  /** scratch of writeDecimal */
  private readonly groups: number[] = [];

  constructor(
    private readonly router: CanalMqRouter,
    private readonly keyByPrimaryKey: boolean,
    private readonly writer: FlatMessageWriter,
  ) {}

  /** One rows event of `schema`, whose columns are the event's in order. */
  encode(event: RawRowsEvent, schema: CanalTableSchema, envelope: MessageEnvelope, sink: RecordSink): void {
    const list = readersOf(event.tableMap) as ColumnReader[];
    const layout = layoutOf(schema, list);
    this.layout = layout;
    const n = list.length;
    if (this.after.length !== n) {
      this.before = new Int32Array(n);
      this.after = new Int32Array(n);
    }
    this.reader.buf = event.buf;
    const out = this.out;
    out.reset();
    const update = event.kind === 'update';
    const partitioner: RowPartitioner = this.router.rowPartitioner(schema);
    const keyed = this.keyByPrimaryKey;
    // Per message: its partition, and key, data row, (UPDATE) old row and kind as ranges of `out`.
    const partitions: number[] = [];
    const ranges: number[] = [];
    let keyChanges = 0;
    const texts = new Array<string | null>(n).fill(null);
    // LogEventConvert keeps one changed-column set per message: once changed, a column stays in `old`.
    const changed = new Uint8Array(n);
    const presentCount = countBits(event.present, n);
    const presentAfterCount = countBits(event.presentAfter, n);
    let pos = event.rowsStart;
    while (pos < event.rowsEnd) {
      if (update) pos = this.scan(event.present, presentCount, pos, this.before);
      pos = this.scan(update ? event.presentAfter : event.present, update ? presentAfterCount : presentCount, pos, this.after);
      if (update) this.markChanged(changed);
      let kind = AS_EVENT;
      if (keyed && update && layout.pkNames !== null && this.keyChanged()) {
        // As routing.ts: a DELETE and a tombstone of the old key in its partition, then an INSERT of the new one.
        keyChanges += 1;
        for (const i of partitioner.reads) texts[i] = this.text(this.before, i);
        const partition = partitioner.partitionOf(texts);
        const keyStart = out.len;
        this.writeKey(this.before);
        const rowStart = out.len;
        out.copy(HEAD, 0, HEAD.length);
        this.writeRow(this.before, undefined);
        partitions.push(partition, partition);
        ranges.push(keyStart, rowStart, out.len, out.len, KEY_DELETE, keyStart, rowStart, rowStart, rowStart, KEY_TOMBSTONE);
        kind = KEY_INSERT;
      }
      for (const i of partitioner.reads) texts[i] = this.text(this.after, i);
      partitions.push(partitioner.partitionOf(texts));
      const keyStart = out.len;
      if (keyed && layout.pkNames !== null) this.writeKey(this.after);
      const rowStart = out.len;
      // Keyed: each row is a message, whose value starts right here.
      if (keyed) out.copy(HEAD, 0, HEAD.length);
      this.writeRow(this.after, undefined);
      const oldStart = out.len;
      if (update && kind === AS_EVENT) this.writeRow(this.before, changed);
      ranges.push(keyStart, rowStart, oldStart, out.len, kind);
    }
    // A rows event always has a row (zongji's path would publish an empty message for none).
    if (partitions.length === 0) return;
    const base: CanalFlatMessage = {
      data: null,
      database: schema.database,
      es: envelope.es,
      gtid: envelope.gtid,
      id: envelope.id,
      isDdl: false,
      mysqlType: layout.mysqlType,
      old: null,
      pkNames: layout.pkNames,
      sql: '',
      sqlType: this.sqlTypes(),
      table: schema.table,
      ts: envelope.ts,
      type: event.kind === 'insert' ? 'INSERT' : update ? 'UPDATE' : 'DELETE',
    };
    const { middle, tail } = this.writer.envelope(base);
    // What follows the rows: `],…,"old":null…}`, or for updates `],…,"old":[` + old rows + `]…}`.
    const afterRows = update ? Buffer.from(`]${middle},"old":[`) : Buffer.from(`]${middle},"old":null${tail}`);
    const afterOld = Buffer.from(`]${tail}`);
    const buf = out.buf;
    const parts = this.parts;
    const topic = partitioner.topic;
    if (keyed) {
      const afterKeyRow = keyChanges === 0 ? [] : [KEY_DELETE, KEY_INSERT].map((k) => {
        const split = this.writer.envelope({ ...base, type: k === KEY_DELETE ? 'DELETE' : 'INSERT' });
        return Buffer.from(`]${split.middle},"old":null${split.tail}`);
      });
      // Like route(): the event's messages grouped by partition (ascending), binlog order within each.
      const order = partitions.map((_, r) => r).sort((a, b) => (partitions[a] as number) - (partitions[b] as number) || a - b);
      for (const r of order) {
        const keyStart = ranges[5 * r] as number;
        const rowStart = ranges[5 * r + 1] as number;
        const oldStart = ranges[5 * r + 2] as number;
        const kind = ranges[5 * r + 4] as number;
        const keyBuf = layout.pkNames === null ? null : buf;
        if (kind === KEY_TOMBSTONE) {
          sink.addParts(topic, partitions[r] as number, keyBuf, keyStart, rowStart, null);
          continue;
        }
        parts.reset();
        parts.push(buf, rowStart, oldStart);
        if (kind !== AS_EVENT) {
          parts.push(afterKeyRow[kind === KEY_DELETE ? 0 : 1] as Buffer);
        } else {
          parts.push(afterRows);
          if (update) {
            parts.push(buf, oldStart, ranges[5 * r + 3] as number);
            parts.push(afterOld);
          }
        }
        sink.addParts(topic, partitions[r] as number, keyBuf, keyStart, rowStart, parts);
      }
      return;
    }
    // Canal's multi-row messages: one per partition, partitions in ascending order, rows in binlog order.
    for (const p of [...new Set(partitions)].sort((a, b) => a - b)) {
      parts.reset();
      parts.push(HEAD);
      let first = true;
      for (let r = 0; r < partitions.length; r++) {
        if (partitions[r] !== p) continue;
        if (!first) parts.push(COMMA);
        parts.push(buf, ranges[5 * r + 1] as number, ranges[5 * r + 2] as number);
        first = false;
      }
      parts.push(afterRows);
      if (update) {
        first = true;
        for (let r = 0; r < partitions.length; r++) {
          if (partitions[r] !== p) continue;
          if (!first) parts.push(COMMA);
          parts.push(buf, ranges[5 * r + 2] as number, ranges[5 * r + 3] as number);
          first = false;
        }
        parts.push(afterOld);
      }
      sink.addParts(topic, p, null, 0, 0, parts);
    }
  }

  /** Offsets of the values of the row image at `at` into `offsets` (-1: NULL or not in the image); returns its end. */
  private scan(present: Buffer, presentCount: number, at: number, offsets: Int32Array): number {
    const { readers: list } = this.layout;
    const buf = this.reader.buf;
    const nullsAt = at;
    let p = at + ((presentCount + 7) >> 3);
    for (let i = 0, n = 0; i < list.length; i++) {
      if (!bitSet(present, i)) {
        offsets[i] = -1;
        continue;
      }
      const isNull = ((buf[nullsAt + (n >> 3)] as number) & (1 << (n & 7))) !== 0;
      n += 1;
      if (isNull) {
        offsets[i] = -1;
      } else {
        offsets[i] = p;
        p += valueWidth(list[i] as ColumnReader, buf, p);
      }
    }
    return p;
  }

  /** Canal's text of column i, as the decoded path computes it. */
  private text(offsets: Int32Array, i: number): string | null {
    const at = offsets[i] as number;
    if (at === -1) return null;
    this.reader.pos = at;
    return canalText(this.layout.columns[i] as CanalColumn, this.reader.value(this.layout.readers[i] as ColumnReader));
  }

  /** UPDATE: a column changed unless both images have the same text. */
  private markChanged(changed: Uint8Array): void {
    const n = this.layout.readers.length;
    for (let i = 0; i < n; i++) if (changed[i] !== 1 && !this.sameInBothImages(i)) changed[i] = 1;
  }

  /** UPDATE: some primary-key column has another text after than before. */
  private keyChanged(): boolean {
    for (const i of this.layout.pkIndexes) if (!this.sameInBothImages(i)) return true;
    return false;
  }

  /** Column i has the same text in the before and after images (same bytes: same text). */
  private sameInBothImages(i: number): boolean {
    const b = this.before[i] as number;
    const a = this.after[i] as number;
    if (b === -1 || a === -1) return b === a;
    const r = this.layout.readers[i] as ColumnReader;
    const buf = this.reader.buf;
    const width = valueWidth(r, buf, b);
    if (width === valueWidth(r, buf, a) && buf.compare(buf, a, a + width, b, b + width) === 0) return true;
    return this.text(this.before, i) === this.text(this.after, i);
  }

  /** The Kafka key of a row image: JSON.stringify([database, table, ...pk texts]). */
  private writeKey(offsets: Int32Array): void {
    const out = this.out;
    const layout = this.layout;
    out.copy(layout.keyPrefix, 0, layout.keyPrefix.length);
    const pk = layout.pkIndexes;
    for (let k = 0; k < pk.length; k++) {
      if (k > 0) out.byte(0x2c);
      const i = pk[k] as number;
      this.writeText(i, this.text(offsets, i));
    }
    out.byte(0x5d);
  }

  /** A row object's JSON; `include` keeps only the flagged columns (UPDATE's old). */
  private writeRow(offsets: Int32Array, include: Uint8Array | undefined): void {
    const out = this.out;
    const layout = this.layout;
    out.byte(0x7b);
    let first = true;
    for (const i of layout.keyOrder) {
      if (include !== undefined && include[i] !== 1) continue;
      if (!first) out.byte(0x2c);
      first = false;
      const name = layout.keyJson[i] as Buffer;
      out.copy(name, 0, name.length);
      this.writeValue(offsets, i);
    }
    out.byte(0x7d);
  }

  private writeText(i: number, text: string | null): void {
    const out = this.out;
    if (text === null) out.copy(NULL_JSON, 0, 4);
    else if (this.layout.escape[i]) out.string(text);
    else {
      out.byte(0x22);
      out.ascii(text);
      out.byte(0x22);
    }
  }

  /** Column i's JSON value: written from its bytes when the writer allows, else from its Canal text. */
  private writeValue(offsets: Int32Array, i: number): void {
    const at = offsets[i] as number;
    const out = this.out;
    if (at === -1) {
      out.copy(NULL_JSON, 0, 4);
      return;
    }
    const r = this.layout.readers[i] as ColumnReader;
    const buf = this.reader.buf;
    switch (this.layout.writers[i]) {
      case W_INT:
        if (this.writeInteger(r, buf, at)) return;
        break;
      case W_DECIMAL:
        if (this.writeDecimal(r, buf, at)) return;
        break;
      case W_DATE: {
        const raw = readUInt(buf, at, 3);
        out.byte(0x22);
        this.writeDate(sliceBits(raw, 9, 24), sliceBits(raw, 5, 9), sliceBits(raw, 0, 5));
        out.byte(0x22);
        return;
      }
      case W_DATETIME:
        if (this.writeDateTime(r, buf, at)) return;
        break;
      case W_TIMESTAMP:
        if (this.writeTimestamp(r, buf, at, (this.layout.columns[i] as CanalColumn).value)) return;
        break;
      case W_TIME:
        if (this.writeTime(r, buf, at)) return;
        break;
      case W_UTF8: {
        const from = at + r.size;
        if (out.utf8String(buf, from, from + readUInt(buf, at, r.size))) return;
        break;
      }
      case W_LATIN1: {
        const from = at + r.size;
        out.latin1String(buf, from, from + readUInt(buf, at, r.size), r.bytes === 'binary' ? r.width : 0);
        return;
      }
    }
    this.writeText(i, this.text(offsets, i));
  }

  private writeInteger(r: ColumnReader, buf: Buffer, at: number): boolean {
    let value: number;
    if (r.type === T.LONGLONG) {
      const high = buf.readUInt32LE(at + 4);
      // Beyond 2^53 (or negative): the exact text through canalText.
      if (high >= 0x200000) return false;
      value = high * 0x100000000 + buf.readUInt32LE(at);
    } else {
      const u = readUInt(buf, at, r.size);
      const range = INT_RANGE[r.size] as number;
      value = !r.unsigned && u >= range / 2 ? u - range : u;
    }
    const out = this.out;
    out.byte(0x22);
    out.integer(value);
    out.byte(0x22);
    return true;
  }

  /** zongji's parseNewDecimal written as digits; false (nothing written) for bytes that are no valid decimal. */
  private writeDecimal(r: ColumnReader, buf: Buffer, at: number): boolean {
    const positive = ((buf[at] as number) & 0x80) === 0x80;
    const mask = positive ? 0 : -1;
    const intg = r.precision - r.scale;
    const headBytes = DIG2BYTES[intg % 9] as number;
    const wholeGroups = Math.floor(intg / 9);
    const fractionGroups = Math.floor(r.scale / 9);
    const tailDigits = r.scale % 9;
    const tailBytes = DIG2BYTES[tailDigits] as number;
    // The digit groups, read as zongji reads them (sign bit flipped, negatives bit-inverted); any group
    // out of range makes the bytes no valid decimal, left to canalText.
    const groups = this.groups;
    groups.length = 0;
    const invert = mask & 0xff;
    let p = at;
    const count = (headBytes > 0 ? 1 : 0) + wholeGroups + fractionGroups + (tailBytes > 0 ? 1 : 0);
    for (let g = 0; g < count; g++) {
      const bytes = g === 0 && headBytes > 0 ? headBytes : g === count - 1 && tailBytes > 0 ? tailBytes : 4;
      const limit = g === 0 && headBytes > 0 ? 10 ** (intg % 9) : g === count - 1 && tailBytes > 0 ? 10 ** tailDigits : 1e9;
      let v = 0;
      for (let k = 0; k < bytes; k++, p++) v = v * 256 + ((p === at ? 0x80 : 0) ^ (buf[p] as number) ^ invert);
      if (v >= limit) return false;
      groups.push(v);
    }
    const out = this.out;
    out.byte(0x22);
    if (!positive) out.byte(0x2d);
    let g = 0;
    let started = false;
    if (headBytes > 0) {
      const v = groups[g++] as number;
      if (v !== 0) {
        out.digits(v);
        started = true;
      }
    }
    for (let k = 0; k < wholeGroups; k++) {
      const v = groups[g++] as number;
      if (started) out.padded(v, 9);
      else if (v !== 0) {
        out.digits(v);
        started = true;
      }
    }
    if (!started) out.byte(0x30);
    if (r.scale > 0) {
      out.byte(0x2e);
      for (let k = 0; k < fractionGroups; k++) out.padded(groups[g++] as number, 9);
      if (tailBytes > 0) out.padded(groups[g++] as number, tailDigits);
    }
    out.byte(0x22);
    return true;
  }

  private writeDate(year: number, month: number, day: number): void {
    const out = this.out;
    out.padded(year, 4);
    out.byte(0x2d);
    out.padded(month, 2);
    out.byte(0x2d);
    out.padded(day, 2);
  }

  private writeClock(hour: number, minute: number, second: number): void {
    const out = this.out;
    out.padded(hour, 2);
    out.byte(0x3a);
    out.padded(minute, 2);
    out.byte(0x3a);
    out.padded(second, 2);
  }

  /** readTemporalFraction's value, or NaN when the stored digits make no integer (then canalText writes it). */
  private fractionAt(buf: Buffer, at: number, digits: number): number {
    let fraction = readIntBE(buf, at, Math.ceil(digits / 2));
    if (digits % 2 !== 0) fraction /= 10;
    if (fraction < 0) fraction = -fraction;
    return Number.isInteger(fraction) ? fraction : Number.NaN;
  }

  private writeFraction(fraction: number, digits: number): void {
    if (digits === 0) return;
    this.out.byte(0x2e);
    this.out.padded(fraction, digits);
  }

  private writeDateTime(r: ColumnReader, buf: Buffer, at: number): boolean {
    const fraction = r.size === 0 ? 0 : this.fractionAt(buf, at + 5, r.size);
    if (Number.isNaN(fraction)) return false;
    const high = readIntBE(buf, at, 4);
    const low = readIntBE(buf, at + 1, 4);
    const yearMonth = sliceBits(high, 14, 31);
    const out = this.out;
    out.byte(0x22);
    this.writeDate(Math.floor(yearMonth / 13), yearMonth % 13, sliceBits(low, 17, 22));
    out.byte(0x20);
    this.writeClock(sliceBits(low, 12, 17), sliceBits(low, 6, 12), sliceBits(low, 0, 6));
    this.writeFraction(fraction, r.size);
    out.byte(0x22);
    return true;
  }

  private writeTimestamp(r: ColumnReader, buf: Buffer, at: number, kind: ColumnValueKind): boolean {
    const seconds = readIntBE(buf, at, 4);
    const fraction = r.size === 0 ? 0 : this.fractionAt(buf, at + 4, r.size);
    if (Number.isNaN(fraction) || seconds < 0 || kind.kind !== 'timestamp') return false;
    const out = this.out;
    out.byte(0x22);
    if (seconds === 0 && fraction === 0) {
      out.ascii(ZERO_TIMESTAMP);
    } else {
      // The instant's civil time in the column's zone, as zonedTimestampText prints zongji's UTC text;
      // the fraction (< 1 s) never changes the second.
      const local = seconds + kind.zone.offsetAt(seconds);
      const days = Math.floor(local / 86400);
      const [year, month, day] = civilFromDays(days);
      const inDay = local - days * 86400;
      this.writeDate(year, month, day);
      out.byte(0x20);
      this.writeClock(Math.floor(inDay / 3600), Math.floor((inDay % 3600) / 60), inDay % 60);
    }
    this.writeFraction(fraction, r.size);
    out.byte(0x22);
    return true;
  }

  private writeTime(r: ColumnReader, buf: Buffer, at: number): boolean {
    const fraction = r.size === 0 ? 0 : this.fractionAt(buf, at + 3, r.size);
    if (Number.isNaN(fraction)) return false;
    let raw = readIntBE(buf, at, 3);
    const negative = (raw & (1 << 23)) === 0;
    if (negative) raw = raw ^ ((1 << 24) - 1);
    const hour = sliceBits(raw, 12, 22);
    let second = sliceBits(raw, 0, 6);
    if (negative && fraction === 0) second += 1;
    const out = this.out;
    out.byte(0x22);
    if (negative) out.byte(0x2d);
    out.padded(hour, hour > 99 ? 3 : 2);
    out.byte(0x3a);
    out.padded(sliceBits(raw, 6, 12), 2);
    out.byte(0x3a);
    out.padded(second, 2);
    this.writeFraction(fraction, r.size);
    out.byte(0x22);
    return true;
  }

  /** sqlType: the codes of the message's last row image (Canal's LinkedHashMap, put for every row). */
  private sqlTypes(): Record<string, number> {
    const layout = this.layout;
    const codes = layout.plainRows ? {} : emptyRecord<number>();
    layout.columns.forEach((column, i) => {
      const kind = column.value;
      if (this.after[i] === -1) codes[column.name] = column.sqlTypeWhenNull;
      else codes[column.name] = kind.kind === 'integer' && kind.unsigned ? canalSqlType(column, this.text(this.after, i)) : column.sqlType;
    });
    return codes;
  }
}

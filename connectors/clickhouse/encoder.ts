/**
 * Rows as JSONEachRow lines, checked against the ClickHouse column types first. ClickHouse itself
 * accepts too much (an unknown field is skipped, '1.234' goes into a Decimal(18,2) rounded) or fails
 * the whole insert on one bad value; a row is therefore encoded only when every value fits its column
 * exactly, and otherwise rejected with the reason (the sink dead-letters its record).
 */

export type ColumnType =
  | { kind: 'int'; bits: 8 | 16 | 32 | 64 | 128 | 256; signed: boolean }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'string' }
  | { kind: 'date' }
  | { kind: 'datetime64'; precision: number; timezone: string | undefined }
  | { kind: 'datetime'; timezone: string | undefined }
  | { kind: 'nullable'; inner: ColumnType };

export interface ColumnSchema {
  name: string;
  type: ColumnType;
}

export interface TableSchema {
  table: string;
  columns: ColumnSchema[];
}

/** A value or row that does not fit its table; the message is the reason. */
export class RowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowError';
  }
}

const DECIMAL_PRECISION: Record<string, number> = { Decimal32: 9, Decimal64: 18, Decimal128: 38, Decimal256: 76 };

/** Parses a type as system.columns prints it; throws for types the sink does not write. */
export function parseColumnType(text: string): ColumnType {
  const t = text.trim();
  let m = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t);
  if (m !== null) {
    const inner = parseColumnType(m[2] as string);
    return m[1] === 'Nullable' ? { kind: 'nullable', inner } : inner;
  }
  m = /^(U?)Int(8|16|32|64|128|256)$/.exec(t);
  if (m !== null) return { kind: 'int', bits: Number(m[2]) as 8 | 16 | 32 | 64 | 128 | 256, signed: m[1] === '' };
  m = /^Decimal\((\d+),\s*(\d+)\)$/.exec(t);
  if (m !== null) return { kind: 'decimal', precision: Number(m[1]), scale: Number(m[2]) };
  m = /^(Decimal(?:32|64|128|256))\((\d+)\)$/.exec(t);
  if (m !== null) return { kind: 'decimal', precision: DECIMAL_PRECISION[m[1] as string] as number, scale: Number(m[2]) };
  if (t === 'String') return { kind: 'string' };
  if (t === 'Date') return { kind: 'date' };
  m = /^DateTime64\((\d)(?:,\s*'([^']+)')?\)$/.exec(t);
  if (m !== null) return { kind: 'datetime64', precision: Number(m[1]), timezone: m[2] };
  m = /^DateTime(?:\('([^']+)'\))?$/.exec(t);
  if (m !== null) return { kind: 'datetime', timezone: m[1] };
  throw new Error(`column type ${t} is not supported by the ClickHouse sink`);
}

function intRange(bits: number, signed: boolean): [bigint, bigint] {
  const size = 1n << BigInt(bits);
  return signed ? [-(size / 2n), size / 2n - 1n] : [0n, size - 1n];
}

function encodeInt(type: Extract<ColumnType, { kind: 'int' }>, value: unknown): string {
  let n: bigint;
  if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,80}$/.test(value)) n = BigInt(value);
  else if (typeof value === 'boolean' && type.bits === 8 && !type.signed) n = value ? 1n : 0n;
  else throw new RowError(`expected an integer, got ${describe(value)}`);
  const [min, max] = intRange(type.bits, type.signed);
  if (n < min || n > max) throw new RowError(`${n} is outside the range of ${type.signed ? '' : 'U'}Int${type.bits}`);
  // 64-bit and wider as strings: JSON numbers beyond 2^53 do not survive JavaScript, nor other readers.
  return type.bits <= 32 ? n.toString() : `"${n}"`;
}

function encodeDecimal(type: Extract<ColumnType, { kind: 'decimal' }>, value: unknown): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  const m = text === undefined ? null : /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (m === null) throw new RowError(`expected a decimal number, got ${describe(value)}`);
  const integer = (m[2] as string).replace(/^0+(?=\d)/, '');
  // Trailing zeros beyond the scale change nothing; any other digit there would be rounded away.
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > type.scale) throw new RowError(`${text} has more than ${type.scale} decimal places`);
  if (integer !== '0' && integer.length > type.precision - type.scale) throw new RowError(`${text} does not fit Decimal(${type.precision}, ${type.scale})`);
  return `"${m[1]}${integer}${fraction === '' ? '' : `.${fraction}`}"`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function validDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function encodeDate(value: unknown): string {
  const m = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  if (m === null) throw new RowError(`expected a date YYYY-MM-DD, got ${describe(value)}`);
  if (!validDate(Number(m[1]), Number(m[2]), Number(m[3]))) throw new RowError(`${String(value)} is not a calendar date`);
  // ClickHouse's Date counts days from 1970-01-01 in a UInt16.
  if ((value as string) < '1970-01-01' || (value as string) > '2149-06-06') throw new RowError(`${String(value)} is outside the range of Date (1970-01-01 to 2149-06-06)`);
  return `"${value as string}"`;
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

function encodeDateTime64(type: Extract<ColumnType, { kind: 'datetime64' }>, value: unknown): string {
  let text: string;
  if (typeof value === 'number') {
    // Epoch ms are an instant: only a UTC column stores the wall clock this renders.
    if (type.timezone !== 'UTC') throw new RowError('epoch milliseconds need a column in UTC; give the time as text');
    if (!Number.isSafeInteger(value) || Number.isNaN(new Date(value).getTime())) throw new RowError(`${value} is not an epoch time in ms`);
    text = new Date(value).toISOString().replace('T', ' ').replace('Z', '');
  } else if (typeof value === 'string') {
    text = value;
  } else {
    throw new RowError(`expected a time YYYY-MM-DD hh:mm:ss[.fff] or epoch ms, got ${describe(value)}`);
  }
  const m = DATETIME.exec(text);
  if (m === null) throw new RowError(`expected a time YYYY-MM-DD hh:mm:ss[.fff], got ${describe(value)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) throw new RowError(`${text} is not a valid time`);
  const fraction = m[7] ?? '';
  if (/[1-9]/.test(fraction.slice(type.precision))) throw new RowError(`${text} has more than ${type.precision} fractional digits`);
  if (year < 1900 || year > 2299) throw new RowError(`${text} is outside the range of DateTime64 (years 1900 to 2299)`);
  const digits = fraction.slice(0, type.precision).padEnd(type.precision, '0');
  return `"${text.slice(0, 19)}${type.precision > 0 ? `.${digits}` : ''}"`;
}

/** DateTime: whole seconds in a UInt32 from the epoch (1970-01-01 00:00:00 to 2106-02-07 06:28:15 UTC). */
function encodeDateTime(type: Extract<ColumnType, { kind: 'datetime' }>, value: unknown): string {
  const encoded = encodeDateTime64({ kind: 'datetime64', precision: 0, timezone: type.timezone }, value);
  const text = encoded.slice(1, -1);
  if (text < '1970-01-01 00:00:00' || text > '2106-02-07 06:28:15') throw new RowError(`${text} is outside the range of DateTime (1970-01-01 00:00:00 to 2106-02-07 06:28:15)`);
  return encoded;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value) as string | undefined;
  const shown = json === undefined ? String(value) : json;
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}

/** The JSON text of a value for a column of `type`; throws a RowError when it does not fit exactly. */
export function encodeValue(type: ColumnType, value: unknown): string {
  switch (type.kind) {
    case 'nullable':
      return value === null || value === undefined ? 'null' : encodeValue(type.inner, value);
    case 'int':
      return encodeInt(type, value);
    case 'decimal':
      return encodeDecimal(type, value);
    case 'string':
      if (typeof value !== 'string') throw new RowError(`expected a string, got ${describe(value)}`);
      return JSON.stringify(value);
    case 'date':
      return encodeDate(value);
    case 'datetime64':
      return encodeDateTime64(type, value);
    case 'datetime':
      return encodeDateTime(type, value);
  }
}

/** Encodes rows of one table: every column present (Nullable ones may be left out), no other field. */
export class RowEncoder {
  private readonly columns: Array<ColumnSchema & { prefix: string; required: boolean }>;
  private readonly names: Set<string>;

  constructor(readonly schema: TableSchema) {
    this.columns = schema.columns.map((c, i) => ({ ...c, prefix: `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`, required: c.type.kind !== 'nullable' }));
    this.names = new Set(schema.columns.map((c) => c.name));
  }

  /** One JSONEachRow line (no newline). */
  encode(row: Record<string, unknown>): string {
    let line = '';
    let present = 0;
    for (const column of this.columns) {
      const value = Object.hasOwn(row, column.name) ? row[column.name] : undefined;
      if (value === undefined) {
        if (column.required) throw new RowError(`${this.schema.table}: column ${column.name} is missing`);
      } else {
        present += 1;
      }
      try {
        line += column.prefix + encodeValue(column.type, value);
      } catch (err) {
        if (err instanceof RowError) throw new RowError(`${this.schema.table}.${column.name}: ${err.message}`);
        throw err;
      }
    }
    if (present !== Object.keys(row).length) {
      const unknown = Object.keys(row).filter((k) => !this.names.has(k));
      if (unknown.length > 0) throw new RowError(`${this.schema.table}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
    }
    return `${line}}`;
  }
}

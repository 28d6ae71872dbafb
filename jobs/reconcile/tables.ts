/**
 * What reconcile compares, read from both catalogs: each source table of schemas/source/shop.sql
 * in MYSQL_DATABASE against `<database>.ods_<table>` in ClickHouse, column by column, with each
 * column's canonical text in either engine. Values are compared as that text — the same text the
 * row checksums hash — so both engines must print equal values identically:
 *
 *   integer   CAST(c AS CHAR)          toString(c)
 *   decimal   CAST(c AS CHAR)          toDecimalString(c, <MySQL scale>)   ("12.30" on both)
 *   datetime  CAST(c AS CHAR)          toString(c)   (wall clock, same fractional digits)
 *   date      CAST(c AS CHAR)          toString(c)
 *   string    CONVERT(c USING utf8mb4) toString(c)   (UTF-8 bytes)
 *
 * Columns of other types (FLOAT, JSON, BLOB, ...) print differently in the two engines and are
 * listed as not compared, never skipped silently.
 */
import { SOURCE_TABLES, type SourceTable } from '../../schemas/events.js';
import type { ClickHouseReader } from './clickhouse.js';
import type { MysqlReader } from './mysql.js';
import { assertIdentifier, quoted } from './sql.js';

export type ColumnKind = 'integer' | 'decimal' | 'datetime' | 'date' | 'string';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  /** MySQL's COLUMN_TYPE, e.g. decimal(12,2) */
  sourceType: string;
  /** ClickHouse's type, e.g. Decimal(12, 2) */
  sinkType: string;
  /** fractional digits of a decimal or datetime */
  scale: number;
  /** NULL possible on either side */
  nullable: boolean;
}

export interface TableSpec {
  table: string;
  mirror: string;
  /** the single integer primary key */
  key: ColumnSpec;
  /** compared columns in source order, the key included */
  columns: ColumnSpec[];
  /** the event-time column buckets are cut on; undefined: buckets are primary-key ranges */
  eventTime: ColumnSpec | undefined;
  /** columns not compared, with the reason */
  notCompared: string[];
}

/** The event time of each source table (issue 10): an order's is created_at, a payment's paid_at. */
export const EVENT_TIME_COLUMNS: Readonly<Partial<Record<SourceTable, string>>> = {
  users: 'created_at',
  orders: 'created_at',
  payments: 'paid_at',
  refunds: 'created_at',
};

export function mirrorOf(table: string): string {
  return `ods_${table}`;
}

/** Why reconcile cannot run: every problem found, so one run names them all. */
export class ReconcileSetupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? (problems[0] as string) : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ReconcileSetupError';
  }
}

const MYSQL_KINDS: Record<string, ColumnKind> = {
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  bigint: 'integer',
  decimal: 'decimal',
  datetime: 'datetime',
  date: 'date',
  char: 'string',
  varchar: 'string',
  tinytext: 'string',
  text: 'string',
  mediumtext: 'string',
  longtext: 'string',
};

interface SinkType {
  kind: ColumnKind;
  scale: number;
  nullable: boolean;
}

/** The kind of a ClickHouse type that can mirror a source column exactly, or undefined. */
export function parseSinkType(type: string): SinkType | undefined {
  let t = type;
  let nullable = false;
  for (;;) {
    const wrapped = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (wrapped === null) break;
    if (wrapped[1] === 'Nullable') nullable = true;
    t = wrapped[2] as string;
  }
  if (/^U?Int(8|16|32|64|128|256)$/.test(t)) return { kind: 'integer', scale: 0, nullable };
  const decimal = /^Decimal(?:32|64|128|256)?\((?:\d+, )?(\d+)\)$/.exec(t);
  if (decimal !== null) return { kind: 'decimal', scale: Number(decimal[1]), nullable };
  const dt64 = /^DateTime64\((\d+)(?:, '[^']+')?\)$/.exec(t);
  if (dt64 !== null) return { kind: 'datetime', scale: Number(dt64[1]), nullable };
  if (/^DateTime(\('[^']+'\))?$/.test(t)) return { kind: 'datetime', scale: 0, nullable };
  if (t === 'Date' || t === 'Date32') return { kind: 'date', scale: 0, nullable };
  if (t === 'String') return { kind: 'string', scale: 0, nullable };
  return undefined;
}

interface SourceColumnRow {
  name: string;
  dataType: string;
  columnType: string;
  scale: string | null;
  precision: string | null;
  nullable: string;
}

async function sourceColumns(mysql: MysqlReader, database: string, table: string): Promise<SourceColumnRow[]> {
  return mysql.rows<SourceColumnRow>(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, NUMERIC_SCALE AS scale,
            DATETIME_PRECISION AS \`precision\`, IS_NULLABLE AS nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [database, table],
  );
}

async function sourceKey(mysql: MysqlReader, database: string, table: string): Promise<string[]> {
  const rows = await mysql.rows<{ name: string }>(
    `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
    [database, table],
  );
  return rows.map((r) => r.name);
}

async function sinkColumns(clickhouse: ClickHouseReader, database: string, table: string): Promise<Map<string, string>> {
  const rows = await clickhouse.rows<{ name: string; type: string }>(
    'SELECT name, type FROM system.columns WHERE database = {database:String} AND table = {table:String} ORDER BY position',
    { database, table },
  );
  return new Map(rows.map((r) => [r.name, r.type]));
}

/** One table's spec from both catalogs, or the problems that keep it from being compared. */
async function loadTable(mysql: MysqlReader, clickhouse: ClickHouseReader, sourceDb: string, sinkDb: string, table: string): Promise<TableSpec | string[]> {
  const mirror = mirrorOf(table);
  const [columns, key, sink] = await Promise.all([sourceColumns(mysql, sourceDb, table), sourceKey(mysql, sourceDb, table), sinkColumns(clickhouse, sinkDb, mirror)]);
  const problems: string[] = [];
  if (columns.length === 0) problems.push(`source table ${sourceDb}.${table} is missing (or not readable by the MySQL user)`);
  if (sink.size === 0) problems.push(`ClickHouse table ${sinkDb}.${mirror} is missing`);
  if (problems.length > 0) return problems;
  for (const meta of ['_version', '_is_deleted']) if (!sink.has(meta)) problems.push(`${sinkDb}.${mirror} lacks ${meta}: not an ODS mirror`);
  const specs: ColumnSpec[] = [];
  const notCompared: string[] = [];
  for (const c of columns) {
    assertIdentifier(c.name, `column of ${table}`);
    const kind = MYSQL_KINDS[c.dataType.toLowerCase()];
    const sinkType = sink.get(c.name);
    if (sinkType === undefined) {
      problems.push(`${sinkDb}.${mirror} lacks column ${c.name} (${c.columnType} in ${table})`);
      continue;
    }
    if (kind === undefined) {
      notCompared.push(`${c.name} (${c.columnType}): its text differs between MySQL and ClickHouse`);
      continue;
    }
    const scale = kind === 'decimal' ? Number(c.scale ?? 0) : kind === 'datetime' ? Number(c.precision ?? 0) : 0;
    const parsed = parseSinkType(sinkType);
    if (parsed === undefined || parsed.kind !== kind || parsed.scale !== scale) {
      problems.push(`${mirror}.${c.name} is ${sinkType}, which cannot mirror ${table}.${c.name} ${c.columnType} exactly`);
      continue;
    }
    specs.push({ name: c.name, kind, sourceType: c.columnType, sinkType, scale, nullable: c.nullable === 'YES' || parsed.nullable });
  }
  const keySpec = key.length === 1 ? specs.find((s) => s.name === key[0]) : undefined;
  if (keySpec === undefined || keySpec.kind !== 'integer') problems.push(`${table}: reconcile needs a single integer primary key, found (${key.join(', ')})`);
  const eventName = EVENT_TIME_COLUMNS[table as SourceTable];
  const eventTime = eventName === undefined ? undefined : specs.find((s) => s.name === eventName);
  if (eventName !== undefined && eventTime?.kind !== 'datetime') problems.push(`${table}: its event-time column ${eventName} must be a DATETIME`);
  if (problems.length > 0 || keySpec === undefined) return problems;
  return { table, mirror, key: keySpec, columns: specs, eventTime, notCompared };
}

/** Specs of `tables` (every source table by default); throws a ReconcileSetupError naming every problem. */
export async function loadTableSpecs(
  mysql: MysqlReader,
  clickhouse: ClickHouseReader,
  sourceDb: string,
  sinkDb: string,
  tables: readonly string[] = SOURCE_TABLES,
): Promise<TableSpec[]> {
  const loaded = await Promise.all(tables.map((t) => loadTable(mysql, clickhouse, sourceDb, sinkDb, assertIdentifier(t, 'table'))));
  const problems = loaded.flatMap((l) => (Array.isArray(l) ? l : []));
  if (problems.length > 0) throw new ReconcileSetupError(problems);
  return loaded.filter((l): l is TableSpec => !Array.isArray(l));
}

/** The canonical text of a column, as MySQL computes it. */
export function sourceText(c: ColumnSpec): string {
  return c.kind === 'string' ? `CONVERT(${quoted(c.name)} USING utf8mb4)` : `CAST(${quoted(c.name)} AS CHAR)`;
}

/** The canonical text of a column, as ClickHouse computes it. */
export function sinkText(c: ColumnSpec): string {
  return c.kind === 'decimal' ? `toDecimalString(${quoted(c.name)}, ${c.scale})` : `toString(${quoted(c.name)})`;
}

/**
 * A 64-bit hash of a row's canonical text: the length-prefixed text of each column (`N` for NULL),
 * MD5, the second half of the digest as an unsigned integer. As data-diff does, its SUM over a key
 * range is the range's checksum; MySQL sums exactly in DECIMAL, ClickHouse in UInt128.
 */
export function sourceRowHash(spec: TableSpec): string {
  const pieces = spec.columns.map((c) => {
    const text = `CAST(${sourceText(c)} AS BINARY)`;
    const piece = `CONCAT(OCTET_LENGTH(${text}), ':', ${text})`;
    return c.nullable ? `IFNULL(${piece}, 'N')` : piece;
  });
  return `CAST(CONV(SUBSTRING(MD5(CONCAT(${pieces.join(', ')})), 17), 16, 10) AS UNSIGNED)`;
}

export function sinkRowHash(spec: TableSpec): string {
  const pieces = spec.columns.map((c) => {
    const piece = `concat(toString(length(${sinkText(c)})), ':', ${sinkText(c)})`;
    return c.nullable ? `ifNull(${piece}, 'N')` : piece;
  });
  return `reinterpretAsUInt64(reverse(substring(MD5(concat(${pieces.join(', ')})), 9, 8)))`;
}

/** Columns a bucket sums: every integer and decimal column. */
export function numericColumns(spec: TableSpec): ColumnSpec[] {
  return spec.columns.filter((c) => c.kind === 'integer' || c.kind === 'decimal');
}

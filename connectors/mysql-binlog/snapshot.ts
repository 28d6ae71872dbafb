/**
 * The snapshot's reads from the source: one primary-key chunk at a time between two watermarks
 * (incremental-snapshot.ts), with the CDC user's privileges only (SELECT, REPLICATION CLIENT): no lock,
 * no write, no signal table. Each chunk is one short statement, so writers are never held up.
 *
 * Watermarks are binlog coordinates. The high one is SHOW MASTER STATUS after the SELECT. The low one,
 * on MariaDB, is the exact binlog point of the chunk's own read view: the SELECT runs in a transaction
 * opened WITH CONSISTENT SNAPSHOT, whose coordinates MariaDB reports as binlog_snapshot_file/position
 * (everything up to them is visible, nothing after). MySQL has no such report without a global read
 * lock (and the RELOAD privilege): its low watermark is SHOW MASTER STATUS before the SELECT, as in
 * Flink CDC's MySqlSnapshotSplitReadTask.
 */
import mysql from 'mysql2/promise';
import type { BinlogPosition } from './binlog-reader.js';
import { buildTableSchema, type CanalTableSchema } from './canal/column-types.js';
import { canalText } from './canal/values.js';
import { keyText, type ChunkRead } from './incremental-snapshot.js';
import type { SnapshotTableRef, StoredKeyValue } from './position-store.js';
import type { ServerFlavour } from './preflight.js';
import type { TableColumns } from './schema-cache.js';

export type SnapshotValue = string | Buffer | null;
export type SnapshotRow = Record<string, SnapshotValue>;

export interface SnapshotTable {
  database: string;
  table: string;
  /** primary-key columns in key order (keyset pagination); empty: read in one pass */
  keyColumns: string[];
}

/** Rows of a table for the encoder (encoder.ts). */
export interface SnapshotChunk {
  table: SnapshotTableRef;
  rows: SnapshotRow[];
}

/**
 * The session time zone of the snapshot connection, in which the server prints TIMESTAMP values: the
 * zone the binlog path renders them in (binlog-reader.ts). The one place it is set.
 */
const SNAPSHOT_TIME_ZONE = '+00:00';

/** The table's columns changed between reading its schema and its SELECT: read the schema again. */
export class TableChangedError extends Error {
  constructor(table: TableColumns, cause: Error) {
    super(`${table.database}.${table.table} changed while its chunk was read: ${cause.message}`);
    this.name = 'TableChangedError';
  }
}

/**
 * Every value as the text the server prints (exactly what Canal's string values are), binary
 * columns as bytes so the encoder renders them like binlog values.
 */
const asServerText: mysql.TypeCast = (field) => {
  if (field.type === 'BIT') return field.buffer();
  const binaryCapable = field.type === 'BLOB' || field.type === 'TINY_BLOB' || field.type === 'MEDIUM_BLOB' || field.type === 'LONG_BLOB' || field.type === 'STRING' || field.type === 'VAR_STRING' || field.type === 'GEOMETRY';
  // Binary collation (63) marks BINARY/VARBINARY/BLOB; text types keep their text.
  if (binaryCapable && (field as unknown as { characterSet?: number }).characterSet === 63) return field.buffer();
  return field.string();
};

function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * The select list of a table's columns. The server prints a FLOAT with 6 significant digits, which
 * does not read back as the stored value; as a DOUBLE it prints every digit of the same value, which
 * the Canal rules then render like the binlog's 4-byte float (values.ts).
 */
export function selectList(columns: ReadonlyArray<{ COLUMN_NAME: string; DATA_TYPE: string }>): string {
  return columns.map((c) => (c.DATA_TYPE.toLowerCase() === 'float' ? `CAST(${quoteIdent(c.COLUMN_NAME)} AS DOUBLE) AS ${quoteIdent(c.COLUMN_NAME)}` : quoteIdent(c.COLUMN_NAME))).join(', ');
}

function storedKey(value: SnapshotValue | undefined): StoredKeyValue {
  if (value === undefined || value === null) return null;
  return Buffer.isBuffer(value) ? { base64: value.toString('base64') } : value;
}

function keyParameter(value: StoredKeyValue): SnapshotValue {
  return value !== null && typeof value === 'object' ? Buffer.from(value.base64, 'base64') : value;
}

/**
 * The rows after a key, in key order: (a, b) > (x, y) written as a >= x AND (a > x OR b > y), which
 * both servers read as a range of the primary key; the row-value form makes MariaDB scan the index
 * from its start on every chunk.
 */
export function keysetAfter(keys: readonly string[], values: readonly SnapshotValue[]): { sql: string; params: SnapshotValue[] } {
  const [first, ...rest] = keys;
  if (first === undefined || keys.length !== values.length) throw new Error('a key value per key column');
  if (rest.length === 0) return { sql: `WHERE ${first} > ?`, params: [values[0] as SnapshotValue] };
  // after(i) = k_i > v_i OR (k_i = v_i AND after(i + 1)); after(last) = k_last > v_last
  const params: SnapshotValue[] = [];
  const after = (i: number): string => {
    const k = keys[i] as string;
    if (i === keys.length - 1) {
      params.push(values[i] as SnapshotValue);
      return `${k} > ?`;
    }
    params.push(values[i] as SnapshotValue, values[i] as SnapshotValue);
    return `(${k} > ? OR (${k} = ? AND ${after(i + 1)}))`;
  };
  const chain = after(0);
  return { sql: `WHERE ${first} >= ? AND ${chain}`, params: [values[0] as SnapshotValue, ...params] };
}

/** The rows with keys in (after, upTo] (either bound absent: open), as a WHERE clause ('' when both are). */
export function keysetRange(keys: readonly string[], after: readonly SnapshotValue[] | null, upTo: readonly SnapshotValue[] | undefined): { sql: string; params: SnapshotValue[] } {
  const parts: string[] = [];
  const params: SnapshotValue[] = [];
  if (after !== null) {
    const lower = keysetAfter(keys, after);
    parts.push(lower.sql.slice('WHERE '.length));
    params.push(...lower.params);
  }
  if (upTo !== undefined) {
    // keys <= upTo is NOT (keys > upTo): primary-key columns are never NULL
    const upper = keysetAfter(keys, upTo);
    parts.push(`NOT (${upper.sql.slice('WHERE '.length)})`);
    params.push(...upper.params);
  }
  return { sql: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, params };
}

const NO_SUCH_TABLE = 1146;
const BAD_FIELD = 1054;

export class ChunkReader {
  /** Canal schemas for the key texts, per schema-cache entry */
  private readonly schemas = new WeakMap<TableColumns, CanalTableSchema | null>();

  private constructor(private readonly conn: mysql.Connection, private readonly flavour: ServerFlavour) {}

  static async open(options: mysql.ConnectionOptions, flavour: ServerFlavour): Promise<ChunkReader> {
    const conn = await mysql.createConnection({ ...options, typeCast: asServerText, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: 'utf8mb4' });
    try {
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await conn.query(`SET SESSION time_zone = '${SNAPSHOT_TIME_ZONE}'`);
      return new ChunkReader(conn, flavour);
    } catch (err) {
      await conn.end().catch(() => undefined);
      throw err;
    }
  }

  /** Where everything committed so far ends, with its GTIDs: a snapshot's stream starts here. */
  async currentPosition(): Promise<BinlogPosition> {
    if (this.flavour === 'mariadb') {
      const low = await this.inConsistentSnapshot(async () => undefined);
      const [gtid] = await this.conn.query<mysql.RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [low.position.file, low.position.pos]);
      return { ...low.position, gtid: String(gtid[0]?.gtid ?? '') };
    }
    const [status] = await this.conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    const row = status[0];
    if (row === undefined) throw new Error('SHOW MASTER STATUS returned nothing: is the binlog enabled?');
    return { file: String(row.File), pos: Number(row.Position), gtid: String(row.Executed_Gtid_Set ?? '').replace(/\s+/g, '') };
  }

  /** The `size` rows after key `after` (from the first row when null), up to key `upTo` when given, in primary-key order, with their watermarks. */
  async read(table: TableColumns, after: StoredKeyValue[] | null, size: number, upTo?: StoredKeyValue[]): Promise<ChunkRead> {
    const keyless = table.primaryKey.length === 0;
    if (table.columns.length === 0) return this.missing(keyless);
    const from = `${quoteIdent(table.database)}.${quoteIdent(table.table)}`;
    const keys = table.primaryKey.map(quoteIdent);
    const where = keysetRange(keys, after === null ? null : after.map(keyParameter), upTo?.map(keyParameter));
    const sql = keyless ? `SELECT ${selectList(table.columns)} FROM ${from}` : `SELECT ${selectList(table.columns)} FROM ${from} ${where.sql} ORDER BY ${keys.join(', ')} LIMIT ${size}`;
    const select = async (): Promise<SnapshotRow[]> => (await this.conn.query<mysql.RowDataPacket[]>(sql, where.params))[0] as SnapshotRow[];
    let low: BinlogPosition;
    let rows: SnapshotRow[];
    try {
      if (this.flavour === 'mariadb') ({ position: low, result: rows } = await this.inConsistentSnapshot(select));
      else {
        low = await this.masterStatus();
        rows = await select();
      }
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      if (errno === NO_SUCH_TABLE) return this.missing(keyless);
      if (errno === BAD_FIELD) throw new TableChangedError(table, err as Error);
      throw err;
    }
    // A table without primary key is read whole, at MariaDB's exact point: it goes into the stream right there.
    const high = keyless && this.flavour === 'mariadb' ? low : await this.masterStatus();
    const tail = rows[rows.length - 1];
    return {
      rows,
      keys: keyless ? [] : rows.map((row) => this.keyOf(table, row)),
      keyless,
      low,
      high,
      next: keyless || rows.length < size || tail === undefined ? null : table.primaryKey.map((k) => storedKey(tail[k])),
      missing: false,
    };
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => undefined);
  }

  private missing(keyless: boolean): ChunkRead {
    const nowhere = { file: '', pos: 0, gtid: '' };
    return { rows: [], keys: [], keyless, low: nowhere, high: nowhere, next: null, missing: true };
  }

  /** `body` in a transaction opened WITH CONSISTENT SNAPSHOT, and the binlog point of that snapshot (MariaDB). */
  private async inConsistentSnapshot<T>(body: () => Promise<T>): Promise<{ position: BinlogPosition; result: T }> {
    await this.conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    try {
      const [status] = await this.conn.query<mysql.RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
      const vars = Object.fromEntries(status.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
      const file = vars.binlog_snapshot_file ?? '';
      if (file === '') throw new Error('the server reported no binlog coordinates for the snapshot (binlog_snapshot_file)');
      const position = { file, pos: Number(vars.binlog_snapshot_position), gtid: '' };
      return { position, result: await body() };
    } finally {
      await this.conn.query('COMMIT');
    }
  }

  private async masterStatus(): Promise<BinlogPosition> {
    const [status] = await this.conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    const row = status[0];
    if (row === undefined) throw new Error('SHOW MASTER STATUS returned nothing: is the binlog enabled?');
    return { file: String(row.File), pos: Number(row.Position), gtid: '' };
  }

  /** The row's key as the Canal texts a binlog image of it carries (an ENUM key as its index, a FLOAT as Java prints it). */
  private keyOf(table: TableColumns, row: SnapshotRow): string {
    let schema = this.schemas.get(table);
    if (schema === undefined) {
      try {
        schema = buildTableSchema(table.database, table.table, table.columns, { primaryKeyColumns: table.primaryKey });
      } catch {
        // A column Canal cannot render: the encoder dead-letters these rows, and their binlog events too.
        schema = null;
      }
      this.schemas.set(table, schema);
    }
    const raw = (): string => keyText(table.primaryKey.map((k) => JSON.stringify(storedKey(row[k]))));
    if (schema === null) return raw();
    const columns = schema.columns;
    try {
      return keyText(schema.pkNames.map((name) => canalText(columns.find((c) => c.name === name) as (typeof columns)[number], row[name] ?? null)));
    } catch {
      // A value the Canal rules refuse: the encoder dead-letters the row with the reason.
      return raw();
    }
  }
}

/**
 * Initial snapshot, consistent with the binlog position streaming then starts from, without a
 * global read lock: one REPEATABLE READ transaction opened WITH CONSISTENT SNAPSHOT, whose exact
 * binlog coordinates MariaDB reports as binlog_snapshot_file/position (MySQL needs a brief
 * FLUSH TABLES WITH READ LOCK instead, and the RELOAD privilege). Rows are read in primary-key
 * chunks (keyset pagination) inside that one transaction, so writers are never blocked.
 */
import mysql from 'mysql2/promise';
import type { BinlogPosition } from './binlog-reader.js';
import type { ServerFlavour } from './preflight.js';

export type SnapshotValue = string | Buffer | null;
export type SnapshotRow = Record<string, SnapshotValue>;

export interface SnapshotTable {
  database: string;
  table: string;
  /** primary-key columns in key order (keyset pagination); empty: read in one pass */
  keyColumns: string[];
}

export interface SnapshotChunk {
  table: SnapshotTable;
  rows: SnapshotRow[];
  /** true on the table's last chunk */
  last: boolean;
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

export class ConsistentSnapshot {
  private constructor(private readonly conn: mysql.Connection, readonly position: BinlogPosition) {}

  static async open(options: mysql.ConnectionOptions, flavour: ServerFlavour): Promise<ConsistentSnapshot> {
    const conn = await mysql.createConnection({ ...options, typeCast: asServerText, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: 'utf8mb4' });
    try {
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await conn.query("SET SESSION time_zone = '+00:00'");
      let position: BinlogPosition;
      if (flavour === 'mariadb') {
        await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
        const [status] = await conn.query<mysql.RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
        const vars = Object.fromEntries(status.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
        const file = vars.binlog_snapshot_file ?? '';
        const pos = Number(vars.binlog_snapshot_position);
        const [gtidRows] = await conn.query<mysql.RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [file, pos]);
        position = { file, pos, gtid: String(gtidRows[0]?.gtid ?? '') };
      } else {
        await conn.query('FLUSH TABLES WITH READ LOCK');
        try {
          await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
          const [status] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
          const [gtidRows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.gtid_executed AS gtid');
          position = { file: String(status[0]?.File), pos: Number(status[0]?.Position), gtid: String(gtidRows[0]?.gtid ?? '').replace(/\s+/g, '') };
        } finally {
          await conn.query('UNLOCK TABLES');
        }
      }
      if (position.file === '') throw new Error('the server reported no binlog coordinates for the snapshot');
      return new ConsistentSnapshot(conn, position);
    } catch (err) {
      await conn.end().catch(() => undefined);
      throw err;
    }
  }

  /** Reads one table in primary-key order, `chunkSize` rows at a time. */
  async *read(table: SnapshotTable, chunkSize: number): AsyncGenerator<SnapshotChunk> {
    const from = `${quoteIdent(table.database)}.${quoteIdent(table.table)}`;
    const [columns] = await this.conn.query<mysql.RowDataPacket[]>(
      'SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [table.database, table.table],
    );
    const list = selectList(columns as Array<{ COLUMN_NAME: string; DATA_TYPE: string }>);
    if (table.keyColumns.length === 0) {
      const [rows] = await this.conn.query<mysql.RowDataPacket[]>(`SELECT ${list} FROM ${from}`);
      yield { table, rows: rows as SnapshotRow[], last: true };
      return;
    }
    const keys = table.keyColumns.map(quoteIdent);
    const order = keys.join(', ');
    let after: SnapshotValue[] | undefined;
    for (;;) {
      // Row-value comparison (a, b) > (?, ?) continues exactly after the last key read.
      const where = after === undefined ? '' : `WHERE (${order}) > (${keys.map(() => '?').join(', ')})`;
      const [rows] = await this.conn.query<mysql.RowDataPacket[]>(`SELECT ${list} FROM ${from} ${where} ORDER BY ${order} LIMIT ${chunkSize}`, after ?? []);
      const last = rows.length < chunkSize;
      yield { table, rows: rows as SnapshotRow[], last };
      if (last) return;
      const tail = rows[rows.length - 1] as SnapshotRow;
      after = table.keyColumns.map((k) => tail[k] ?? null);
    }
  }

  async close(): Promise<void> {
    await this.conn.query('COMMIT').catch(() => undefined);
    await this.conn.end().catch(() => undefined);
  }
}

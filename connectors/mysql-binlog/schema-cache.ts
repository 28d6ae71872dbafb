/** Column metadata per table from information_schema, cached until a DDL touches the table. */
import mysql from 'mysql2/promise';
import type { InformationSchemaColumn } from './canal/column-types.js';
import type { ServerTimeZone } from './canal/time-zone.js';
import type { SnapshotTable } from './snapshot.js';

export interface TableColumns {
  database: string;
  table: string;
  columns: InformationSchemaColumn[];
  /** primary key columns in key order */
  primaryKey: string[];
}

export class SchemaCache {
  private readonly tables = new Map<string, Promise<TableColumns>>();
  private pool: mysql.Pool | undefined;

  constructor(private readonly connection: mysql.ConnectionOptions) {}

  get(database: string, table: string): Promise<TableColumns> {
    const key = `${database}.${table}`;
    let entry = this.tables.get(key);
    if (entry === undefined) {
      entry = this.load(database, table);
      entry.catch(() => this.tables.delete(key));
      this.tables.set(key, entry);
    }
    return entry;
  }

  /** After DDL: forget one table, or a whole database when the statement's table is unknown. */
  invalidate(database: string, table?: string): void {
    if (table !== undefined) {
      this.tables.delete(`${database}.${table}`);
      return;
    }
    for (const key of this.tables.keys()) if (key.startsWith(`${database}.`)) this.tables.delete(key);
  }

  async listTables(accepts: (database: string, table: string) => boolean): Promise<SnapshotTable[]> {
    const [rows] = await this.db().query<mysql.RowDataPacket[]>(
      "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY TABLE_SCHEMA, TABLE_NAME",
    );
    const tables: SnapshotTable[] = [];
    for (const r of rows) {
      const database = String(r.db);
      const table = String(r.tbl);
      if (!accepts(database, table)) continue;
      const t = await this.get(database, table);
      tables.push({ database, table, keyColumns: t.primaryKey });
    }
    return tables;
  }

  /** How the server prints TIMESTAMP: its global and system time zones, and the global one's offset now. */
  async timeZoneSettings(): Promise<ServerTimeZone> {
    const [rows] = await this.db().query<mysql.RowDataPacket[]>(
      'SELECT @@global.time_zone AS global_zone, @@system_time_zone AS system_zone, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW()) AS offset_seconds',
    );
    const row = rows[0];
    return { global: String(row?.global_zone ?? ''), system: String(row?.system_zone ?? ''), offsetSeconds: Number(row?.offset_seconds ?? 0) };
  }

  async close(): Promise<void> {
    await this.pool?.end();
    this.pool = undefined;
  }

  private db(): mysql.Pool {
    this.pool ??= mysql.createPool({ ...this.connection, connectionLimit: 2 });
    return this.pool;
  }

  private async load(database: string, table: string): Promise<TableColumns> {
    const [columns] = await this.db().query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY, NUMERIC_SCALE, DATETIME_PRECISION
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [database, table],
    );
    const [keys] = await this.db().query<mysql.RowDataPacket[]>(
      "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
      [database, table],
    );
    return {
      database,
      table,
      columns: columns as InformationSchemaColumn[],
      primaryKey: keys.map((k) => String(k.COLUMN_NAME)),
    };
  }
}

/**
 * The MySQL side of reconcile, as the CDC user (MYSQL_USER, SELECT only). Reads are plain
 * autocommit SELECTs: InnoDB serves each from a consistent snapshot without a lock, so writers
 * are never blocked, and no statement reads more than one bounded chunk of rows.
 */
import mysql from 'mysql2/promise';
import type { RtdwConfig } from '../../schemas/config.js';

export type SqlValue = string | number | bigint | null;

export interface MysqlReader {
  /** the source database (MYSQL_DATABASE); statements name it explicitly, so a missing one is reported per table */
  readonly database: string;
  rows<T>(sql: string, params?: SqlValue[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Every value as the text the server prints (DECIMAL with its scale, DATETIME(3) with its milliseconds). */
const asText: mysql.TypeCast = (field) => field.string();

export async function connectMysql(options: RtdwConfig['mysql'], connections = 2): Promise<MysqlReader> {
  const pool = mysql.createPool({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    connectionLimit: connections,
    connectTimeout: 10_000,
    charset: 'utf8mb4',
    typeCast: asText,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  try {
    const conn = await pool.getConnection();
    conn.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`MySQL at ${options.host}:${options.port} (user ${options.user}) is unreachable: ${(err as Error).message}`);
  }
  return {
    database: options.database,
    async rows<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
      const [rows] = await pool.query(sql, params);
      return rows as T[];
    },
    close: () => pool.end(),
  };
}

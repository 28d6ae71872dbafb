/**
 * Writes the model's row actions to the source database as the application does: with the app
 * user (never the CDC user), a batch per transaction, many rows per INSERT, one round trip per
 * few MB of SQL. Dimension rows are upserted, so re-running a seed writes nothing new.
 */
import mysql from 'mysql2/promise';
import type { RtdwConfig } from '../../schemas/config.js';
import { SOURCE_TABLES, type SourceTable } from '../../schemas/events.js';
import { DIMENSION_TABLES, SOURCE_COLUMNS, type RowAction } from './actions.js';

/** Below MariaDB's default max_allowed_packet (16 MiB), with room. */
const MAX_QUERY_CHARS = 4 * 1024 * 1024;
const MAX_ROWS_PER_INSERT = 5_000;
/** the tables ids of new rows can clash with: users (sign-ups) and the facts */
const GROWING_TABLES: readonly SourceTable[] = ['users', 'orders', 'order_items', 'payments', 'refunds'];

export async function connectSource(config: RtdwConfig, database = config.mysql.database): Promise<mysql.Connection> {
  const { host, port, app } = config.mysql;
  return mysql.createConnection({ host, port, database, user: app.user, password: app.password, multipleStatements: true, charset: 'utf8mb4' });
}

/** Throws, naming what is missing, unless every source table exists (created by `rtdw setup`). */
export async function checkSourceTables(conn: mysql.Connection, database: string): Promise<void> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?', [database]);
  const present = new Set(rows.map((r) => String(r.name)));
  const missing = SOURCE_TABLES.filter((t) => !present.has(t));
  if (missing.length > 0) throw new Error(`database ${database} lacks the source tables ${missing.join(', ')}: run \`rtdw setup\` first (DDL in schemas/source/shop.sql)`);
}

/** The largest id in the tables new rows go to: the default id base, so that a new run never reuses an id. */
export async function largestId(conn: mysql.Connection): Promise<number> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT GREATEST(${GROWING_TABLES.map((t) => `COALESCE((SELECT MAX(id) FROM \`${t}\`), 0)`).join(', ')}) AS id`);
  return Number(rows[0]?.id ?? 0);
}

/** Row values are ids and counts, decimal and DATETIME text, and names. */
function sqlValue(value: string | number | null | undefined): string {
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return 'NULL';
  return mysql.escape(value);
}

type ColumnValues = Record<string, string | number | null>;

/** Statements of one batch, in an order with the batch's effect: inserts (per table, in order), then updates in order, then deletes per table. */
export function batchStatements(actions: readonly RowAction[]): string[] {
  const inserts = new Map<SourceTable, string[]>();
  const deletes = new Map<SourceTable, number[]>();
  const updates: string[] = [];
  // Ids are never reused, and a row is only updated or deleted after its insert: inserts first, then
  // updates, then deletes give every row its final state (a batch is one transaction).
  for (const a of actions) {
    if (a.op === 'insert') {
      const values = (SOURCE_COLUMNS[a.table] as readonly string[]).map((c) => sqlValue((a.row as unknown as ColumnValues)[c])).join(',');
      let list = inserts.get(a.table);
      if (list === undefined) inserts.set(a.table, (list = []));
      list.push(`(${values})`);
    } else if (a.op === 'update') {
      const set = Object.entries(a.set as ColumnValues).map(([c, v]) => `\`${c}\`=${sqlValue(v)}`).join(',');
      updates.push(`UPDATE \`${a.table}\` SET ${set} WHERE id=${a.id}`);
    } else {
      let list = deletes.get(a.table);
      if (list === undefined) deletes.set(a.table, (list = []));
      list.push(a.id);
    }
  }
  const statements: string[] = [];
  for (const table of SOURCE_TABLES) {
    const rows = inserts.get(table);
    if (rows === undefined) continue;
    const columns = SOURCE_COLUMNS[table] as readonly string[];
    const head = `INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(',')}) VALUES `;
    const upsert = DIMENSION_TABLES.has(table) ? ` ON DUPLICATE KEY UPDATE ${columns.filter((c) => c !== 'id').map((c) => `\`${c}\`=VALUES(\`${c}\`)`).join(',')}` : '';
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) statements.push(head + rows.slice(i, i + MAX_ROWS_PER_INSERT).join(',') + upsert);
  }
  statements.push(...updates);
  for (const table of SOURCE_TABLES) {
    const ids = deletes.get(table);
    if (ids === undefined) continue;
    for (let i = 0; i < ids.length; i += MAX_ROWS_PER_INSERT) statements.push(`DELETE FROM \`${table}\` WHERE id IN (${ids.slice(i, i + MAX_ROWS_PER_INSERT).join(',')})`);
  }
  return statements;
}

/** Writes the actions in one transaction; on failure rolls back and throws with what was being written. */
export async function writeRows(conn: mysql.Connection, actions: readonly RowAction[]): Promise<void> {
  if (actions.length === 0) return;
  const queries: string[] = [];
  let current = 'START TRANSACTION';
  for (const statement of batchStatements(actions)) {
    if (current.length + statement.length > MAX_QUERY_CHARS && current.length > 0) {
      queries.push(current);
      current = '';
    }
    current += current.length > 0 ? `;${statement}` : statement;
  }
  queries.push(`${current};COMMIT`);
  try {
    for (const q of queries) await conn.query(q);
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    const tables = [...new Set(actions.map((a) => a.table))].join(', ');
    throw new Error(`MySQL rejected a batch of ${actions.length} row writes to ${tables} (rolled back): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

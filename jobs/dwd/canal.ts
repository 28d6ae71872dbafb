/**
 * Canal flat messages (connectors/mysql-binlog/canal/flat-message.ts) as row changes: INSERT has the
 * new row, DELETE the deleted one, UPDATE the full new row in `data` and the changed columns' old values
 * in `old`, so the row before is `{...data, ...old}`. Snapshot rows are INSERTs. DDL carries no rows.
 */
import type { CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';

export interface RowChange {
  readonly database: string;
  readonly table: string;
  /** the row before the change: UPDATE and DELETE */
  readonly before: CanalRow | null;
  /** the row after the change: INSERT and UPDATE */
  readonly after: CanalRow | null;
}

export interface BinlogMessage {
  /** binlog time of the change, epoch ms */
  readonly es: number;
  /** a DDL statement's type (CREATE, ALTER, TRUNCATE, ERASE, ...) and table; null for row changes */
  readonly ddl: { readonly type: string; readonly database: string; readonly table: string } | null;
  readonly changes: readonly RowChange[];
}

function isRow(value: unknown): value is CanalRow {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  for (const v of Object.values(value)) if (v !== null && typeof v !== 'string') return false;
  return true;
}

function rows(value: unknown, field: string): CanalRow[] {
  if (!Array.isArray(value) || !value.every(isRow)) throw new Error(`canal message: ${field} must be an array of rows of text values`);
  return value;
}

/** Throws with the reason when the message is not a Canal flat message. */
export function parseBinlogMessage(value: Buffer | null): BinlogMessage {
  if (value === null) throw new Error('canal message: empty record');
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(value.toString()) as Record<string, unknown>;
  } catch {
    throw new Error('canal message: not JSON');
  }
  if (m === null || typeof m !== 'object') throw new Error('canal message: not a JSON object');
  const { es, database, table, type, isDdl } = m;
  if (typeof es !== 'number' || !Number.isSafeInteger(es)) throw new Error('canal message: es must be epoch ms');
  if (typeof database !== 'string' || typeof table !== 'string' || typeof type !== 'string') throw new Error('canal message: database, table and type must be strings');
  if (isDdl === true) return { es, ddl: { type, database, table }, changes: [] };
  if (type === 'INSERT') return { es, ddl: null, changes: rows(m.data, 'data').map((after) => ({ database, table, before: null, after })) };
  if (type === 'DELETE') return { es, ddl: null, changes: rows(m.data, 'data').map((before) => ({ database, table, before, after: null })) };
  if (type === 'UPDATE') {
    const data = rows(m.data, 'data');
    const old = m.old === null ? data.map(() => ({})) : rows(m.old, 'old');
    if (old.length !== data.length) throw new Error('canal message: an UPDATE needs one old row per data row');
    return { es, ddl: null, changes: data.map((after, i) => ({ database, table, before: { ...after, ...old[i] }, after })) };
  }
  // QUERY, XACOMMIT, XAROLLBACK: no row images
  return { es, ddl: null, changes: [] };
}

/** Canal flat messages as rtdw's CDC writes them (keyed mode: one row per message), for tests of jobs reading the binlog topic. */
import { serializeFlatMessage, type CanalFlatMessage, type CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';

const PKS: Readonly<Record<string, string[]>> = { orders: ['id'], payments: ['id'], areas: ['id'], users: ['id'] };

export interface CanalChange {
  table: string;
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  /** the new row (INSERT, UPDATE) or the deleted one (DELETE) */
  row: CanalRow;
  /** UPDATE: the changed columns' old values */
  old?: CanalRow;
  /** binlog time, epoch ms */
  es: number;
  database?: string;
  snapshot?: boolean;
}

export function canalMessage(c: CanalChange): { key: string; value: string } {
  const database = c.database ?? 'shop';
  const pkNames = PKS[c.table] ?? ['id'];
  const message: CanalFlatMessage = {
    data: [c.row],
    database,
    es: c.es,
    gtid: '',
    id: 1,
    isDdl: false,
    mysqlType: Object.fromEntries(Object.keys(c.row).map((k) => [k, 'varchar(64)'])),
    old: c.type === 'UPDATE' ? [c.old ?? {}] : null,
    pkNames,
    sql: '',
    sqlType: Object.fromEntries(Object.keys(c.row).map((k) => [k, 12])),
    table: c.table,
    ts: c.es + 5,
    type: c.type,
    ...(c.snapshot === true ? { isSnapshot: true as const } : {}),
  };
  return { key: JSON.stringify([database, c.table, ...pkNames.map((k) => c.row[k] ?? null)]), value: serializeFlatMessage(message) };
}

export function canalDdl(table: string, type: CanalFlatMessage['type'], sql: string, es: number, database = 'shop'): { key: string; value: string } {
  const message: CanalFlatMessage = { data: null, database, es, gtid: '', id: 1, isDdl: true, mysqlType: null, old: null, pkNames: null, sql, sqlType: null, table, ts: es + 5, type };
  return { key: JSON.stringify([database, table]), value: serializeFlatMessage(message) };
}

/**
 * A source table and its ODS mirror as lines of text, each side printed by its own engine in SQL
 * written here: MySQL's CAST(... AS CHAR) against ClickHouse's toString / toDecimalString, read from
 * `ods_<table> FINAL WHERE _is_deleted = 0`. DATETIME columns are wall-clock text on both sides.
 */
import type mysql from 'mysql2/promise';
import { quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';

const SEP = '\u001f';

export interface SourceColumn {
  name: string;
  dataType: string;
  scale: number | null;
}

/** Each table's columns, from information_schema, in table order. */
export async function sourceColumns(db: mysql.Connection, database: string): Promise<Map<string, SourceColumn[]>> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS d, NUMERIC_SCALE AS s FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION',
    [database],
  );
  const tables = new Map<string, SourceColumn[]>();
  for (const r of rows) {
    const columns = tables.get(String(r.t)) ?? [];
    columns.push({ name: String(r.c), dataType: String(r.d), scale: r.s === null ? null : Number(r.s) });
    tables.set(String(r.t), columns);
  }
  return tables;
}

export async function sourceLines(db: mysql.Connection, database: string, table: string, columns: readonly SourceColumn[]): Promise<string[]> {
  const fields = columns.map((c) => `CAST(\`${c.name}\` AS CHAR)`).join(', ');
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT CONCAT_WS(?, ${fields}) AS line FROM \`${database}\`.\`${table}\` ORDER BY id`, [SEP]);
  return rows.map((r) => String(r.line));
}

export async function mirrorLines(client: ClickHouseClient, database: string, table: string, columns: readonly SourceColumn[]): Promise<string[]> {
  const fields = columns.map((c) => (c.dataType === 'decimal' ? `toDecimalString(${quoteIdentifier(c.name)}, ${c.scale ?? 0})` : `toString(${quoteIdentifier(c.name)})`)).join(', ');
  const rs = await client.query({
    query: `SELECT concatWithSeparator({sep:String}, ${fields}) AS line FROM ${quoteIdentifier(database)}.${quoteIdentifier(`ods_${table}`)} FINAL WHERE _is_deleted = 0 ORDER BY id`,
    query_params: { sep: SEP },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ line: string }>()).map((r) => r.line);
}

/** The first difference of two sorted line lists, readable; undefined when they are equal. */
export function firstDifference(what: string, expected: readonly string[], got: readonly string[]): string | undefined {
  if (expected.length === got.length && expected.every((line, i) => line === got[i])) return undefined;
  const at = expected.findIndex((line, i) => line !== got[i]);
  const i = at === -1 ? expected.length : at;
  const show = (line: string | undefined) => (line === undefined ? '(none)' : line.replaceAll(SEP, ' | '));
  const [want, have] = [new Set(expected), new Set(got)];
  const missing = expected.filter((l) => !have.has(l)).length;
  const extra = got.filter((l) => !want.has(l)).length;
  return `${what}: ${expected.length} expected rows, ${got.length} got (${missing} missing, ${extra} unexpected); first difference at row ${i}: expected ${show(expected[i])}, got ${show(got[i])}`;
}

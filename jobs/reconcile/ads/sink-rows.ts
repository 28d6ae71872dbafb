/** An ADS table as ClickHouse holds it: `FINAL WHERE _is_deleted = 0`, the judged windows only, as canonical text. */
import type { ClickHouseReader } from '../clickhouse.js';
import { quoted } from '../sql.js';
import { TIME_COLUMNS, type AdsRow, type AdsTableDef } from './tables.js';
import type { JudgedWindows } from './windows.js';

export async function sinkRows(clickhouse: ClickHouseReader, def: AdsTableDef, w: JudgedWindows): Promise<AdsRow[]> {
  if (w.kind === 'day' ? w.days.length === 0 : w.until <= w.from) return [];
  const columns = [...def.keys, ...def.figures.map((f) => f.name)];
  // Aliased c0, c1, …: in ClickHouse an alias named like a column would replace that column in WHERE.
  const select = columns.map((c, i) => (TIME_COLUMNS.has(c) ? `toString(toUnixTimestamp(${quoted(c)}) * 1000) AS c${i}` : `toString(${quoted(c)}) AS c${i}`)).join(', ');
  const first = quoted(def.keys[0] ?? '');
  const where = w.kind === 'day' ? `${first} IN {days:Array(Date)}` : `${first} >= toDateTime({from:Int64}, 'UTC') AND ${first} < toDateTime({until:Int64}, 'UTC')`;
  const params = w.kind === 'day' ? { days: w.days.map((d) => d.day) } : { from: w.from / 1000, until: w.until / 1000 };
  const rows = await clickhouse.rows<Record<string, string>>(`SELECT ${select} FROM ${quoted(def.table)} FINAL WHERE _is_deleted = 0 AND ${where}`, params);
  return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[`c${i}`] ?? ''])));
}

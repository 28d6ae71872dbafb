/**
 * The reads of check 2, on each side, over primary-key segments (lo, hi]: checksums (count and sum
 * of the row hash, tables.ts), key bounds, and rows as canonical text. The mirror is always read as
 * `FINAL WHERE _is_deleted = 0`; an event-time filter, when the table has one, limits both sides
 * to the judged wall-clock range.
 */
import type { CheckContext } from './check.js';
import { parseSinkType, sinkRowHash, sinkText, sourceRowHash, sourceText, type TableSpec } from './tables.js';
import { quoted } from './sql.js';
import type { SqlValue } from './mysql.js';
import { parseWall } from './wall-clock.js';

/** Primary keys (lo, hi]; an absent bound is open. */
export interface Segment {
  lo?: bigint;
  hi?: bigint;
}

export interface Checksum {
  count: number;
  sum: string;
}

/** A row as the canonical text of each compared column (column → text; null for NULL). */
export type RowText = Record<string, string | null>;

/** The judged event-time range, [from, to) in wall-clock text. */
export interface TimeFilter {
  column: string;
  from: string;
  to: string;
}

type Params = Record<string, unknown>;

export function sameChecksum(a: Checksum, b: Checksum): boolean {
  return a.count === b.count && a.sum === b.sum;
}

export class RowSides {
  private readonly source: string;
  private readonly sink: string;
  private readonly key: string;
  /** the key's ClickHouse type, for its parameters */
  private readonly keyType: string;
  private readonly fromWall: number | undefined;
  private readonly toWall: number | undefined;

  constructor(private readonly ctx: CheckContext, readonly spec: TableSpec, readonly filter: TimeFilter | undefined) {
    this.source = `${quoted(ctx.mysql.database)}.${quoted(spec.table)}`;
    this.sink = quoted(spec.mirror);
    this.key = quoted(spec.key.name);
    this.keyType = spec.key.sinkType.replace(/^(?:Nullable|LowCardinality)\((.*)\)$/, '$1');
    if (parseSinkType(this.keyType)?.kind !== 'integer') throw new Error(`${spec.mirror}.${spec.key.name}: not an integer key (${spec.key.sinkType})`);
    this.fromWall = filter === undefined ? undefined : parseWall(filter.from);
    this.toWall = filter === undefined ? undefined : parseWall(filter.to);
  }

  private sourceWhere(segment: Segment): { sql: string; params: SqlValue[] } {
    const parts: string[] = [];
    const params: SqlValue[] = [];
    if (segment.lo !== undefined) {
      parts.push(`${this.key} > ?`);
      params.push(segment.lo);
    }
    if (segment.hi !== undefined) {
      parts.push(`${this.key} <= ?`);
      params.push(segment.hi);
    }
    if (this.filter !== undefined) {
      const ts = quoted(this.filter.column);
      parts.push(`${ts} >= ? AND ${ts} < ?`);
      params.push(this.filter.from, this.filter.to);
    }
    return { sql: parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`, params };
  }

  private sinkWhere(segment: Segment): { sql: string; params: Params } {
    const parts = ['_is_deleted = 0'];
    const params: Params = {};
    if (segment.lo !== undefined) {
      parts.push(`${this.key} > {lo:${this.keyType}}`);
      params.lo = segment.lo;
    }
    if (segment.hi !== undefined) {
      parts.push(`${this.key} <= {hi:${this.keyType}}`);
      params.hi = segment.hi;
    }
    if (this.filter !== undefined) {
      const ts = quoted(this.filter.column);
      parts.push(`${ts} >= {from:String} AND ${ts} < {to:String}`);
      params.from = this.filter.from;
      params.to = this.filter.to;
    }
    return { sql: ` WHERE ${parts.join(' AND ')}`, params };
  }

  /**
   * The next chunk of at most `rows` source rows after key `lo`: its checksum and its last key, in
   * one bounded statement (keyset pagination, as sync-diff-inspector cuts chunks).
   */
  async sourceChunk(lo: bigint | undefined, rows: number): Promise<Checksum & { last: bigint | undefined }> {
    const where = this.sourceWhere({ ...(lo === undefined ? {} : { lo }) });
    const [row] = await this.ctx.mysql.rows<{ n: string; s: string | null; hi: string | null }>(
      `SELECT COUNT(*) AS n, CAST(SUM(h) AS CHAR) AS s, CAST(MAX(k) AS CHAR) AS hi
         FROM (SELECT ${this.key} AS k, ${sourceRowHash(this.spec)} AS h FROM ${this.source}${where.sql} ORDER BY ${this.key} LIMIT ?) AS chunk`,
      [...where.params, rows],
    );
    return { count: Number(row?.n ?? 0), sum: row?.s ?? '0', last: row?.hi === null || row?.hi === undefined ? undefined : BigInt(row.hi) };
  }

  async sourceChecksum(segment: Segment): Promise<Checksum> {
    const where = this.sourceWhere(segment);
    const [row] = await this.ctx.mysql.rows<{ n: string; s: string | null }>(
      `SELECT COUNT(*) AS n, CAST(SUM(${sourceRowHash(this.spec)}) AS CHAR) AS s FROM ${this.source}${where.sql}`,
      where.params,
    );
    return { count: Number(row?.n ?? 0), sum: row?.s ?? '0' };
  }

  async sinkChecksum(segment: Segment): Promise<Checksum> {
    const where = this.sinkWhere(segment);
    const [row] = await this.ctx.clickhouse.rows<{ n: string; s: string }>(
      `SELECT toString(count()) AS n, toString(sum(toUInt128(${sinkRowHash(this.spec)}))) AS s FROM ${this.sink} FINAL${where.sql}`,
      where.params,
    );
    return { count: Number(row?.n ?? 0), sum: row?.s ?? '0' };
  }

  /** Both sides' checksums of `segment`. */
  checksums(segment: Segment): Promise<[Checksum, Checksum]> {
    return Promise.all([this.sourceChecksum(segment), this.sinkChecksum(segment)]);
  }

  /** The lowest and highest key of `segment` on either side; undefined when both are empty. */
  async bounds(segment: Segment): Promise<{ min: bigint; max: bigint } | undefined> {
    const s = this.sourceWhere(segment);
    const k = this.sinkWhere(segment);
    const [[source], [sink]] = await Promise.all([
      this.ctx.mysql.rows<{ lo: string | null; hi: string | null }>(`SELECT CAST(MIN(${this.key}) AS CHAR) AS lo, CAST(MAX(${this.key}) AS CHAR) AS hi FROM ${this.source}${s.sql}`, s.params),
      // min() of no rows is 0 in ClickHouse, not NULL: count() tells an empty segment.
      this.ctx.clickhouse.rows<{ n: string; lo: string; hi: string }>(`SELECT toString(count()) AS n, toString(min(${this.key})) AS lo, toString(max(${this.key})) AS hi FROM ${this.sink} FINAL${k.sql}`, k.params),
    ]);
    const lows: bigint[] = [];
    const highs: bigint[] = [];
    if (source?.lo != null && source.hi != null) {
      lows.push(BigInt(source.lo));
      highs.push(BigInt(source.hi));
    }
    if (sink !== undefined && sink.n !== '0') {
      lows.push(BigInt(sink.lo));
      highs.push(BigInt(sink.hi));
    }
    if (lows.length === 0) return undefined;
    return { min: lows.reduce((a, b) => (b < a ? b : a)), max: highs.reduce((a, b) => (b > a ? b : a)) };
  }

  private toRows(rows: Record<string, string | null>[]): Map<string, RowText> {
    const columns = this.spec.columns;
    const keyIndex = columns.indexOf(this.spec.key);
    const out = new Map<string, RowText>();
    for (const row of rows) {
      const text: RowText = {};
      for (const [i, c] of columns.entries()) text[c.name] = row[`c${i}`] ?? null;
      out.set(String(row[`c${keyIndex}`]), text);
    }
    return out;
  }

  // Columns are aliased c0, c1, ...: in ClickHouse an alias named like a column would replace that column in WHERE.
  private sourceSelect(): string {
    return this.spec.columns.map((c, i) => `${sourceText(c)} AS c${i}`).join(', ');
  }

  private sinkSelect(): string {
    return this.spec.columns.map((c, i) => `${sinkText(c)} AS c${i}`).join(', ');
  }

  /** The rows of `segment` (a leaf: at most leafRows on each side) on both sides, by key text. */
  async rowsIn(segment: Segment): Promise<[Map<string, RowText>, Map<string, RowText>]> {
    const s = this.sourceWhere(segment);
    const k = this.sinkWhere(segment);
    const [source, sink] = await Promise.all([
      this.ctx.mysql.rows<Record<string, string | null>>(`SELECT ${this.sourceSelect()} FROM ${this.source}${s.sql} ORDER BY ${this.key}`, s.params),
      this.ctx.clickhouse.rows<Record<string, string | null>>(`SELECT ${this.sinkSelect()} FROM ${this.sink} FINAL${k.sql} ORDER BY ${this.key}`, k.params),
    ]);
    return [this.toRows(source), this.toRows(sink)];
  }

  /** The source rows of `keys`, whatever their event time. */
  async sourceRowsByKey(keys: bigint[]): Promise<Map<string, RowText>> {
    if (keys.length === 0) return new Map();
    return this.toRows(await this.ctx.mysql.rows(`SELECT ${this.sourceSelect()} FROM ${this.source} WHERE ${this.key} IN (?)`, [keys as unknown as SqlValue]));
  }

  /** The mirror's current rows of `keys`, whatever their event time. */
  async sinkRowsByKey(keys: bigint[]): Promise<Map<string, RowText>> {
    if (keys.length === 0) return new Map();
    return this.toRows(
      await this.ctx.clickhouse.rows(`SELECT ${this.sinkSelect()} FROM ${this.sink} FINAL WHERE _is_deleted = 0 AND ${this.key} IN {keys:Array(${this.keyType})}`, { keys }),
    );
  }

  /** Of `keys`, those whose latest version in the mirror is a delete, with that version. */
  async deletedInMirror(keys: bigint[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows = await this.ctx.clickhouse.rows<{ k: string; v: string }>(
      `SELECT toString(${this.key}) AS k, toString(max(_version)) AS v FROM ${this.sink}
        WHERE ${this.key} IN {keys:Array(${this.keyType})} GROUP BY ${this.key} HAVING argMax(_is_deleted, _version) = 1`,
      { keys },
    );
    return new Map(rows.map((r) => [r.k, r.v]));
  }

  /** Whether `row` falls in the judged event-time range (always, for tables without one). */
  inRange(row: RowText): boolean {
    if (this.filter === undefined || this.fromWall === undefined || this.toWall === undefined) return true;
    const text = row[this.filter.column];
    const wall = text === null || text === undefined ? undefined : parseWall(text);
    return wall !== undefined && wall >= this.fromWall && wall < this.toWall;
  }
}

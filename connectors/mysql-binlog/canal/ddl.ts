/**
 * Binlog QUERY events the way Canal handles them (LogEventConvert.parseQueryEvent over
 * DruidDdlParser.parse, Canal 1.1.7 with Druid 1.2.17):
 * - 'XA START'/'XA END' prefixes and statements ending in 'BEGIN'/'COMMIT' (raw text, case-insensitive)
 *   are transaction boundaries: no flat message.
 * - 'XA COMMIT'/'XA ROLLBACK' become XACOMMIT/XAROLLBACK messages (not DDL, no database/table).
 * - Each statement Druid models yields a result: CREATE TABLE -> CREATE, DROP TABLE -> ERASE per table,
 *   TRUNCATE, RENAME TABLE -> RENAME per pair (named by the new name), CREATE INDEX -> CINDEX,
 *   DROP INDEX -> DINDEX, ALTER TABLE -> one result per clause (ADD INDEX/KEY/UNIQUE/PRIMARY KEY ->
 *   CINDEX, DROP INDEX/KEY/CONSTRAINT -> DINDEX, RENAME [TO|AS] -> RENAME, ADD FOREIGN KEY/CHECK ->
 *   nothing, anything else -> ALTER), CREATE/DROP DATABASE -> QUERY naming only the database (the name
 *   as written, backquotes included), INSERT/UPDATE/DELETE statements -> INSERT/UPDATE/DELETE, not DDL.
 *   The first result names the message; the statement is published if any result passes the filters.
 * - Statements Druid parses but does not model (views, routines, triggers, users, grants, SET,
 *   SAVEPOINT, ANALYZE, REPLACE, ...) yield no result: Canal publishes nothing.
 * Deliberate difference: Canal publishes statements Druid cannot parse as QUERY with no database or
 * table; that includes MariaDB's CREATE OR REPLACE TABLE, ALTER TABLE IF EXISTS, ADD COLUMN IF NOT
 * EXISTS, CREATE [ONLINE] INDEX IF NOT EXISTS and DROP CHECK, which are classified here by meaning.
 */
import type { CanalEventType, CanalFlatMessage } from './flat-message.js';
import type { MessageEnvelope } from './row-event.js';

export interface DdlTableName {
  schema: string;
  table: string;
}

/** One DruidDdlParser DdlResult. */
export interface DdlResult {
  type: CanalEventType;
  schema: string;
  /** null for database-level statements. */
  table: string | null;
  /** RENAME: the table's previous name. */
  renamedFrom: DdlTableName | null;
}

export type QueryEventClass =
  | { kind: 'transaction-boundary' }
  | { kind: 'ignored' }
  | { kind: 'xa'; type: 'XACOMMIT' | 'XAROLLBACK' }
  | { kind: 'statement'; isDdl: boolean; results: readonly [DdlResult, ...DdlResult[]] };

type Token = { kind: 'word' | 'quoted' | 'string' | 'punct'; text: string };

const WORD_CHAR = /[\p{L}\p{N}_$]/u;
const WORD = /[\p{L}\p{N}_$]+/uy;

/** Splits SQL into tokens, dropping whitespace and comments (including MySQL's executable /*! ... *\/). */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const quotedEnd = (quote: string, start: number): number => {
    let j = start + 1;
    while (j < sql.length) {
      if (sql[j] === '\\' && quote !== '`') j += 2;
      else if (sql[j] === quote && sql[j + 1] === quote) j += 2;
      else if (sql[j] === quote) return j + 1;
      else j++;
    }
    return sql.length;
  };
  while (i < sql.length) {
    const c = sql[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (c === '#' || (c === '-' && sql[i + 1] === '-' && (i + 2 === sql.length || /\s/.test(sql[i + 2] ?? '')))) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === '`' || c === '"') {
      const end = quotedEnd(c, i);
      tokens.push({ kind: 'quoted', text: sql.slice(i, end) });
      i = end;
    } else if (c === "'") {
      const end = quotedEnd(c, i);
      tokens.push({ kind: 'string', text: sql.slice(i, end) });
      i = end;
    } else if (WORD_CHAR.test(c)) {
      WORD.lastIndex = i;
      const word = WORD.exec(sql)?.[0] ?? c;
      tokens.push({ kind: 'word', text: word });
      i += word.length;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

/** DruidDdlParser.unescapeName: strips one pair of surrounding backquotes or double quotes, nothing else. */
function unescapeName(name: string): string {
  if (name.length > 2 && ((name.startsWith('`') && name.endsWith('`')) || (name.startsWith('"') && name.endsWith('"')))) return name.slice(1, -1);
  return name;
}

/** A cursor over one statement's tokens. */
class Statement {
  private position = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peekToken(offset = 0): Token | undefined {
    return this.tokens[this.position + offset];
  }

  /** The upper-cased word at the cursor (+offset), or '' when it is not a bare word. */
  keyword(offset = 0): string {
    const token = this.peekToken(offset);
    return token?.kind === 'word' ? token.text.toUpperCase() : '';
  }

  isPunct(text: string): boolean {
    const token = this.peekToken();
    return token?.kind === 'punct' && token.text === text;
  }

  atEnd(): boolean {
    return this.position >= this.tokens.length;
  }

  advance(count = 1): void {
    this.position += count;
  }

  /** Consumes the keywords in order if all are next. */
  accept(...keywords: string[]): boolean {
    if (!keywords.every((k, i) => this.keyword(i) === k)) return false;
    this.advance(keywords.length);
    return true;
  }

  skipAny(...keywords: string[]): void {
    while (keywords.includes(this.keyword())) this.advance();
  }

  /** An identifier as written (quotes kept), or undefined. */
  identifier(): string | undefined {
    const token = this.peekToken();
    if (token === undefined || (token.kind !== 'word' && token.kind !== 'quoted')) return undefined;
    this.advance();
    return token.text;
  }

  /** [schema.]table; the schema defaults to the event's. */
  tableName(defaultSchema: string): DdlTableName | undefined {
    const first = this.identifier();
    if (first === undefined) return undefined;
    if (this.isPunct('.')) {
      this.advance();
      const second = this.identifier();
      if (second === undefined) return undefined;
      return { schema: unescapeName(first), table: unescapeName(second) };
    }
    return { schema: defaultSchema, table: unescapeName(first) };
  }

  /** Skips to just after the next top-level occurrence of the keyword; false if there is none. */
  skipPast(keyword: string): boolean {
    let depth = 0;
    while (!this.atEnd()) {
      if (this.isPunct('(')) depth++;
      else if (this.isPunct(')')) depth--;
      else if (depth === 0 && this.keyword() === keyword) {
        this.advance();
        return true;
      }
      this.advance();
    }
    return false;
  }

  /** The remaining tokens split at top-level commas. */
  remainingClauses(): Statement[] {
    const clauses: Statement[] = [];
    let current: Token[] = [];
    let depth = 0;
    for (const token of this.tokens.slice(this.position)) {
      if (token.kind === 'punct' && token.text === '(') depth++;
      if (token.kind === 'punct' && token.text === ')') depth--;
      if (depth === 0 && token.kind === 'punct' && token.text === ',') {
        clauses.push(new Statement(current));
        current = [];
      } else {
        current.push(token);
      }
    }
    if (current.length > 0) clauses.push(new Statement(current));
    return clauses;
  }
}

function splitStatements(tokens: readonly Token[]): Statement[] {
  const statements: Statement[] = [];
  let current: Token[] = [];
  for (const token of tokens) {
    if (token.kind === 'punct' && token.text === ';') {
      if (current.length > 0) statements.push(new Statement(current));
      current = [];
    } else {
      current.push(token);
    }
  }
  if (current.length > 0) statements.push(new Statement(current));
  return statements;
}

const tableResult = (type: CanalEventType, name: DdlTableName | undefined): DdlResult[] =>
  name === undefined ? [] : [{ type, schema: name.schema, table: name.table, renamedFrom: null }];

/** One ALTER TABLE clause, as DruidDdlParser maps Druid's SQLAlterTableItem classes. */
function alterClauseType(clause: Statement): CanalEventType | null {
  const first = clause.keyword();
  const second = clause.keyword(1);
  if (first === 'ADD') {
    if (['INDEX', 'KEY', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'PRIMARY'].includes(second)) return 'CINDEX';
    if (second === 'FOREIGN' || second === 'CHECK') return null;
    if (second === 'CONSTRAINT') {
      const kind = ['PRIMARY', 'UNIQUE', 'FOREIGN', 'CHECK'].includes(clause.keyword(2)) ? clause.keyword(2) : clause.keyword(3);
      return kind === 'PRIMARY' || kind === 'UNIQUE' ? 'CINDEX' : null;
    }
    return 'ALTER';
  }
  if (first === 'DROP') return ['INDEX', 'KEY', 'CONSTRAINT'].includes(second) ? 'DINDEX' : 'ALTER';
  return 'ALTER';
}

function alterTableResults(statement: Statement, defaultSchema: string): DdlResult[] {
  statement.skipAny('ONLINE', 'OFFLINE', 'IGNORE');
  if (!statement.accept('TABLE')) return [];
  statement.accept('IF', 'EXISTS');
  const name = statement.tableName(defaultSchema);
  if (name === undefined) return [];
  return statement.remainingClauses().flatMap((clause): DdlResult[] => {
    if (clause.keyword() === 'RENAME' && !['COLUMN', 'INDEX', 'KEY'].includes(clause.keyword(1))) {
      clause.advance();
      if (!clause.accept('TO')) clause.accept('AS');
      const target = clause.tableName(defaultSchema);
      return target === undefined ? [] : [{ type: 'RENAME', schema: target.schema, table: target.table, renamedFrom: name }];
    }
    const type = alterClauseType(clause);
    return type === null ? [] : tableResult(type, name);
  });
}

function createResults(statement: Statement, defaultSchema: string): DdlResult[] {
  statement.accept('OR', 'REPLACE');
  if (statement.accept('DATABASE') || statement.accept('SCHEMA')) {
    statement.accept('IF', 'NOT', 'EXISTS');
    const database = statement.identifier();
    return database === undefined ? [] : [{ type: 'QUERY', schema: database, table: null, renamedFrom: null }];
  }
  statement.skipAny('TEMPORARY');
  if (statement.accept('TABLE')) {
    statement.accept('IF', 'NOT', 'EXISTS');
    return tableResult('CREATE', statement.tableName(defaultSchema));
  }
  statement.skipAny('ONLINE', 'OFFLINE', 'UNIQUE', 'FULLTEXT', 'SPATIAL');
  if (statement.accept('INDEX') && statement.skipPast('ON')) return tableResult('CINDEX', statement.tableName(defaultSchema));
  return [];
}

function dropResults(statement: Statement, defaultSchema: string): DdlResult[] {
  if (statement.accept('DATABASE') || statement.accept('SCHEMA')) {
    statement.accept('IF', 'EXISTS');
    const database = statement.identifier();
    return database === undefined ? [] : [{ type: 'QUERY', schema: database, table: null, renamedFrom: null }];
  }
  statement.skipAny('TEMPORARY');
  if (statement.accept('TABLE') || statement.accept('TABLES')) {
    statement.accept('IF', 'EXISTS');
    const results: DdlResult[] = [];
    for (;;) {
      results.push(...tableResult('ERASE', statement.tableName(defaultSchema)));
      if (!statement.isPunct(',')) return results;
      statement.advance();
    }
  }
  statement.skipAny('ONLINE', 'OFFLINE');
  if (statement.accept('INDEX') && statement.skipPast('ON')) return tableResult('DINDEX', statement.tableName(defaultSchema));
  return [];
}

function renameResults(statement: Statement, defaultSchema: string): DdlResult[] {
  if (!statement.accept('TABLE')) return [];
  const results: DdlResult[] = [];
  for (;;) {
    const from = statement.tableName(defaultSchema);
    if (from === undefined || !statement.accept('TO')) return results;
    const to = statement.tableName(defaultSchema);
    if (to === undefined) return results;
    results.push({ type: 'RENAME', schema: to.schema, table: to.table, renamedFrom: from });
    if (!statement.isPunct(',')) return results;
    statement.advance();
  }
}

/** Statement-based DML (MIXED/STATEMENT binlogs): the first table named. */
function dmlResults(verb: string, statement: Statement, defaultSchema: string): DdlResult[] {
  statement.skipAny('LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'QUICK', 'IGNORE');
  if (verb === 'INSERT') {
    statement.accept('INTO');
    return tableResult('INSERT', statement.tableName(defaultSchema));
  }
  if (verb === 'UPDATE') return tableResult('UPDATE', statement.tableName(defaultSchema));
  statement.accept('FROM');
  return tableResult('DELETE', statement.tableName(defaultSchema));
}

function statementResults(statement: Statement, defaultSchema: string): DdlResult[] {
  const verb = statement.keyword();
  statement.advance();
  switch (verb) {
    case 'CREATE':
      return createResults(statement, defaultSchema);
    case 'DROP':
      return dropResults(statement, defaultSchema);
    case 'ALTER':
      return alterTableResults(statement, defaultSchema);
    case 'TRUNCATE':
      statement.accept('TABLE');
      return tableResult('TRUNCATE', statement.tableName(defaultSchema));
    case 'RENAME':
      return renameResults(statement, defaultSchema);
    case 'INSERT':
    case 'UPDATE':
    case 'DELETE':
      return dmlResults(verb, statement, defaultSchema);
    default:
      return [];
  }
}

/** Classifies a QUERY event's statement; `schema` is the event's default database (zongji QueryEvent.schema). */
export function classifyQueryEvent(sql: string, schema: string): QueryEventClass {
  const upper = sql.toUpperCase();
  if (upper.startsWith('XA START') || upper.startsWith('XA END')) return { kind: 'transaction-boundary' };
  if (upper.startsWith('XA COMMIT')) return { kind: 'xa', type: 'XACOMMIT' };
  if (upper.startsWith('XA ROLLBACK')) return { kind: 'xa', type: 'XAROLLBACK' };
  if (upper.endsWith('BEGIN') || upper.endsWith('COMMIT')) return { kind: 'transaction-boundary' };
  const results = splitStatements(tokenize(sql)).flatMap((statement) => statementResults(statement, schema));
  const [first, ...rest] = results;
  if (first === undefined) return { kind: 'ignored' };
  const isDml = first.type === 'INSERT' || first.type === 'UPDATE' || first.type === 'DELETE';
  return { kind: 'statement', isDdl: !isDml, results: [first, ...rest] };
}

/** The flat message Canal publishes for a QUERY event: no row data, the statement in `sql`. */
export function buildQueryMessage(sql: string, queryClass: Extract<QueryEventClass, { kind: 'xa' | 'statement' }>, envelope: MessageEnvelope): CanalFlatMessage {
  const first = queryClass.kind === 'statement' ? queryClass.results[0] : undefined;
  return {
    data: null,
    database: first?.schema ?? '',
    es: envelope.es,
    gtid: envelope.gtid,
    id: envelope.id,
    isDdl: queryClass.kind === 'statement' && queryClass.isDdl,
    mysqlType: null,
    old: null,
    pkNames: null,
    sql,
    sqlType: null,
    table: first?.table ?? '',
    ts: envelope.ts,
    type: queryClass.kind === 'xa' ? queryClass.type : (first?.type ?? 'QUERY'),
  };
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../schemas/config.js';
import { SOURCE_TABLES } from '../../schemas/events.js';
import { readMigrations, renderMigration, splitStatements } from './migrations.js';

describe('splitStatements', () => {
  it('splits at semicolons outside quotes and comments, dropping the comments', () => {
    const sql = "-- a; comment\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Memory;\n/* b; */ SELECT `we;ird`, \"q;\" ;\n\nSELECT 'it\\'s;'";
    expect(splitStatements(sql)).toEqual(["CREATE TABLE a (x String DEFAULT ';') ENGINE = Memory", 'SELECT `we;ird`, "q;"', "SELECT 'it\\'s;'"]);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitStatements("SELECT 'x")).toThrow(/unterminated ' quote/);
  });
});

describe('the migrations of schemas/clickhouse', () => {
  const migrations = readMigrations();

  it('are numbered in order and templated by the database alone', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    for (const m of migrations) {
      const sql = renderMigration(m, 'ns_1');
      expect(sql).not.toMatch(/\{\{/);
      // Idempotent when run again whole: creations IF NOT EXISTS; the rollups' one-off INSERTs only mark periods to recompute again.
      for (const statement of splitStatements(sql)) expect(statement).toMatch(/^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS|INSERT INTO) `ns_1`\.\w+/);
    }
  });

  it('refuse other placeholders', () => {
    expect(() => renderMigration({ version: 9, file: '0009_x.sql', sql: 'CREATE TABLE {{database}}.{{table}} (x UInt8)', checksum: '' }, 'db')).toThrow('0009_x.sql: unknown placeholder {{table}}');
  });

  it('mirror every column of schemas/source/shop.sql with a type that keeps its values', () => {
    // The brief's mapping, applied to the MySQL DDL: an independent model of what 0001_ods.sql must say.
    const mysqlToClickHouse = (type: string): string => {
      const t = type.toUpperCase();
      if (t === 'INT') return 'Int32';
      if (t === 'BIGINT') return 'Int64';
      if (/^VARCHAR\(\d+\)$/.test(t)) return 'String';
      if (t === 'DATETIME(3)') return "DateTime64(3, 'UTC')";
      const d = /^DECIMAL\((\d+),(\d+)\)$/.exec(t);
      if (d !== null) return `Decimal(${d[1]}, ${d[2]})`;
      throw new Error(`no mapping for ${type}`);
    };
    const tableColumns = (sql: string, table: string, columnLine: RegExp): Array<[string, string]> => {
      const body = new RegExp(`CREATE TABLE IF NOT EXISTS (?:\\{\\{database\\}\\}\\.)?${table}\\s*\\(([\\s\\S]*?)\\n\\)`).exec(sql)?.[1];
      if (body === undefined) throw new Error(`table ${table} not found`);
      return body.split('\n').flatMap((line) => {
        const m = columnLine.exec(line.trim());
        return m === null ? [] : [[m[1] as string, m[2] as string]];
      });
    };
    const shop = readFileSync(join(repoRoot, 'schemas/source/shop.sql'), 'utf8');
    const ods = readFileSync(join(repoRoot, 'schemas/clickhouse/0001_ods.sql'), 'utf8');
    for (const table of SOURCE_TABLES) {
      const source = tableColumns(shop, table, /^(\w+) ([A-Z]+(?:\(\d+(?:,\d+)?\))?) NOT NULL/);
      expect(source.length).toBeGreaterThan(2);
      const expected = [...source.map(([name, type]): [string, string] => [name, mysqlToClickHouse(type)]), ['_version', 'UInt64'], ['_is_deleted', 'UInt8']];
      expect(tableColumns(ods, `ods_${table}`, /^(\w+) (.+?),?$/)).toEqual(expected);
    }
  });
});

/**
 * Versioned ClickHouse migrations: schemas/clickhouse/NNNN_name.sql, applied in version order to one
 * database and recorded in its `schema_migrations` table (version, name, checksum of the file).
 * Re-running applies only the new ones; a file changed after it was applied, or an applied one that
 * is gone, stops everything before anything runs. The only template is `{{database}}`.
 * Optional series (the rollups: schemas/clickhouse/rollups/) are numbered on their own and recorded in
 * a ledger table of their own, so a database may have them or not.
 * ClickHouse DDL is not transactional: a file stopped half-way is run again whole next time, so every
 * statement must be idempotent (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../schemas/config.js';
import { quoteIdentifier, type ClickHouseClient } from './client.js';

export const MIGRATIONS_DIR = join(repoRoot, 'schemas', 'clickhouse');
/** The rollups (`RTDW_ROLLUPS=true`), recorded in ROLLUPS_LEDGER. */
export const ROLLUPS_DIR = join(MIGRATIONS_DIR, 'rollups');
export const ROLLUPS_LEDGER = 'schema_migrations_rollups';

export interface Migration {
  version: number;
  /** the file name, e.g. 0001_ods.sql */
  file: string;
  sql: string;
  /** sha256 of the file as written (before templating) */
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** The migrations of `dir` in version order. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const m = /^(\d{4})_\w+\.sql$/.exec(file);
    if (m === null) throw new MigrationError(`${join(dir, file)}: migration files are named NNNN_name.sql`);
    const sql = readFileSync(join(dir, file), 'utf8');
    const version = Number(m[1]);
    const twin = migrations.find((x) => x.version === version);
    if (twin !== undefined) throw new MigrationError(`${file} and ${twin.file} have the same version ${version}`);
    migrations.push({ version, file, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

/** The statements of a script, split at `;` outside quotes and comments; comments dropped. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw new MigrationError('unterminated /* comment');
      i = end + 2;
      current += ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      if (j >= sql.length) throw new MigrationError(`unterminated ${c} quote`);
      current += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === ';') {
      if (current.trim() !== '') statements.push(current.trim());
      current = '';
      i += 1;
    } else {
      current += c;
      i += 1;
    }
  }
  if (current.trim() !== '') statements.push(current.trim());
  return statements;
}

/** The migration's SQL for `database`; any other {{placeholder}} is an error. */
export function renderMigration(migration: Migration, database: string): string {
  const rendered = migration.sql.replaceAll('{{database}}', quoteIdentifier(database));
  const unknown = /\{\{(\w*)\}\}/.exec(rendered);
  if (unknown !== null) throw new MigrationError(`${migration.file}: unknown placeholder {{${unknown[1] ?? ''}}}; only {{database}} is templated`);
  return rendered;
}

export interface MigrationReport {
  database: string;
  applied: string[];
  alreadyApplied: string[];
}

/** Applies the migrations not yet recorded in `database` (created if missing). */
export async function migrate(client: ClickHouseClient, database: string, migrations: Migration[] = readMigrations(), ledgerTable = 'schema_migrations'): Promise<MigrationReport> {
  const db = quoteIdentifier(database);
  const ledger = `${db}.${quoteIdentifier(ledgerTable)}`;
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${ledger} (version UInt32, file String, checksum String, applied_at DateTime64(3, 'UTC'))
            ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  });
  const rs = await client.query({ query: `SELECT version, file, checksum FROM ${ledger} FINAL ORDER BY version`, format: 'JSONEachRow' });
  const recorded = await rs.json<{ version: number; file: string; checksum: string }>();
  for (const r of recorded) {
    const m = migrations.find((x) => x.version === Number(r.version));
    if (m === undefined) throw new MigrationError(`${database}: migration ${r.file} is recorded as applied but is no longer in ${MIGRATIONS_DIR}`);
    if (m.checksum !== r.checksum) {
      throw new MigrationError(`${m.file} was changed after it was applied to ${database} (applied checksum ${r.checksum.slice(0, 12)}, file ${m.checksum.slice(0, 12)}): restore it and put the change in a new migration`);
    }
  }
  const report: MigrationReport = { database, applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    if (recorded.some((r) => Number(r.version) === m.version)) {
      report.alreadyApplied.push(m.file);
      continue;
    }
    for (const statement of splitStatements(renderMigration(m, database))) {
      try {
        await client.command({ query: statement });
      } catch (err) {
        throw new MigrationError(`${m.file} failed on ${database}: ${(err as Error).message}\n  in: ${statement.split('\n')[0] ?? ''}`);
      }
    }
    await client.insert({
      table: ledger,
      values: [{ version: m.version, file: m.file, checksum: m.checksum, applied_at: new Date().toISOString().replace('T', ' ').replace('Z', '') }],
      format: 'JSONEachRow',
      clickhouse_settings: { async_insert: 0 },
    });
    report.applied.push(m.file);
  }
  return report;
}

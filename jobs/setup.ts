/**
 * `rtdw setup`, idempotent: the source tables in MYSQL_DATABASE (schemas/source/shop.sql), the Kafka
 * topics of the pipeline (schemas/topics.ts), the ClickHouse database with its migrations
 * (schemas/clickhouse/) and the TTL of the detail tables. Each step says what it created and what
 * was already there; running it again creates nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { repoRoot, type RtdwConfig } from '../schemas/config.js';
import { pipelineTopics, TOPIC_NAMES, type PipelineTopic, type TopicName } from '../schemas/topics.js';
import { createKafka } from '../connectors/kafka/client.js';
import { ensureTopics } from '../connectors/kafka/topics.js';
import { loadCdcOptions } from '../connectors/mysql-binlog/config.js';
import { createLogger } from '../connectors/observability/logger.js';
import { createClickHouse, quoteIdentifier, type ClickHouseClient } from '../connectors/clickhouse/client.js';
import { migrate, readMigrations, ROLLUPS_DIR, ROLLUPS_LEDGER, splitStatements } from '../connectors/clickhouse/migrations.js';

export const SOURCE_DDL = join(repoRoot, 'schemas', 'source', 'shop.sql');

/** Detail tables and the time column their TTL (RTDW_DETAIL_TTL_DAYS) counts from. */
export const DETAIL_TTL_COLUMNS = { dwd_order_wide: 'created_at', dwd_ad_event: 'ts' } as const;

type Say = (line: string) => void;

const list = (names: string[]): string => (names.length === 0 ? 'none' : names.join(', '));

/** The columns every CREATE TABLE of a script declares, by table. */
export function declaredColumns(ddl: string): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  for (const statement of splitStatements(ddl)) {
    const m = /^CREATE TABLE IF NOT EXISTS `?(\w+)`?\s*\(([\s\S]*)\)[^)]*$/i.exec(statement);
    if (m === null) continue;
    const columns = (m[2] as string)
      .split('\n')
      .map((line) => /^\s*`?(\w+)`?\s+[A-Za-z]/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined && !/^(PRIMARY|KEY|UNIQUE|INDEX|CONSTRAINT|FOREIGN)$/i.test(name));
    tables.set(m[1] as string, columns);
  }
  return tables;
}

/** Connects as the admin user where it can (it may create the database), else as the application user. */
async function sourceConnection(config: RtdwConfig): Promise<{ connection: mysql.Connection; user: string }> {
  const { host, port, database, admin, app } = config.mysql;
  try {
    return { connection: await mysql.createConnection({ host, port, user: admin.user, password: admin.password }), user: admin.user };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ER_ACCESS_DENIED_ERROR') throw err;
    return { connection: await mysql.createConnection({ host, port, user: app.user, password: app.password, database }), user: app.user };
  }
}

/** The application user (the generator's, MYSQL_APP_USER) reads and writes the source tables, at every host it is defined for. */
async function grantApplication(connection: mysql.Connection, config: RtdwConfig, say: Say): Promise<void> {
  const { database, app } = config.mysql;
  const [hosts] = await connection.query<mysql.RowDataPacket[]>('SELECT Host AS host FROM mysql.user WHERE User = ?', [app.user]);
  if (hosts.length === 0) {
    say(`mysql       user ${app.user} does not exist: nothing granted (create it, or set MYSQL_APP_USER)`);
    return;
  }
  for (const { host } of hosts) await connection.query('GRANT SELECT, INSERT, UPDATE, DELETE ON ??.* TO ?@?', [database, app.user, String(host)]);
  say(`mysql       ${app.user} may read and write ${database}.*`);
}

export async function setupSource(config: RtdwConfig, say: Say): Promise<void> {
  const { database } = config.mysql;
  const ddl = readFileSync(SOURCE_DDL, 'utf8');
  const declared = declaredColumns(ddl);
  const { connection, user } = await sourceConnection(config);
  try {
    const [schemas] = await connection.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]);
    if (schemas.length === 0) {
      await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` DEFAULT CHARACTER SET utf8mb4`);
      say(`mysql       database ${database} created (as ${user})`);
    }
    await connection.query(`USE \`${database}\``);
    const existing = async () => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [database]);
      return new Set(rows.map((r) => String(r.name)));
    };
    const before = await existing();
    for (const statement of splitStatements(ddl)) await connection.query(statement);
    const tables = [...declared.keys()];
    say(`mysql       ${database}: tables created: ${list(tables.filter((t) => !before.has(t)))}; already there: ${list(tables.filter((t) => before.has(t)))}`);
    // Tables that were there already must still have the contract's columns (more are fine).
    const [columns] = await connection.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?', [database]);
    const problems = tables.flatMap((t) => {
      const missing = (declared.get(t) ?? []).filter((c) => !columns.some((r) => r.t === t && r.c === c));
      return missing.length === 0 ? [] : [`${database}.${t} lacks ${missing.join(', ')}`];
    });
    if (problems.length > 0) throw new Error(`the source tables do not have the columns of ${SOURCE_DDL}: ${problems.join('; ')}`);
    if (user === config.mysql.admin.user && config.mysql.app.user !== user) await grantApplication(connection, config, say);
  } finally {
    await connection.end();
  }
}

/** The pipeline's topics, the CDC's under the names it is configured with (CDC_TOPIC, ...). */
export function setupTopicSpecs(config: RtdwConfig, env: Record<string, string | undefined> = process.env): PipelineTopic[] {
  const cdc = loadCdcOptions(config.mysql.database, env);
  const catalog = pipelineTopics(config.pipeline.namespace, { cdcPartitions: cdc.partitions });
  // With dynamic topics the CDC creates one topic per table itself.
  const binlog = cdc.dynamicTopic === '' ? [{ ...catalog.ods_binlog, topic: cdc.topic }] : [];
  const cdcOwned = new Set<TopicName>(['ods_binlog', 'cdc_positions', 'cdc_dead_letter']);
  const others = TOPIC_NAMES.filter((name) => !cdcOwned.has(name)).map((name) => catalog[name]);
  return [...binlog, { ...catalog.cdc_positions, topic: cdc.positionsTopic }, { ...catalog.cdc_dead_letter, topic: cdc.deadLetterTopic }, ...others];
}

export async function setupTopics(config: RtdwConfig, say: Say, env: Record<string, string | undefined> = process.env): Promise<void> {
  const specs = setupTopicSpecs(config, env);
  const admin = createKafka(config, 'setup', createLogger('setup', config.logLevel)).admin();
  await admin.connect();
  try {
    const before = new Set(await admin.listTopics());
    await ensureTopics(admin, specs);
    const created = specs.filter((s) => !before.has(s.topic));
    say(`kafka       topics created: ${list(created.map((s) => `${s.topic} (${s.partitions})`))}; already there: ${specs.filter((s) => before.has(s.topic)).length} of ${specs.length}`);
  } finally {
    await admin.disconnect();
  }
}

/** Sets the TTL of the detail tables to `days`, where it is not that already. */
export async function applyDetailTtl(client: ClickHouseClient, database: string, days: number): Promise<{ changed: string[]; unchanged: string[] }> {
  const report = { changed: [] as string[], unchanged: [] as string[] };
  for (const [table, column] of Object.entries(DETAIL_TTL_COLUMNS)) {
    const ttl = `toDate(${column}) + toIntervalDay(${days})`;
    const rs = await client.query({
      query: 'SELECT engine_full FROM system.tables WHERE database = {database:String} AND name = {table:String}',
      query_params: { database, table },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ engine_full: string }>();
    if (row === undefined) throw new Error(`ClickHouse table ${database}.${table} does not exist`);
    if (row.engine_full.includes(`TTL ${ttl}`)) {
      report.unchanged.push(table);
      continue;
    }
    await client.command({ query: `ALTER TABLE ${quoteIdentifier(database)}.${quoteIdentifier(table)} MODIFY TTL ${ttl}` });
    report.changed.push(table);
  }
  return report;
}

export async function setupClickHouse(config: RtdwConfig, say: Say): Promise<void> {
  const { url, user, password, database } = config.clickhouse;
  // No default database: it may not exist yet.
  const client = createClickHouse({ url, user, password });
  try {
    const migrations = await migrate(client, database);
    say(`clickhouse  database ${database}: migrations applied: ${list(migrations.applied)}; already applied: ${list(migrations.alreadyApplied)}`);
    if (config.pipeline.rollups) {
      const rollups = await migrate(client, database, readMigrations(ROLLUPS_DIR), ROLLUPS_LEDGER);
      say(`clickhouse  database ${database}: rollup migrations applied: ${list(rollups.applied)}; already applied: ${list(rollups.alreadyApplied)}`);
    }
    const ttl = await applyDetailTtl(client, database, config.pipeline.detailTtlDays);
    say(`clickhouse  TTL ${config.pipeline.detailTtlDays} days: set on ${list(ttl.changed)}; already set on ${list(ttl.unchanged)}`);
  } finally {
    await client.close();
  }
}

export async function setup(config: RtdwConfig, say: Say, env: Record<string, string | undefined> = process.env): Promise<void> {
  await setupSource(config, say);
  await setupTopics(config, say, env);
  await setupClickHouse(config, say);
}

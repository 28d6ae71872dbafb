/**
 * The generator against the real MariaDB and Kafka: a private database (tables from
 * schemas/source/shop.sql) and a private namespace's topic. What lands there must be exactly what
 * the model says: every row of every table (replayed independently by the test), every message.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { createKafka } from '../../connectors/kafka/client.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { createLogger } from '../../connectors/observability/logger.js';
import type { Action, EventAction } from '../../connectors/generator/actions.js';
import { generate } from '../../connectors/generator/model.js';
import type { GeneratorOptionsInput, PipelineSettings } from '../../connectors/generator/options.js';
import { runGenerator, type GeneratorReport } from '../../connectors/generator/run.js';
import { repoRoot } from '../../schemas/config.js';
import { SOURCE_TABLES } from '../../schemas/events.js';
import { config, uniqueName } from '../support/stack.js';
import { SourceState, type Row } from './source-state.js';

const log = createLogger('generator-test', process.env.TEST_LOG_LEVEL ?? 'warn');
const kafka = createKafka(config, 'generator-test', log);
const database = uniqueName('gen');
const emptyDatabase = uniqueName('gen_empty');
const settings: PipelineSettings = { namespace: uniqueName('gen'), timezone: 'Asia/Shanghai', blacklistClicks: 100 };
const topic = `${settings.namespace}.ods_events`;
let admin: mysql.Connection;
let app: mysql.Connection;

async function adminConnection(): Promise<mysql.Connection> {
  const { host, port, admin: a } = config.mysql;
  return mysql.createConnection({ host, port, user: a.user, password: a.password });
}

beforeAll(async () => {
  admin = await adminConnection();
  for (const db of [database, emptyDatabase]) {
    await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
    for (const host of ['127.0.0.1', 'localhost']) await admin.query(`GRANT ALL PRIVILEGES ON \`${db}\`.* TO ?@?`, [config.mysql.app.user, host]);
  }
  const { host, port, app: a } = config.mysql;
  app = await mysql.createConnection({ host, port, database, user: a.user, password: a.password, multipleStatements: true, dateStrings: true });
  await app.query(readFileSync(`${repoRoot}/schemas/source/shop.sql`, 'utf8'));
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  await ensureTopics(kafkaAdmin, [{ topic, partitions: 3 }]);
  await kafkaAdmin.disconnect();
});

afterAll(async () => {
  await app?.end();
  for (const db of [database, emptyDatabase]) await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await admin?.end();
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  await kafkaAdmin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await kafkaAdmin.disconnect();
});

interface Message {
  partition: number;
  key: string;
  value: string;
  timestamp: number;
}

async function readTopic(): Promise<Message[]> {
  const all: Message[] = [];
  await readToEnd(kafka, topic, (m, partition) => all.push({ partition, key: String(m.key), value: String(m.value), timestamp: Number(m.timestamp) }));
  return all;
}

async function tableRows(table: string): Promise<Row[]> {
  const [rows] = await app.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table}\` ORDER BY id`);
  return rows.map((r) => ({ ...r }) as Row);
}

const scenario: Omit<GeneratorOptionsInput, 'timezone' | 'blacklistClicks'> = {
  seed: 11,
  start: '2025-03-08T23:55:00+08:00',
  rate: 200,
  minutes: 8,
  users: 3000,
};

describe('rtdw generate into MySQL and Kafka', () => {
  let first: GeneratorReport;
  let firstActions: Action[];
  let messagesAfterFirst: Message[];

  it('writes every row and every event the model yields, exactly', async () => {
    first = await runGenerator(config, settings, scenario, { speed: 'max', database }, log);
    expect(first.stopped).toBe('finished');
    expect(first.idBase).toBe(0);
    firstActions = [...generate({ ...scenario, idBase: first.idBase, timezone: settings.timezone, blacklistClicks: settings.blacklistClicks })];

    // MySQL holds, row for row and value for value, what replaying the actions gives.
    const state = new SourceState();
    for (const a of firstActions) state.apply(a);
    for (const table of SOURCE_TABLES) {
      const expected = [...state.table(table).values()].sort((a, b) => (a.id as number) - (b.id as number));
      const actual = await tableRows(table);
      expect(actual.length, table).toBe(expected.length);
      expect(actual, table).toEqual(expected);
      expect(actual.length, table).toBe(first.written.rows[table].insert - first.written.rows[table].delete);
    }
    expect(state.table('orders').size).toBeGreaterThan(1000);
    expect(first.written.rows.orders.update).toBeGreaterThan(0);
    expect(first.written.rows.payments.delete + first.written.rows.orders.delete).toBeGreaterThan(0);

    // The topic holds every delivery, duplicates included, as one JSON object per message keyed by device.
    const deliveries = firstActions.filter((a): a is EventAction => a.kind === 'event');
    messagesAfterFirst = await readTopic();
    expect(messagesAfterFirst.length).toBe(deliveries.length);
    expect(messagesAfterFirst.map((m) => m.value).sort()).toEqual(deliveries.map((d) => JSON.stringify(d.event)).sort());
    for (const m of messagesAfterFirst) expect(m.key).toBe((JSON.parse(m.value) as { device_id: string }).device_id);
    // A device's events stay in one partition, in delivery order.
    const partitionOf = new Map<string, number>();
    for (const m of messagesAfterFirst) {
      expect(partitionOf.get(m.key) ?? m.partition).toBe(m.partition);
      partitionOf.set(m.key, m.partition);
    }
    expect(new Set(partitionOf.values()).size).toBe(3);
    for (let p = 0; p < 3; p++) {
      const inPartition = deliveries.filter((d) => partitionOf.get(d.event.device_id) === p).map((d) => JSON.stringify(d.event));
      expect(messagesAfterFirst.filter((m) => m.partition === p).map((m) => m.value)).toEqual(inPartition);
    }
    const dupes = deliveries.filter((d) => d.duplicate).length;
    expect(dupes).toBeGreaterThan(0);
    expect(new Set(messagesAfterFirst.map((m) => (JSON.parse(m.value) as { event_id: string }).event_id)).size).toBe(deliveries.length - dupes);
    expect(first.rowsPerSecond).toBeGreaterThan(0);
    expect(first.eventsPerSecond).toBeGreaterThan(0);
  });

  it('re-run with the same seed: dimensions upserted in place, new rows above the largest id', async () => {
    const maxOrderId = Math.max(...(await tableRows('orders')).map((r) => r.id as number));
    const [before] = await app.query<mysql.RowDataPacket[]>('SELECT (SELECT COUNT(*) FROM areas) a, (SELECT COUNT(*) FROM products) p, (SELECT COUNT(*) FROM users) u');
    const again = await runGenerator(config, settings, { ...scenario, minutes: 0.5 }, { speed: 'max', database }, log);
    expect(again.idBase).toBeGreaterThanOrEqual(maxOrderId);
    const [after] = await app.query<mysql.RowDataPacket[]>('SELECT (SELECT COUNT(*) FROM areas) a, (SELECT COUNT(*) FROM products) p, (SELECT COUNT(*) FROM users) u');
    expect(after[0]?.a).toBe(before[0]?.a);
    expect(after[0]?.p).toBe(before[0]?.p);
    expect(Number(after[0]?.u)).toBe(Number(before[0]?.u) + again.written.rows.users.insert - 3000);
    const [orders] = await app.query<mysql.RowDataPacket[]>('SELECT COUNT(*) n FROM orders WHERE id > ?', [again.idBase]);
    expect(Number(orders[0]?.n)).toBe(again.written.rows.orders.insert - again.written.rows.orders.delete);
  });

  it('realtime: actions are written when their time comes, not before', async () => {
    const sent = (await readTopic()).length;
    const startedAt = Date.now();
    const report = await runGenerator(config, settings, { seed: 5, start: startedAt, rate: 200, minutes: 0.2, users: 2000 }, { speed: 'realtime', database }, log);
    const wallMs = Date.now() - startedAt;
    expect(report.stopped).toBe('finished');
    expect(wallMs).toBeGreaterThanOrEqual(11_500);
    const deliveries = [...generate({ seed: 5, start: startedAt, rate: 200, minutes: 0.2, users: 2000, idBase: report.idBase, timezone: settings.timezone })].filter(
      (a): a is EventAction => a.kind === 'event',
    );
    const ids = new Set(deliveries.map((d) => d.event.event_id));
    const fresh = (await readTopic()).filter((m) => ids.has((JSON.parse(m.value) as { event_id: string }).event_id));
    expect(fresh.length).toBe(deliveries.length);
    expect((await readTopic()).length - sent).toBe(deliveries.length);
    // Each message was sent when its delivery came due: broker time − model time is the run's start
    // offset plus a batch's latency, for every message (sent at once, it would fall by the run's 12 s).
    const dueAt = new Map<string, number[]>();
    for (const d of deliveries) dueAt.set(d.event.event_id, [...(dueAt.get(d.event.event_id) ?? []), d.at]);
    const offsets = fresh.map((m) => m.timestamp - ((dueAt.get((JSON.parse(m.value) as { event_id: string }).event_id) as number[]).shift() as number));
    const spreadMs = Math.max(...offsets) - Math.min(...offsets);
    expect(spreadMs).toBeLessThan(1_500);
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(deliveries.at(-1)!.at - deliveries[0]!.at).toBeGreaterThan(10_000);
  });

  it('the CLI writes, reports, and refuses bad options and a database without the tables', async () => {
    const cli = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/rtdw.mjs', 'generate', ...args], { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const env = { MYSQL_DATABASE: database, RTDW_NAMESPACE: settings.namespace, RTDW_TIMEZONE: 'Asia/Shanghai' };
    const sent = (await readTopic()).length;
    const ok = await cli(['--rate', '100', '--minutes', '0.2', '--seed', '9', '--speed', 'max', '--users', '2000', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as GeneratorReport;
    expect(report.timezone).toBe('Asia/Shanghai');
    expect(ok.stderr).toContain('abuse:');
    expect((await readTopic()).length - sent).toBe(report.written.deliveries.on_time + report.written.deliveries.out_of_order + report.written.deliveries.late + report.written.deliveries.duplicate);

    const bad = await cli(['--rate', '-5', '--speed', 'warp', '--start', '2025-01-01 10:00'], env);
    expect(bad.code).toBe(2);
    for (const name of ['rate', 'speed', 'start']) expect(bad.stderr).toContain(`${name}:`);

    const badZone = await cli(['--minutes', '1'], { ...env, RTDW_TIMEZONE: 'Mars/Olympus' });
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toContain('RTDW_TIMEZONE');

    const noTables = await cli(['--minutes', '1', '--speed', 'max'], { ...env, MYSQL_DATABASE: emptyDatabase });
    expect(noTables.code).toBe(1);
    expect(noTables.stderr).toContain('run `rtdw setup` first');
  });

  it('a batch MySQL refuses fails the run with what it was writing, rolled back, nothing half-written', async () => {
    const { host, port, app: a } = config.mysql;
    const db = await mysql.createConnection({ host, port, database: emptyDatabase, user: a.user, password: a.password, multipleStatements: true });
    try {
      await db.query(readFileSync(`${repoRoot}/schemas/source/shop.sql`, 'utf8'));
      // 'success' no longer fits: the first batch with a payment is refused (strict mode).
      await db.query('ALTER TABLE payments MODIFY status VARCHAR(4) NOT NULL');
      const run = runGenerator(config, settings, { seed: 8, start: '2025-06-01T12:00:00Z', rate: 300, minutes: 5, users: 2000 }, { speed: 'max', database: emptyDatabase }, log);
      await expect(run).rejects.toThrow(/MySQL rejected a batch of \d+ row writes to .*payments.* \(rolled back\): Data too long for column 'status'/);
      // Transactions are whole: every order that is in holds all of its items.
      const [orphans] = await db.query<mysql.RowDataPacket[]>('SELECT COUNT(*) n FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)');
      expect(Number(orphans[0]?.n)).toBe(0);
      const [payments] = await db.query<mysql.RowDataPacket[]>('SELECT COUNT(*) n FROM payments');
      expect(Number(payments[0]?.n)).toBe(0);
    } finally {
      await db.end();
    }
  });
});

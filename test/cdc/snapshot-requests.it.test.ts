/**
 * `rtdw cdc snapshot <table>`: a table snapshotted again on demand, through the connector's signal
 * topic, while the binlog streams; or, when the connector is not running, as soon as it starts.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { PositionStore, type StoredPosition } from '../../connectors/mysql-binlog/position-store.js';
import type { CanalFlatMessage } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { repoRoot } from '../../schemas/config.js';
import { CanalFold } from '../support/canal-fold.js';
import { appDb, cdcEnv, readUntil, startCdc } from '../support/cdc.js';
import { createTopics, Follower, until } from '../support/follower.js';
import { config, uniqueName } from '../support/stack.js';

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });

function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/rtdw.mjs', 'cdc', ...args], { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 60_000 }, (err, _out, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

/** Binlog coordinates in order: file (by its number), then offset. */
function atOrAfter(a: { file: string; pos: number }, b: { file: string; pos: number }): boolean {
  const number = (file: string): number => Number(file.slice(file.lastIndexOf('.') + 1));
  return number(a.file) !== number(b.file) ? number(a.file) > number(b.file) : a.pos >= b.pos;
}

let db: mysql.Connection;
const tables: string[] = [];
beforeAll(async () => {
  db = await appDb();
});
afterAll(async () => {
  for (const t of tables) await db.query(`DROP TABLE IF EXISTS \`${t}\``);
  await db.end();
});

describe('rtdw cdc snapshot <table>', () => {
  it('snapshots a table again while the connector streams and the table is written to (composite primary key)', async () => {
    const table = uniqueName('resnap');
    tables.push(table);
    await db.query(`CREATE TABLE \`${table}\` (a INT NOT NULL, b VARCHAR(8) NOT NULL, v INT NOT NULL, PRIMARY KEY (a, b))`);
    const rows = Array.from({ length: 3000 }, (_, i) => `(${1 + Math.floor(i / 10)}, 'k${i % 10}', 0)`);
    await db.query(`INSERT INTO \`${table}\` VALUES ${rows.join(',')}`);
    // No initial snapshot: the rows written before the start reach Kafka only through the requested one.
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'never', CDC_SNAPSHOT_CHUNK: '250' });
    const store = new PositionStore(kafka, env.CDC_POSITIONS_TOPIC as string, env.CDC_NAME as string);
    await store.ensureTopic();
    await createTopics([{ topic: env.CDC_TOPIC as string, partitions: 3 }]);
    const fold = new CanalFold((row) => `${row.a}|${row.b}`);
    let committed: StoredPosition | undefined;
    const follower = await Follower.start([env.CDC_TOPIC as string, store.topic], (from, key, value) => {
      if (from === store.topic) {
        if (key === store.key) committed = JSON.parse(value) as StoredPosition;
      } else fold.apply(JSON.parse(value) as CanalFlatMessage);
    });
    const cdc = startCdc(env);
    const writer = await appDb();
    let writing = true;
    let ops = 0;
    let writes: Promise<void> = Promise.resolve();
    try {
      await cdc.streaming;
      writes = (async () => {
        while (writing) {
          const a = 1 + Math.floor(Math.random() * 320);
          const b = `k${Math.floor(Math.random() * 10)}`;
          const op = Math.random();
          if (op < 0.4) await writer.query(`UPDATE \`${table}\` SET v = v + 1 WHERE a = ? AND b = ?`, [a, b]);
          else if (op < 0.7) await writer.query(`DELETE FROM \`${table}\` WHERE a = ? AND b = ?`, [a, b]);
          else await writer.query(`INSERT IGNORE INTO \`${table}\` VALUES (?, ?, 1)`, [a, b]);
          ops += 1;
        }
      })();
      const requested = await cli(env, 'snapshot', table);
      expect(requested.stderr).toContain(`snapshot of ${config.mysql.database}.${table} requested`);
      expect(requested.code).toBe(0);
      await until('the requested snapshot to be committed whole', () => committed?.signalOffset === '1' && committed.phase === 'stream' && fold.snapshotRows > 0);
      const opsAfterSnapshot = ops;
      await until('writes after the snapshot too', () => ops >= opsAfterSnapshot + 50);
      writing = false;
      await writes;
      const cdcUser = await mysql.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.user, password: config.mysql.password });
      const [master] = await cdcUser.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
      await cdcUser.end();
      const end = { file: String(master[0]?.File), pos: Number(master[0]?.Position) };
      await until('the connector to commit past the last write', () => committed !== undefined && atOrAfter(committed, end));
      await until('the follower to read everything committed', () => follower.caughtUp());
    } finally {
      writing = false;
      await writes;
      await writer.end();
      await cdc.stop();
      await follower.stop();
    }
    const [current] = await db.query<mysql.RowDataPacket[]>(`SELECT a, b, v FROM \`${table}\``);
    const expected = new Map(current.map((r) => [`${r.a}|${r.b}`, String(r.v)]));
    const folded = new Map([...fold.rows].map(([k, row]) => [k, row.v]));
    console.log(`requested snapshot: ${ops} concurrent writes, ${fold.snapshotRows} snapshot rows, table ${expected.size} rows, folded ${folded.size}, ${fold.problemCount} changes not matching the row held`);
    expect(ops).toBeGreaterThan(0);
    expect(fold.problems).toEqual([]);
    expect(folded).toEqual(expected);
  });

  it('waits in the topic while the connector is stopped, and is acted on once', async () => {
    const table = uniqueName('resnap_wait');
    tables.push(table);
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, v VARCHAR(8))`);
    await db.query(`INSERT INTO \`${table}\` VALUES ${Array.from({ length: 100 }, (_, i) => `(${i + 1}, 'v${i + 1}')`).join(',')}`);
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'never' });
    const requested = await cli(env, 'snapshot', `${config.mysql.database}.${table}`);
    expect(requested.code).toBe(0);
    const snapshotIds = (all: { message: CanalFlatMessage }[]): string[] => all.filter((r) => r.message.isSnapshot === true).flatMap((r) => (r.message.data ?? []).map((row) => row.id as string));
    const first = startCdc(env);
    try {
      const got = await readUntil([first.topic], (all) => snapshotIds(all).length >= 100);
      expect(new Set(snapshotIds(got)).size).toBe(100);
      await first.snapshotted;
    } finally {
      await first.stop();
    }
    // A second start resumes with the request read: nothing is snapshotted again.
    const second = startCdc(env);
    try {
      await second.streaming;
      await db.query(`INSERT INTO \`${table}\` VALUES (1000, 'marker')`);
      // The partitions are read in no particular order: wait for the marker and the first snapshot's rows.
      const got = await readUntil([second.topic], (all) => all.some((r) => r.message.data?.[0]?.id === '1000') && snapshotIds(all).length >= 100);
      expect(snapshotIds(got)).toHaveLength(100);
      const stored = await new PositionStore(kafka, env.CDC_POSITIONS_TOPIC as string, env.CDC_NAME as string).load();
      expect(stored).toMatchObject({ phase: 'stream', signalOffset: '1' });
      expect(stored?.snapshot).toBeUndefined();
    } finally {
      await second.stop();
    }
    // `rtdw cdc reset` forgets the requests with the position: a fresh start does not act on them again.
    expect((await cli(env, 'reset')).code).toBe(0);
    const admin = kafka.admin();
    await admin.connect();
    const [signals] = await admin.fetchTopicOffsets(`${env.CDC_NAME}_signals`);
    await admin.disconnect();
    expect(signals).toMatchObject({ low: '1', high: '1' });
    const third = startCdc(env);
    try {
      await third.streaming;
      await db.query(`INSERT INTO \`${table}\` VALUES (1001, 'marker')`);
      const got = await readUntil([third.topic], (all) => all.some((r) => r.message.data?.[0]?.id === '1001') && snapshotIds(all).length >= 100);
      expect(snapshotIds(got)).toHaveLength(100);
    } finally {
      await third.stop();
    }
  });

  it('refuses a table that does not exist, that the connector does not capture, or without primary key, saying which', async () => {
    const prefix = uniqueName('resnap_refuse');
    const other = uniqueName('uncaptured');
    const keyless = `${prefix}_keyless`;
    tables.push(other, keyless);
    await db.query(`CREATE TABLE \`${other}\` (id INT PRIMARY KEY)`);
    await db.query(`CREATE TABLE \`${keyless}\` (a INT)`);
    const env = cdcEnv(prefix);
    const refused = await cli(env, 'snapshot', `${prefix}_missing`, other, keyless);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`no table ${config.mysql.database}.${prefix}_missing`);
    expect(refused.stderr).toContain(`${config.mysql.database}.${other} is not captured by this connector`);
    expect(refused.stderr).toContain(`${config.mysql.database}.${keyless} has no primary key`);
  });
});

/**
 * kill -9 during the snapshot of a table that is being written to. A restart must resume the
 * snapshot, not redo it at a new position: the rows an earlier attempt published stay in Kafka, so a
 * row deleted in between would keep its INSERT and never get a DELETE (a phantom row).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { PositionStore, type StoredPosition } from '../../connectors/mysql-binlog/position-store.js';
import type { CanalFlatMessage } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { CanalFold } from '../support/canal-fold.js';
import { appDb, cdcEnv, spawnCdc } from '../support/cdc.js';
import { killHard } from '../support/children.js';
import { createTopics, Follower, until } from '../support/follower.js';
import { config, uniqueName } from '../support/stack.js';

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });

/** Binlog coordinates in order: file (by its number), then offset. */
function atOrAfter(a: { file: string; pos: number }, b: { file: string; pos: number }): boolean {
  const number = (file: string): number => Number(file.slice(file.lastIndexOf('.') + 1));
  return number(a.file) !== number(b.file) ? number(a.file) > number(b.file) : a.pos >= b.pos;
}

describe('CDC snapshot under kill -9 with concurrent writers', () => {
  const table = uniqueName('snapkill');
  let db: mysql.Connection;
  beforeAll(async () => {
    db = await appDb();
  });
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${table}\``);
    await db.end();
  });

  it('resumes at the last committed chunk: the folded topic equals the table, no phantom row', async () => {
    const total = 200_000;
    const chunk = 1000;
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(16))`);
    for (let start = 1; start <= total; start += 5000) {
      await db.query(`INSERT INTO \`${table}\` VALUES ${Array.from({ length: 5000 }, (_, i) => `(${start + i}, 0, 'pre')`).join(',')}`);
    }
    const env = cdcEnv(table, { CDC_SNAPSHOT_CHUNK: String(chunk), CDC_PARTITIONS: '3' });
    const topic = env.CDC_TOPIC as string;
    const store = new PositionStore(kafka, env.CDC_POSITIONS_TOPIC as string, env.CDC_NAME as string);
    await store.ensureTopic();
    await createTopics([{ topic, partitions: 3 }]);

    // The consumer's view: every row folded by primary key, each change checked against the row held.
    const fold = new CanalFold();
    let committed: StoredPosition | undefined;
    const follower = await Follower.start([topic, store.topic], (from, key, value) => {
      if (from === store.topic) {
        if (key === store.key) committed = JSON.parse(value) as StoredPosition;
      } else fold.apply(JSON.parse(value) as CanalFlatMessage);
    });

    // Inserts, updates and deletes all over the key range, single statements and small transactions.
    const writer = await appDb();
    let writing = true;
    let ops = 0;
    let nextId = total + 1;
    const writes = (async () => {
      const anyId = (): number => 1 + Math.floor(Math.random() * (nextId - 1));
      while (writing) {
        const op = Math.random();
        if (op < 0.3) await writer.query(`UPDATE \`${table}\` SET v = v + 1 WHERE id = ?`, [anyId()]);
        else if (op < 0.55) await writer.query(`DELETE FROM \`${table}\` WHERE id = ?`, [anyId()]);
        else if (op < 0.8) await writer.query(`INSERT INTO \`${table}\` VALUES (?, 1, 'new')`, [nextId++]);
        else {
          await writer.query(
            `BEGIN; UPDATE \`${table}\` SET note = 'txn' WHERE id = ?; DELETE FROM \`${table}\` WHERE id = ?; INSERT INTO \`${table}\` VALUES (?, 2, 'txn'); COMMIT`,
            [anyId(), anyId(), nextId++],
          );
        }
        ops += 1;
      }
    })();

    let child = spawnCdc(env);
    try {
      for (let kill = 1; kill <= 3; kill++) {
        // Some of the snapshot is committed by this run (the follower reads committed records only) ...
        const before = fold.snapshotRows;
        await until(`kill ${kill}: a chunk of snapshot rows committed by this run`, () => fold.snapshotRows >= before + chunk);
        await killHard(child);
        // ... but not all of it: what the next run starts from is still mid-snapshot.
        const resumeFrom = await store.load();
        console.log(`snapshot kill ${kill}: ${fold.snapshotRows} snapshot rows in Kafka, ${ops} writes so far, stored ${JSON.stringify(resumeFrom?.snapshot ?? resumeFrom?.phase)}`);
        expect(resumeFrom?.phase, `kill ${kill} landed after the snapshot had ended`).toBe('snapshot');
        child = spawnCdc(env);
      }
      await until('the snapshot to end', () => committed?.phase === 'stream', 240_000);
      writing = false;
      await writes;
      const cdcUser = await mysql.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.user, password: config.mysql.password });
      const [status] = await cdcUser.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
      await cdcUser.end();
      const end = { file: String(status[0]?.File), pos: Number(status[0]?.Position) };
      await until('the connector to commit past the last write', () => committed !== undefined && atOrAfter(committed, end), 120_000);
      await until('the follower to read everything committed', () => follower.caughtUp(), 120_000);
    } finally {
      writing = false;
      await writes;
      await writer.end();
      await killHard(child);
      await follower.stop();
    }

    const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT id, v, note FROM \`${table}\``);
    const expected = new Map(rows.map((r) => [String(r.id), `${r.v}|${r.note}`]));
    const folded = new Map([...fold.rows].map(([id, row]) => [id, `${row.v}|${row.note}`]));
    const phantoms = [...folded.keys()].filter((id) => !expected.has(id));
    const missing = [...expected.keys()].filter((id) => !folded.has(id));
    const differing = [...expected].filter(([id, v]) => folded.has(id) && folded.get(id) !== v).map(([id]) => id);
    console.log(`snapshot kill test: ${ops} concurrent writes, ${fold.snapshotRows} snapshot rows published, table ${expected.size} rows, folded ${folded.size}; ${phantoms.length} phantom, ${missing.length} missing, ${differing.length} differing, ${fold.problemCount} changes not matching the row held`);
    expect(ops).toBeGreaterThan(0);
    expect(phantoms.slice(0, 10), `${phantoms.length} phantom rows`).toEqual([]);
    expect(missing.slice(0, 10), `${missing.length} missing rows`).toEqual([]);
    expect(differing.slice(0, 10), `${differing.length} differing rows`).toEqual([]);
    expect(fold.problems, `${fold.problemCount} changes do not apply to the row held`).toEqual([]);
  }, 600_000);
});

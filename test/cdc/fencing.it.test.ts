/**
 * A restart while an older instance of the same connector still has a Kafka transaction open. The new
 * instance reads its position before the publisher thread is up (to start streaming early) and only
 * publishes once InitProducerId has fenced the older one and the position read again is the same; a
 * position that moved in between (the older one committed) restarts it from there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { Transaction } from 'kafkajs';
import { PositionStore, type StoredPosition } from '../../connectors/mysql-binlog/position-store.js';
import { PublisherThread } from '../../connectors/mysql-binlog/publisher-thread.js';
import type { PublisherOptions } from '../../connectors/mysql-binlog/transactional-publisher.js';
import { appDb, cdcEnv, readUntil, startCdc, type Received } from '../support/cdc.js';
import { config, uniqueName } from '../support/stack.js';

/** A publisher thread whose InitProducerId (the fencing) waits for the test. */
class GatedPublisher extends PublisherThread {
  constructor(private readonly gate: Promise<void>) {
    super();
  }

  override async init(options: PublisherOptions): Promise<void> {
    await this.gate;
    return super.init(options);
  }
}

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
let db: mysql.Connection;
let cdcUser: mysql.Connection;

beforeAll(async () => {
  db = await appDb();
  const { host, port, user, password } = config.mysql;
  cdcUser = await mysql.createConnection({ host, port, user, password });
});
afterAll(async () => {
  await db.end();
  await cdcUser.end();
});

async function binlogEnd(): Promise<{ file: string; pos: number; gtid: string }> {
  const [status] = await cdcUser.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
  const [gtid] = await cdcUser.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS gtid');
  return { file: String(status[0]?.File), pos: Number(status[0]?.Position), gtid: String(gtid[0]?.gtid ?? '') };
}

function stored(at: { file: string; pos: number; gtid: string }, batchId: number): StoredPosition {
  return { phase: 'stream', ...at, batchId, eventTime: Date.now(), committedAt: Date.now() };
}

/** INSERT rows per id over all messages: every id once, or the duplicates. */
function idsOf(received: Received[]): { ids: Set<string>; duplicates: number } {
  const ids = new Set<string>();
  let duplicates = 0;
  for (const r of received) {
    if (r.message.type !== 'INSERT') continue;
    for (const row of r.message.data ?? []) {
      const id = row.id as string;
      if (ids.has(id)) duplicates += 1;
      ids.add(id);
    }
  }
  return { ids, duplicates };
}

/**
 * The situation of a kill -9 during a commit: the connector at position `from`, rows 1..50 written
 * after it, and the "older instance" (a producer holding the connector's transactional id) with an
 * open transaction carrying those rows and the position after them.
 */
async function olderInstanceMidCommit(table: string, env: Record<string, string>): Promise<Transaction> {
  await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY)`);
  const store = new PositionStore(kafka, env.CDC_POSITIONS_TOPIC as string, env.CDC_NAME as string);
  await store.ensureTopic();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: env.CDC_TOPIC as string, numPartitions: 3 }] });
  await admin.disconnect();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: store.topic, acks: -1, messages: [store.message(stored(await binlogEnd(), 1))] });
  await plain.disconnect();
  await db.query(`INSERT INTO \`${table}\` VALUES ${Array.from({ length: 50 }, (_, i) => `(${i + 1})`).join(',')}`);
  const after = await binlogEnd();
  const older = kafka.producer({ transactionalId: env.CDC_NAME, idempotent: true, maxInFlightRequests: 1 });
  await older.connect();
  const txn = await older.transaction();
  const rows = Array.from({ length: 50 }, (_, i) => ({
    key: JSON.stringify([config.mysql.database, table, String(i + 1)]),
    value: JSON.stringify({ data: [{ id: String(i + 1) }], database: config.mysql.database, table, type: 'INSERT', isDdl: false }),
  }));
  await txn.send({ topic: env.CDC_TOPIC as string, acks: -1, messages: rows });
  await txn.send({ topic: store.topic, acks: -1, messages: [store.message(stored(after, 2))] });
  return txn;
}

describe('CDC start while an older instance has a transaction open', () => {
  const tables: string[] = [];
  afterAll(async () => {
    for (const t of tables) await db.query(`DROP TABLE IF EXISTS \`${t}\``);
  });

  it('aborts the older transaction and publishes its rows itself, once', async () => {
    const table = uniqueName('fence_abort');
    tables.push(table);
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'never' });
    await olderInstanceMidCommit(table, env);
    const cdc = startCdc(env);
    try {
      await cdc.streaming;
      await db.query(`INSERT INTO \`${table}\` VALUES ${Array.from({ length: 50 }, (_, i) => `(${i + 51})`).join(',')}`);
      const got = await readUntil([cdc.topic], (all) => idsOf(all).ids.size >= 100, 60_000);
      expect(idsOf(got)).toEqual({ ids: new Set(Array.from({ length: 100 }, (_, i) => String(i + 1))), duplicates: 0 });
    } finally {
      await cdc.stop();
    }
  });

  it('resumes after what the older instance committed while the new one started, once', async () => {
    const table = uniqueName('fence_moved');
    tables.push(table);
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'never' });
    const older = await olderInstanceMidCommit(table, env);
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const cdc = startCdc(env, new GatedPublisher(gate));
    try {
      // Streaming: the new instance read the position the open transaction hides (before its rows).
      await cdc.streaming;
      await older.commit();
      openGate();
      await db.query(`INSERT INTO \`${table}\` VALUES ${Array.from({ length: 50 }, (_, i) => `(${i + 51})`).join(',')}`);
      const got = await readUntil([cdc.topic], (all) => idsOf(all).ids.size >= 100, 60_000);
      // Rows 1..50 come from the older instance's commit; published again they would be duplicates.
      expect(idsOf(got)).toEqual({ ids: new Set(Array.from({ length: 100 }, (_, i) => String(i + 1))), duplicates: 0 });
    } finally {
      await cdc.stop();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { MariaDbService } from '../../docker/stack/mariadb.js';
import { PositionStore, type StoredPosition } from '../../connectors/mysql-binlog/position-store.js';
import { BinlogPurgedError } from '../../connectors/mysql-binlog/service.js';
import type { CanalFlatMessage } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { CanalFold } from '../support/canal-fold.js';
import { appDb, cdcEnv, readUntil, rowCount, spawnCdc, startCdc, type Received } from '../support/cdc.js';
import { killHard } from '../support/children.js';
import { createTopics, Follower, until } from '../support/follower.js';
import { config, uniqueName } from '../support/stack.js';

let db: mysql.Connection;
beforeAll(async () => {
  db = await appDb();
});
afterAll(async () => {
  await db.end();
});

/** Lets time pass during which a test checks that nothing happens (never to wait for something). */
const observe = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rows per id over all messages: which ids arrived, and how many arrived more than once. */
function tally(received: Received[], type = 'INSERT'): { ids: Map<string, number>; duplicates: number } {
  const ids = new Map<string, number>();
  let duplicates = 0;
  for (const r of received) {
    if (r.message.type !== type) continue;
    for (const row of r.message.data ?? []) {
      const id = row.id as string;
      const seen = ids.get(id) ?? 0;
      if (seen > 0) duplicates += 1;
      ids.set(id, seen + 1);
    }
  }
  return { ids, duplicates };
}

describe('CDC under kill -9', () => {
  const table = uniqueName('crash');
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${table}\``);
  });

  it('loses and duplicates nothing when the reader is killed twice during a 200k-row load', async () => {
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, amount DECIMAL(10,2), note VARCHAR(24))`);
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'initial', CDC_PARTITIONS: '3' });
    const topic = env.CDC_TOPIC as string;
    await createTopics([{ topic, partitions: 3 }]);
    // Every committed row, in order, for the whole test: the proof of where each kill landed.
    let committedRows = 0;
    const follower = await Follower.start([topic], (_from, _key, value) => {
      committedRows += (JSON.parse(value) as CanalFlatMessage).data?.length ?? 0;
    });
    // The marker row arrives through the snapshot: once it is in Kafka the reader is streaming.
    await db.query(`INSERT INTO \`${table}\` VALUES (0, 0, 'marker')`);
    let child = spawnCdc(env);
    const total = 200_000;
    const perTxn = 1000;
    try {
      await until('the snapshot of the marker row', () => committedRows >= 1, 60_000);
      let loaded = 0;
      const load = (async () => {
        for (let start = 1; start <= total; start += perTxn) {
          const values = Array.from({ length: perTxn }, (_, i) => `(${start + i}, ${(start + i) % 1000}.25, 'row ${start + i}')`).join(',');
          await db.query(`INSERT INTO \`${table}\` VALUES ${values}`);
          loaded += perTxn;
        }
      })();
      for (let kill = 1; kill <= 2; kill++) {
        // Some of the load committed by this run ...
        const before = committedRows;
        await until(`kill ${kill}: rows committed by this run`, () => committedRows >= before + 2 * perTxn, 120_000);
        await killHard(child);
        // ... but not all of it: nothing commits after the kill, and what is committed falls short.
        await until(`kill ${kill}: the follower to read everything committed`, () => follower.caughtUp());
        console.log(`crash test: kill ${kill} with ${committedRows - 1} of ${total} rows committed (${loaded} loaded)`);
        expect(committedRows - 1, `kill ${kill} landed after everything was committed`).toBeLessThan(total);
        child = spawnCdc(env);
      }
      await load;
      await until('every row', () => committedRows >= total + 1, 240_000);
    } finally {
      await killHard(child);
      await follower.stop();
    }
    const received = await readUntil([topic], (all) => rowCount(all, 'INSERT') >= total + 1, 240_000);
    const { ids, duplicates } = tally(received);
    console.log(`crash test: 2 kill -9, ${rowCount(received, 'INSERT')} rows received, ${ids.size} distinct, ${duplicates} duplicates`);
    expect(ids.size).toBe(total + 1);
    for (let id = 0; id <= total; id += 997) expect(ids.has(String(id)), `row ${id}`).toBe(true);
    // Positions commit in the same Kafka transaction as the rows: a restart repeats nothing.
    expect(duplicates).toBe(0);
  }, 300_000);
});

describe.each([
  { mode: 'one keyed message per row', keyed: 'true' },
  { mode: "Canal's multi-row messages", keyed: 'false' },
])('CDC snapshot with concurrent writers ($mode)', ({ keyed }) => {
  const table = uniqueName('snap');
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${table}\``);
  });

  it('publishes a state equal to the table, every change applying to the row a consumer holds', async () => {
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(16))`);
    const preloaded = 30_000;
    for (let start = 1; start <= preloaded; start += 5000) {
      await db.query(`INSERT INTO \`${table}\` VALUES ${Array.from({ length: 5000 }, (_, i) => `(${start + i}, 0, 'pre')`).join(',')}`);
    }
    const writer = await appDb();
    let writing = true;
    let ops = 0;
    let nextId = preloaded + 1;
    const writes = (async () => {
      while (writing) {
        const id = 1 + Math.floor(Math.random() * (nextId - 1));
        const op = ops % 3;
        if (op === 0) await writer.query(`UPDATE \`${table}\` SET v = v + 1 WHERE id = ?`, [id]);
        else if (op === 1) await writer.query(`DELETE FROM \`${table}\` WHERE id = ?`, [id]);
        else await writer.query(`INSERT INTO \`${table}\` VALUES (?, 1, 'new')`, [nextId++]);
        ops += 1;
      }
    })();
    const cdc = startCdc(cdcEnv(table, { CDC_SNAPSHOT: 'initial', CDC_SNAPSHOT_CHUNK: '2000', CDC_KEY_BY_PK: keyed }));
    let opsDuringSnapshot = 0;
    try {
      // The snapshot starts before the reader streams and ends when its last chunk commits: writes
      // counted between the two were made while it ran (those just before the first are not counted).
      await cdc.streaming;
      const opsAtStart = ops;
      await cdc.snapshotted;
      opsDuringSnapshot = ops - opsAtStart;
      // And some after it.
      const opsAtEnd = ops;
      await until('writes after the snapshot', () => ops >= opsAtEnd + 100);
    } finally {
      writing = false;
      await writes;
      await writer.end();
    }

    const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT id, v, note FROM \`${table}\``);
    const expected = new Map(rows.map((r) => [String(r.id), `${r.v}|${r.note}`]));
    const fold = new CanalFold();
    const folded = (): Map<string, string> => new Map([...fold.rows].map(([id, row]) => [id, `${row.v}|${row.note}`]));
    const equal = (): boolean => {
      const state = folded();
      return state.size === expected.size && [...expected].every(([id, v]) => state.get(id) === v);
    };
    try {
      // A state that never becomes equal is reported by the checks below, with what differs.
      await readUntil([cdc.topic], (all) => {
        for (const r of all.splice(0)) fold.apply(r.message);
        return equal();
      }, 60_000).catch(() => undefined);
    } finally {
      await cdc.stop();
    }
    console.log(`snapshot with writers: ${opsDuringSnapshot} writes during the snapshot, ${fold.snapshotRows} snapshot rows, ${fold.problemCount} changes not matching the row held`);
    expect(opsDuringSnapshot).toBeGreaterThan(0);
    expect(folded()).toEqual(expected);
    // Each key's snapshot row comes once, and every UPDATE/DELETE applies to the row a consumer holds.
    expect(fold.problems).toEqual([]);
  });
});

describe('CDC when MySQL restarts mid-stream', () => {
  const table = uniqueName('mysqlrestart');
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${table}\``).catch(() => undefined);
  });

  it('reconnects and delivers every row exactly once', async () => {
    const mysqlService = new MariaDbService(config, () => undefined);
    const owned = (await mysqlService.status()).owner === 'stack';
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY)`);
    const cdc = startCdc(cdcEnv(table, { CDC_SNAPSHOT: 'never' }));
    try {
      await cdc.streaming;
      for (let i = 1; i <= 50; i++) await db.query(`INSERT INTO \`${table}\` VALUES (?)`, [i]);
      await readUntil([cdc.topic], (all) => rowCount(all) >= 50);
      if (owned) {
        expect(await mysqlService.down()).toMatch(/^(stopped|killed)/);
        await mysqlService.up();
      } else {
        // A MariaDB this checkout did not start (another checkout's) is not ours to restart:
        // cut the reader's replication connection from the server side instead.
        const admin = await (await import('mysql2/promise')).default.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.admin.user, password: config.mysql.admin.password });
        const [threads] = await admin.query<mysql.RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump' AND USER = ?", [config.mysql.user]);
        expect(threads.length).toBeGreaterThan(0);
        for (const t of threads) await admin.query(`KILL ${Number(t.ID)}`);
        await admin.end();
      }
      await db.end();
      db = await appDb();
      for (let i = 51; i <= 100; i++) await db.query(`INSERT INTO \`${table}\` VALUES (?)`, [i]);
      const got = await readUntil([cdc.topic], (all) => rowCount(all) >= 100, 120_000);
      const { ids, duplicates } = tally(got);
      expect(ids.size).toBe(100);
      expect(duplicates).toBe(0);
    } finally {
      await cdc.stop();
    }
  });
});

describe('CDC across a binlog rotation', () => {
  const table = uniqueName('rotate');
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${table}\``);
  });

  it('commits the position into the new file with no transaction after the rotation, and the watchdog stays quiet', async () => {
    const { cdcMetrics } = await import('../../connectors/mysql-binlog/metrics.js');
    const mysqlAdmin = (await import('mysql2/promise')).default;
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY)`);
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'never', CDC_WATCHDOG_MS: '1500' });
    const cdc = startCdc(env);
    const admin = await mysqlAdmin.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.admin.user, password: config.mysql.admin.password });
    const store = new PositionStore(new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }), env.CDC_POSITIONS_TOPIC as string, env.CDC_NAME as string);
    try {
      await cdc.streaming;
      await db.query(`INSERT INTO \`${table}\` VALUES (1)`);
      await readUntil([cdc.topic], (all) => rowCount(all) >= 1);
      const restarts = (await cdcMetrics().restarts.get()).values[0]?.value ?? 0;
      await admin.query('FLUSH BINARY LOGS');
      const [status] = await admin.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
      const file = String(status[0]?.File);
      // The committed position follows the rotation (a condition) ...
      await until('the committed position in the new binlog file', async () => (await store.load())?.file === file, 30_000);
      // ... and the watchdog, which would restart a reader that never hands over a position past the
      // rotation (it would look stuck), stays quiet: an observation window of three watchdog periods,
      // in which nothing must happen, not a wait for something to happen.
      await observe(3 * 1500);
      expect((await store.load())?.file).toBe(file);
      expect((await cdcMetrics().restarts.get()).values[0]?.value ?? 0).toBe(restarts);
    } finally {
      await admin.end();
      await cdc.stop();
    }
  });
});

describe('CDC refusals', () => {
  it('refuses a user without replication privileges, naming the GRANT that fixes it', async () => {
    const admin = await (await import('mysql2/promise')).default.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.admin.user, password: config.mysql.admin.password });
    const weak = uniqueName('weak').slice(0, 30);
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [weak, '127.0.0.1', 'weakpw']);
    await admin.query(`GRANT SELECT ON \`${config.mysql.database}\`.* TO ?@?`, [weak, '127.0.0.1']);
    try {
      const { execFile } = await import('node:child_process');
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, ['bin/rtdw.mjs', 'cdc'], { env: { ...process.env, MYSQL_USER: weak, MYSQL_PASSWORD: 'weakpw', CDC_NAME: uniqueName('refuse') }, timeout: 60_000 }, (err, _out, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr });
        });
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`lacks SELECT, REPLICATION SLAVE, BINLOG MONITOR. Fix: GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '${weak}'`);
      expect(result.stderr).not.toContain('weakpw');
    } finally {
      await admin.query('DROP USER ?@?', [weak, '127.0.0.1']);
      await admin.end();
    }
  });

  it('stops with the re-snapshot command when the saved position is not in the binlog, and re-snapshots with when_needed', async () => {
    const table = uniqueName('purged');
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY)`);
    await db.query(`INSERT INTO \`${table}\` VALUES (1), (2)`);
    const env = cdcEnv(table);
    const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const store = new PositionStore(kafka, env.CDC_POSITIONS_TOPIC as string, env.CDC_NAME as string);
    await store.ensureTopic();
    const gone: StoredPosition = { phase: 'stream', file: 'mysql-bin.000001', pos: 4, gtid: '0-1-999999999', batchId: 7, eventTime: 0, committedAt: Date.now() };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: store.topic, messages: [store.message(gone)] });
    await producer.disconnect();
    try {
      const { CdcService } = await import('../../connectors/mysql-binlog/service.js');
      const { loadCdcOptions } = await import('../../connectors/mysql-binlog/config.js');
      const { createLogger } = await import('../../connectors/observability/logger.js');
      const log = createLogger('cdc-test', 'silent');
      const failing = new CdcService(config, loadCdcOptions(config.mysql.database, env), kafka, log);
      const error = await failing.run().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(BinlogPurgedError);
      expect((error as Error).message).toContain('rtdw cdc reset && rtdw cdc');
      const healing = startCdc({ ...env, CDC_SNAPSHOT: 'when_needed' });
      try {
        const got = await readUntil([healing.topic], (all) => rowCount(all) >= 2);
        expect(got.every((r) => r.message.isSnapshot === true)).toBe(true);
      } finally {
        await healing.stop();
      }
    } finally {
      await db.query(`DROP TABLE IF EXISTS \`${table}\``);
    }
  });
});

/**
 * TIMESTAMP on a source server running in +08:00: a private MariaDB started for this file (the shared
 * one stays in UTC for everyone else's tests) and stopped after it. MySQL prints a TIMESTAMP in the
 * session's time zone; the CDC must print it in CDC_TIMEZONE, by default the server's zone, whichever
 * path read it: the snapshot, the raw rows codec (a utf8mb4 table) and zongji's decoded rows (a table
 * with a latin1 column, which the raw codec leaves to zongji). Expected texts are what MySQL itself
 * prints, read by the test in a session of each zone right after (or, for old images, right before)
 * each write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { createKafka } from '../../connectors/kafka/client.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { BinlogReader } from '../../connectors/mysql-binlog/binlog-reader.js';
import type { CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { loadCdcOptions } from '../../connectors/mysql-binlog/config.js';
import { CdcService } from '../../connectors/mysql-binlog/service.js';
import { MariaDbService } from '../../docker/stack/mariadb.js';
import type { RtdwConfig } from '../../schemas/config.js';
import { cdcEnv, readUntil, type Received } from '../support/cdc.js';
import { config, uniqueName } from '../support/stack.js';

const SERVER_ZONE = '+08:00';
const OTHER_ZONE = '-03:30';
const prefix = uniqueName('tz');
const rawTable = `${prefix}_raw`;
const decodedTable = `${prefix}_decoded`;
const COLUMNS = 'id INT PRIMARY KEY, ts0 TIMESTAMP NULL DEFAULT NULL, ts3 TIMESTAMP(3) NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL, dt DATETIME';

/** Deterministic randomness, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const random = rng(20260408);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const datetime = (fsp: number): string => {
  const base = `${int(1971, 2037)}-${pad(int(1, 12))}-${pad(int(1, 28))} ${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}`;
  return fsp > 0 ? `${base}.${Array.from({ length: fsp }, () => int(0, 9)).join('')}` : base;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Expected {
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  data: CanalRow;
  old: CanalRow | null;
  snapshot: boolean;
}

/** A row as MySQL prints it (dateStrings), every value as text like Canal's. */
function asText(row: mysql.RowDataPacket): CanalRow {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)]));
}

describe('CDC TIMESTAMP on a server in +08:00', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtdw-tz-'));
  let server: MariaDbService;
  let source: RtdwConfig;
  /** sessions in the server's zone (the default) and in OTHER_ZONE */
  const sessions: Record<string, mysql.Connection> = {};
  const services: Array<{ stop(): Promise<void> }> = [];

  beforeAll(async () => {
    source = { ...config, dataDir: dir, mysql: { ...config.mysql, port: await freePort() } };
    server = new MariaDbService(source, () => undefined, SERVER_ZONE);
    await server.up();
    const { host, port, database, app } = source.mysql;
    for (const zone of [SERVER_ZONE, OTHER_ZONE]) {
      const session = await mysql.createConnection({ host, port, database, user: app.user, password: app.password, dateStrings: true });
      if (zone !== SERVER_ZONE) await session.query('SET time_zone = ?', [zone]);
      sessions[zone] = session;
    }
  }, 180_000);

  afterAll(async () => {
    for (const s of services) await s.stop().catch(() => undefined);
    for (const s of Object.values(sessions)) await s.end().catch(() => undefined);
    await server?.down();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** The CDC service against the private server, with its own topics. */
  function startCdc(env: Record<string, string>): { topic: string; snapshotted: Promise<void> } {
    const log = createLogger('cdc-tz-test', process.env.TEST_LOG_LEVEL ?? 'warn');
    const service = new CdcService(source, loadCdcOptions(source.mysql.database, env), createKafka(config, 'cdc-tz-test', log), log);
    const running = service.run();
    services.push({
      stop: async () => {
        service.stop();
        await running;
      },
    });
    return { topic: env.CDC_TOPIC as string, snapshotted: service.snapshotted };
  }

  it('prints TIMESTAMP in the server zone by default and in CDC_TIMEZONE when set: snapshot, raw rows and decoded rows alike', async () => {
    const db = sessions[SERVER_ZONE] as mysql.Connection;
    const [[settings]] = await db.query<mysql.RowDataPacket[]>('SELECT @@global.time_zone AS zone');
    expect(settings?.zone).toBe(SERVER_ZONE);
    await db.query(`CREATE TABLE \`${rawTable}\` (${COLUMNS}) DEFAULT CHARSET=utf8mb4`);
    await db.query(`CREATE TABLE \`${decodedTable}\` (${COLUMNS}, l VARCHAR(8) CHARACTER SET latin1) DEFAULT CHARSET=utf8mb4`);
    const tables = [rawTable, decodedTable];
    const expected: Record<string, Map<string, Expected[]>> = { [SERVER_ZONE]: new Map(), [OTHER_ZONE]: new Map() };
    const read = async (zone: string, table: string, id: number): Promise<CanalRow> => {
      const [rows] = await (sessions[zone] as mysql.Connection).query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table}\` WHERE id = ?`, [id]);
      return asText(rows[0] as mysql.RowDataPacket);
    };
    const expect_ = async (table: string, id: number, entry: (zone: string) => Promise<Expected>): Promise<void> => {
      for (const zone of [SERVER_ZONE, OTHER_ZONE]) {
        const key = `${table}/${id}`;
        const history = expected[zone]?.get(key) ?? [];
        history.push(await entry(zone));
        expected[zone]?.set(key, history);
      }
    };
    const insert = async (table: string, id: number, snapshot: boolean): Promise<void> => {
      const ts0 = id === 3 ? '0000-00-00 00:00:00' : datetime(0);
      const extra = table === decodedTable ? ", 'lätin'" : '';
      await db.query(`INSERT INTO \`${table}\` VALUES (?, ?, ?, ?, ?${extra})`, [id, ts0, datetime(3), id % 5 === 0 ? null : datetime(6), datetime(0)]);
      await expect_(table, id, async (zone) => ({ type: 'INSERT', data: await read(zone, table, id), old: null, snapshot }));
    };

    // Rows the snapshot reads.
    for (const table of tables) for (let id = 1; id <= 15; id++) await insert(table, id, true);
    const env = cdcEnv(prefix);
    const byDefault = startCdc(env);
    const explicit = startCdc({ ...cdcEnv(prefix), CDC_TIMEZONE: OTHER_ZONE });
    // The snapshot runs while the binlog streams (DBLog): a row written before its chunk is read would
    // come twice, as the binlog's INSERT and the chunk's snapshot row. The expected histories hold
    // snapshot rows for rows 1..15 only, so the writes below wait for the snapshot's end.
    await Promise.all([byDefault.snapshotted, explicit.snapshotted]);

    const cdcUser = await mysql.createConnection({ host: source.mysql.host, port: source.mysql.port, user: source.mysql.user, password: source.mysql.password });
    const [[start]] = await cdcUser.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    for (const table of tables) {
      for (let id = 16; id <= 30; id++) await insert(table, id, false);
      for (const id of [2, 3, 17, 18, 25]) {
        const before: Record<string, CanalRow> = { [SERVER_ZONE]: await read(SERVER_ZONE, table, id), [OTHER_ZONE]: await read(OTHER_ZONE, table, id) };
        await db.query(`UPDATE \`${table}\` SET ts0 = ?, ts6 = ? WHERE id = ?`, [datetime(0), datetime(6), id]);
        await expect_(table, id, async (zone) => {
          const data = await read(zone, table, id);
          const was = before[zone] as CanalRow;
          const old = Object.fromEntries(Object.keys(data).filter((k) => data[k] !== was[k]).map((k) => [k, was[k] ?? null]));
          return { type: 'UPDATE', data, old, snapshot: false };
        });
      }
      for (const id of [4, 19]) {
        await expect_(table, id, async (zone) => ({ type: 'DELETE', data: await read(zone, table, id), old: null, snapshot: false }));
        await db.query(`DELETE FROM \`${table}\` WHERE id = ?`, [id]);
      }
    }
    const [[end]] = await cdcUser.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    await cdcUser.end();
    const firstTimestamp = expected[SERVER_ZONE]?.get(`${rawTable}/1`)?.[0]?.data.ts3;
    const sameInOtherZone = expected[OTHER_ZONE]?.get(`${rawTable}/1`)?.[0]?.data.ts3;
    // The two zones print the same instant 11.5 hours apart.
    expect(firstTimestamp).not.toBe(sameInOtherZone);

    const total = [...(expected[SERVER_ZONE]?.values() ?? [])].reduce((n, h) => n + h.length, 0);
    for (const [zone, run] of [[SERVER_ZONE, byDefault], [OTHER_ZONE, explicit]] as const) {
      const got = await readUntil([run.topic], (all) => all.length >= total, 120_000);
      expect(got).toHaveLength(total);
      // Per key its messages, in partition order (a key's messages share one partition).
      const histories = new Map<string, Expected[]>();
      for (const r of [...got].sort((a: Received, b: Received) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))) {
        const m = r.message;
        const data = m.data?.[0] as CanalRow;
        const key = `${m.table}/${data.id}`;
        histories.set(key, [...(histories.get(key) ?? []), { type: m.type as Expected['type'], data, old: m.old?.[0] ?? null, snapshot: m.isSnapshot === true }]);
      }
      expect(Object.fromEntries(histories), `CDC_TIMEZONE=${zone === SERVER_ZONE ? '(the server zone)' : zone}`).toEqual(Object.fromEntries(expected[zone] ?? new Map()));
    }

    // The two tables took the two binlog paths.
    const formats = new Map<string, Set<string>>();
    await new Promise<void>((resolve, reject) => {
      const { host, port, user, password } = source.mysql;
      const reader = new BinlogReader({
        connection: { host, port, user, password },
        serverId: 100_000 + int(0, 1_000_000),
        flavour: 'mariadb',
        start: { file: String(start?.File), pos: Number(start?.Position), gtid: '' },
        acceptsTable: (_db, t) => tables.includes(t),
        onTransaction: (txn) => {
          if (txn.kind === 'rows') for (const e of txn.events) formats.set(e.table, (formats.get(e.table) ?? new Set()).add(e.rows.format));
          if (txn.position.file === String(end?.File) && txn.position.pos >= Number(end?.Position)) void reader.stop().then(resolve);
        },
        onError: reject,
      });
      reader.start().catch(reject);
    });
    expect(Object.fromEntries([...formats].map(([t, f]) => [t, [...f]]))).toEqual({ [rawTable]: ['raw'], [decodedTable]: ['decoded'] });
  });
});

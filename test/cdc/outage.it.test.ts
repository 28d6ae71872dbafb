/**
 * The CDC reader through a Kafka outage and a MySQL outage, on a private MariaDB and a private broker
 * (`rtdw stack stop|start` on a stack of the test's own; the shared services are never touched), with
 * rows written all along. Each outage must be logged once when it begins and once when it ends (with
 * its length) and counted in rtdw_outages_total; nothing may be lost or repeated; and the reader must
 * be caught up within 5 s of the service's return. Catch-up is read from Kafka's record timestamps
 * (when the CDC published each row), so a slow test reader does not count.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { createKafka } from '../../connectors/kafka/client.js';
import { loadCdcOptions } from '../../connectors/mysql-binlog/config.js';
import { CdcService } from '../../connectors/mysql-binlog/service.js';
import { privateStack, type PrivateStack } from '../support/private-stack.js';
import { cdcEnv, readUntil, type Received } from '../support/cdc.js';
import { uniqueName } from '../support/stack.js';
import { outagesCounted as outages, serviceAvailable } from '../support/outages.js';

const CATCH_UP_MS = 5000;

type Line = { level: number; msg: string; part?: string; service?: string; outageMs?: number };

function capturedLogger() {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

const outagesCounted = (service: string) => outages('cdc', service);

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('CDC through outages of Kafka and MySQL', () => {
  let stack: PrivateStack;

  beforeAll(async () => {
    stack = await privateStack('rtdw-cdc-outage-');
    await stack.stack('start', 'mysql');
    await stack.stack('start', 'kafka');
  }, 300_000);

  afterAll(async () => {
    await stack?.destroy();
  }, 180_000);

  it('logs and counts each outage once, loses and repeats nothing, and is caught up within 5 s of the return', async () => {
    const table = uniqueName('outage');
    const { host, port, database, app } = stack.config.mysql;
    const connect = () => mysql.createConnection({ host, port, database, user: app.user, password: app.password, connectTimeout: 2000 });
    const setup = await connect();
    await setup.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, written_at BIGINT NOT NULL)`);
    await setup.end();

    const env = cdcEnv(table);
    const { log, lines } = capturedLogger();
    const service = new CdcService(stack.config, loadCdcOptions(database, env), createKafka(stack.config, 'cdc-outage-test', log), log);
    const running = service.run();
    await service.streaming;

    // The writer inserts one row every 20 ms; while MySQL is away its inserts fail and are not counted.
    const written = new Map<number, number>();
    let writerErrors = 0;
    let writing = true;
    let next = 1;
    const writer = (async () => {
      let conn: mysql.Connection | undefined;
      while (writing) {
        try {
          if (conn === undefined) {
            conn = await connect();
            // An insert whose answer was lost in the outage may have committed: then it counts.
            const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT written_at FROM \`${table}\` WHERE id = ?`, [next]);
            if (rows[0] !== undefined) {
              written.set(next, Number(rows[0].written_at));
              next += 1;
            }
          }
          const at = Date.now();
          await conn.query(`INSERT INTO \`${table}\` VALUES (?, ?)`, [next, at]);
          written.set(next, at);
          next += 1;
        } catch {
          writerErrors += 1;
          conn?.destroy();
          conn = undefined;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await conn?.end();
    })();
    const outageLines = (service: string, msg: string) => lines.filter((l) => l.part === 'cdc' && l.service === service && l.msg === msg);

    await until('100 rows written', () => (written.size >= 100 ? true : undefined));
    const kafkaOutagesBefore = await outagesCounted('kafka');
    await stack.stack('stop', 'kafka');
    const kafkaStoppedAt = Date.now();
    await until('the Kafka outage logged', () => (outageLines('kafka', 'kafka unavailable: outage begins').length > 0 ? true : undefined), 30_000);
    // Rows keep coming while Kafka is away.
    await until('100 rows during the Kafka outage', () => ([...written.values()].filter((t) => t > kafkaStoppedAt).length >= 100 ? true : undefined));
    await stack.stack('start', 'kafka');
    const kafkaBackAt = Date.now();
    await until('the Kafka outage ended', () => (outageLines('kafka', 'kafka available again').length > 0 ? true : undefined), 60_000);

    await until('100 rows after Kafka', () => ([...written.values()].filter((t) => t > kafkaBackAt).length >= 100 ? true : undefined));
    const mysqlOutagesBefore = await outagesCounted('mysql');
    const errorsBefore = writerErrors;
    await stack.stack('stop', 'mysql');
    await until('the MySQL outage logged', () => (outageLines('mysql', 'mysql unavailable: outage begins').length > 0 ? true : undefined), 30_000);
    // Prove it was away: the writer's inserts failed.
    await until('failed inserts during the MySQL outage', () => (writerErrors >= errorsBefore + 3 ? true : undefined), 30_000);
    await stack.stack('start', 'mysql');
    const mysqlBackAt = Date.now();
    await until('100 rows after MySQL', () => ([...written.values()].filter((t) => t > mysqlBackAt).length >= 100 ? true : undefined));
    writing = false;
    await writer;

    const ids = [...written.keys()];
    const got = await readUntil([env.CDC_TOPIC as string], (all) => new Set(all.flatMap(idsOf)).size >= ids.length, 120_000, stack.config.kafka.brokers);
    service.stop();
    await running;

    // Exactly the rows written, each once.
    const published = got.flatMap(idsOf);
    expect(published.length).toBe(ids.length);
    expect(new Set(published)).toEqual(new Set(ids));

    const publishedAt = new Map<number, number>();
    for (const r of got) for (const id of idsOf(r)) publishedAt.set(id, r.timestamp);
    const lag = (from: number, to: number, back: number) => {
      const held = ids.filter((id) => (written.get(id) as number) > from && (written.get(id) as number) <= to);
      return { rows: held.length, catchUpMs: Math.max(...held.map((id) => (publishedAt.get(id) as number) - back)) };
    };
    // Kafka: the rows written while it was away were published after its return, and all within 5 s of it.
    const kafka = lag(kafkaStoppedAt, kafkaBackAt, kafkaBackAt);
    expect(kafka.rows).toBeGreaterThanOrEqual(100);
    expect(Math.min(...ids.filter((id) => (written.get(id) as number) > kafkaStoppedAt + 1000 && (written.get(id) as number) <= kafkaBackAt).map((id) => publishedAt.get(id) as number))).toBeGreaterThan(kafkaStoppedAt);
    expect(kafka.catchUpMs, `Kafka catch-up ${kafka.catchUpMs} ms`).toBeLessThan(CATCH_UP_MS);
    // MySQL: the first rows written after its return were published within 5 s of it.
    const firstAfter = ids.filter((id) => (written.get(id) as number) > mysqlBackAt).slice(0, 10);
    const mysqlCatchUp = Math.max(...firstAfter.map((id) => (publishedAt.get(id) as number) - mysqlBackAt));
    expect(mysqlCatchUp, `MySQL catch-up ${mysqlCatchUp} ms`).toBeLessThan(CATCH_UP_MS);

    for (const s of ['kafka', 'mysql']) {
      expect(outageLines(s, `${s} unavailable: outage begins`), s).toHaveLength(1);
      const ended = outageLines(s, `${s} available again`);
      expect(ended, s).toHaveLength(1);
      expect(ended[0]?.outageMs, s).toBeGreaterThan(0);
    }
    expect(await outagesCounted('kafka')).toBe(kafkaOutagesBefore + 1);
    expect(await outagesCounted('mysql')).toBe(mysqlOutagesBefore + 1);
    expect([await serviceAvailable('cdc', 'kafka'), await serviceAvailable('cdc', 'mysql')]).toEqual([1, 1]);
    console.log(`kafka outage: ${kafka.rows} rows held, caught up ${kafka.catchUpMs} ms after the return; mysql: caught up ${mysqlCatchUp} ms after the return`);
  }, 600_000);
});

function idsOf(r: Received): number[] {
  return (r.message.data ?? []).map((row) => Number(row.id));
}

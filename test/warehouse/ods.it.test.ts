/**
 * The ODS layer end to end on the real stack: source tables in a private MySQL database, the CDC
 * (snapshot, then binlog) into a private `<ns>.ods_binlog`, the mirror into a private ClickHouse
 * database. After inserts, updates (primary-key changes included), deletes and a replay of the whole
 * topic by a fresh consumer group, `SELECT ... FINAL WHERE _is_deleted = 0` equals the MySQL table,
 * row for row and value for value, for every table; both sides are printed as text by SQL written here.
 */
import { randomInt } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../schemas/config.js';
import { SOURCE_TABLES } from '../../schemas/events.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { createClickHouse, quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { migrate } from '../../connectors/clickhouse/migrations.js';
import { ClickHouseSink, type DeadLetter, type SinkSpec } from '../../connectors/clickhouse/sink.js';
import { odsMirror, odsTable } from '../../jobs/ods/mirror.js';
import { setupSource } from '../../jobs/setup.js';
import { startCdc, type CdcRun } from '../support/cdc.js';
import { config, uniqueName } from '../support/stack.js';
import { clickhouse, createTopic, deleteTopics, dropDatabase, produce, query, readTopic, waitFor, withAdmin } from './support.js';

const log = createLogger('ods-test', process.env.TEST_LOG_LEVEL ?? 'warn');
const SEP = '\u001f';

interface SourceColumn {
  name: string;
  dataType: string;
  scale: number | null;
}

/** Each table's columns, from MySQL's information_schema. */
async function sourceColumns(db: mysql.Connection, ns: string): Promise<Map<string, SourceColumn[]>> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS d, NUMERIC_SCALE AS s FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION',
    [ns],
  );
  const tables = new Map<string, SourceColumn[]>();
  for (const r of rows) tables.set(String(r.t), [...(tables.get(String(r.t)) ?? []), { name: String(r.c), dataType: String(r.d), scale: r.s === null ? null : Number(r.s) }]);
  return tables;
}

/** Every row of a MySQL table as one text line: values as MySQL prints them. */
async function mysqlRows(db: mysql.Connection, ns: string, table: string, columns: SourceColumn[]): Promise<string[]> {
  const fields = columns.map((c) => `CAST(\`${c.name}\` AS CHAR)`).join(', ');
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT CONCAT_WS(?, ${fields}) AS line FROM \`${ns}\`.\`${table}\` ORDER BY id`, [SEP]);
  return rows.map((r) => String(r.line));
}

/** The same lines from the mirror, as ClickHouse prints its values (decimals with their scale). */
async function mirrorRows(client: ClickHouseClient, ns: string, table: string, columns: SourceColumn[]): Promise<string[]> {
  const fields = columns.map((c) => (c.dataType === 'decimal' ? `toDecimalString(${c.name}, ${c.scale ?? 0})` : `toString(${c.name})`)).join(', ');
  const rows = await query<{ line: string }>(
    client,
    `SELECT concatWithSeparator({sep:String}, ${fields}) AS line FROM ${quoteIdentifier(ns)}.${quoteIdentifier(odsTable(table))} FINAL WHERE _is_deleted = 0 ORDER BY id`,
    { sep: SEP },
  );
  return rows.map((r) => r.line);
}

const pick = <T>(values: readonly T[]): T => values[randomInt(values.length)] as T;
const NAMES = ["O'Brien", '王小明', 'Zoë "Z" Ünal', 'emoji 🚀', '', 'back\\slash', 'tab\there', 'semi;colon|pipe'];
const time = (base: number, ms: number) => new Date(base + ms).toISOString().replace('T', ' ').replace('Z', '');
const T0 = Date.UTC(2024, 1, 28, 23, 59, 0);

/**
 * Both ways the CDC publishes: keyed messages (the default) over three partitions, where a key change
 * reaches the mirror as the CDC's DELETE of the old key in that key's partition; and Canal's
 * multi-row messages, which carry no such DELETE, over one partition.
 */
describe.each([
  { mode: 'keyed messages, 3 partitions', partitions: 3, keyed: 'true' },
  { mode: 'Canal multi-row messages, 1 partition', partitions: 1, keyed: 'false' },
])('ODS mirror end to end: $mode', ({ partitions, keyed }) => {
  const ns = uniqueName('ods');
  const binlogTopic = `${ns}.ods_binlog`;
  let db: mysql.Connection;
  let client: ClickHouseClient;
  let cdc: CdcRun | undefined;
  const sinks: ClickHouseSink[] = [];
  const topics = [binlogTopic, `${ns}.dead_letter`, `${ns}.cdc_positions`, `${ns}.cdc_dead_letter`];

  async function startMirror(groupSuffix: string): Promise<ClickHouseSink> {
    const base = odsMirror({ namespace: ns, sourceDatabase: ns });
    const spec: SinkSpec = { ...base, name: `ods-mirror-${groupSuffix}`, groupId: `${base.groupId}-${groupSuffix}` };
    const sink = new ClickHouseSink(createKafka(config, spec.name, log), createClickHouse({ ...config.clickhouse, database: ns }), { database: ns, batchRows: 5000, flushMs: 200, maxRetryDelayMs: 1000 }, spec, log);
    await sink.start();
    sinks.push(sink);
    return sink;
  }

  async function mirrorEqualsSource(): Promise<void> {
    const columns = await sourceColumns(db, ns);
    let lastDiff = '';
    await waitFor(
      'the mirror to equal MySQL',
      async () => {
        for (const table of SOURCE_TABLES) {
          const cols = columns.get(table) ?? [];
          const [source, mirror] = [await mysqlRows(db, ns, table, cols), await mirrorRows(client, ns, table, cols)];
          if (JSON.stringify(source) !== JSON.stringify(mirror)) {
            lastDiff = `${table}: ${source.length} rows in MySQL, ${mirror.length} in the mirror; first difference at ${source.findIndex((s, i) => s !== mirror[i])}`;
            return undefined;
          }
        }
        return true;
      },
      150_000,
      500,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${lastDiff}`);
    });
  }

  beforeAll(async () => {
    const own = loadConfig({ ...process.env, MYSQL_DATABASE: ns });
    await setupSource(own, () => undefined);
    db = await mysql.createConnection({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.admin.user, password: config.mysql.admin.password, database: ns });
    client = clickhouse();
    await migrate(client, ns);
    await createTopic(binlogTopic, partitions);
    await createTopic(`${ns}.dead_letter`, 1);
  });

  afterAll(async () => {
    for (const sink of sinks) await sink.stop().catch(() => undefined);
    await cdc?.stop().catch(() => undefined);
    await db?.query(`DROP DATABASE IF EXISTS \`${ns}\``);
    await db?.end();
    await dropDatabase(client, ns);
    await client.close();
    await deleteTopics(topics);
  });

  it('mirrors the snapshot and every later insert, update, key change and delete, exactly', async () => {
    // Rows before the CDC starts: they arrive through the snapshot.
    const areas = Array.from({ length: 30 }, (_, i) => [i + 1, pick(['浙江', 'Zhejiang', "Hawai'i"]), pick(NAMES)]);
    areas.push([-2147483648, 'min', 'int'], [2147483647, 'max', 'int']);
    await db.query('INSERT INTO areas (id, province, city) VALUES ?', [areas]);
    const users = Array.from({ length: 60 }, (_, i) => [i + 1, pick(NAMES), randomInt(1, 31), pick(['ads', 'seo', 'direct']), time(T0, randomInt(0, 5 * 86_400_000))]);
    users.push(['9223372036854775807', 'max', 1, 'x', '2024-02-29 23:59:59.999'], ['-9223372036854775808', 'min', 1, 'x', '1970-01-01 00:00:00.000']);
    await db.query('INSERT INTO users (id, name, area_id, channel, created_at) VALUES ?', [users]);
    await db.query('INSERT INTO products (id, name, category, price) VALUES ?', [[[1, 'pen', 'office', '0.00'], [2, 'car', 'auto', '9999999999.99'], [3, 'refund', 'x', '-0.01'], [4, '笔', '文具', '12.50']]]);
    const orders = Array.from({ length: 200 }, (_, i) => [i + 1, randomInt(1, 61), randomInt(1, 31), `${randomInt(0, 100_000)}.${String(randomInt(0, 100)).padStart(2, '0')}`, pick(['created', 'paid']), time(T0, i * 997), time(T0, i * 997 + 5)]);
    await db.query('INSERT INTO orders (id, user_id, area_id, amount, status, created_at, updated_at) VALUES ?', [orders]);

    cdc = startCdc({
      CDC_NAME: uniqueName('odscdc'),
      CDC_TOPIC: binlogTopic,
      CDC_POSITIONS_TOPIC: `${ns}.cdc_positions`,
      CDC_DEAD_LETTER_TOPIC: `${ns}.cdc_dead_letter`,
      CDC_SERVER_ID: String(randomInt(10_000, 4_000_000)),
      CDC_FILTER_REGEX: `${ns}\\..*`,
      CDC_PARTITIONS: String(partitions),
      CDC_KEY_BY_PK: keyed,
      CDC_FLUSH_MS: '20',
    });
    const first = await startMirror('a');
    await cdc.streaming;

    // Binlog changes, in many small transactions and a few large statements.
    await db.query('INSERT INTO order_items (id, order_id, product_id, quantity, price) VALUES ?', [Array.from({ length: 400 }, (_, i) => [i + 1, randomInt(1, 201), randomInt(1, 5), randomInt(1, 10), `${randomInt(0, 1000)}.${randomInt(10, 99)}`])]);
    await db.query('INSERT INTO payments (id, order_id, amount, status, paid_at) VALUES ?', [Array.from({ length: 150 }, (_, i) => [i + 1, i + 1, `${randomInt(0, 1000)}.05`, pick(['success', 'fail']), time(T0, i * 997 + 60_000)])]);
    for (let i = 0; i < 60; i++) {
      const id = randomInt(1, 201);
      await db.query("UPDATE orders SET status = 'cancelled', amount = amount + 0.01, updated_at = updated_at + INTERVAL 1 SECOND WHERE id = ?", [id]);
    }
    await db.query("UPDATE users SET name = CONCAT(name, ' ✓'), created_at = created_at + INTERVAL 1 DAY + INTERVAL 1000 MICROSECOND WHERE id % 7 = 0");
    await db.query('ALTER TABLE orders COMMENT = ?', ['a DDL message the mirror skips']);
    // Primary-key changes: a row moves to a new id (its old id must disappear), then an id is reused.
    await db.query('UPDATE areas SET id = id + 1000 WHERE id BETWEEN 1 AND 10');
    await db.query('UPDATE orders SET id = id + 5000 WHERE id BETWEEN 20 AND 40');
    await db.query("INSERT INTO areas (id, province, city) VALUES (3, 'reused', 'id')");
    await db.beginTransaction();
    await db.query('UPDATE products SET id = 100 WHERE id = 1');
    await db.query('UPDATE products SET id = 1 WHERE id = 2');
    await db.query('UPDATE products SET id = 2 WHERE id = 100');
    await db.commit();
    await db.query('DELETE FROM order_items WHERE id % 3 = 0');
    await db.query('DELETE FROM payments WHERE id = 5');
    await db.query('INSERT INTO refunds (id, order_id, amount, created_at) VALUES (1, 2, 1.00, ?), (2, 3, 0.50, ?)', [time(T0, 1), time(T0, 2)]);
    await db.query('DELETE FROM refunds WHERE id = 1');
    await db.query("INSERT INTO refunds (id, order_id, amount, created_at) VALUES (1, 2, 2.00, '2024-03-01 00:00:00.001')");

    await mirrorEqualsSource();
    expect(first.stats().skipped.ddl).toBeGreaterThanOrEqual(1);
    expect(first.stats().deadLetters).toBe(0);
  }, 300_000);

  it('a fresh group replaying the whole topic leaves the mirror equal to MySQL', async () => {
    await db.query("UPDATE orders SET status = 'refunded' WHERE id % 5 = 0");
    await db.query('DELETE FROM users WHERE id % 11 = 0');
    const replay = await startMirror('b');
    await waitFor('the replay to reach the end of the topic', async () => {
      const ends = await withAdmin((a) => a.fetchTopicOffsets(binlogTopic));
      const [committed] = await withAdmin((a) => a.fetchOffsets({ groupId: `${ns}-ods-mirror-b`, topics: [binlogTopic] }));
      return ends.every((e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.high) ? true : undefined;
    });
    await mirrorEqualsSource();
    // The replay wrote every current row again (and all the versions before): it did happen.
    const [counts] = await db.query<mysql.RowDataPacket[]>(`SELECT ${SOURCE_TABLES.map((t) => `(SELECT COUNT(*) FROM \`${t}\`)`).join(' + ')} AS n`);
    expect(Object.values(replay.stats().rows).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(Number(counts[0]?.n));
  }, 300_000);

  it('dead-letters records it cannot mirror, and goes on', async () => {
    const unknown = JSON.stringify({ data: [{ id: '1' }], database: ns, es: 0, gtid: '', id: 1, isDdl: false, mysqlType: {}, old: null, pkNames: ['id'], sql: '', sqlType: {}, table: 'coupons', ts: 0, type: 'INSERT' });
    const badValue = JSON.stringify({ data: [{ id: '77', province: 'p', city: 'c', extra: 'x' }], database: ns, es: 0, gtid: '', id: 1, isDdl: false, mysqlType: {}, old: null, pkNames: ['id'], sql: '', sqlType: {}, table: 'areas', ts: 0, type: 'INSERT' });
    await produce(binlogTopic, [{ partition: 0, value: 'not json' }, { partition: partitions - 1, value: unknown }, { partition: 0, value: badValue }]);
    await db.query("INSERT INTO areas (id, province, city) VALUES (4242, 'after', 'the bad ones')");
    await mirrorEqualsSource();
    const letters = await waitFor('three dead letters', async () => {
      const all = (await readTopic(`${ns}.dead_letter`)).map((r) => JSON.parse(String(r.value)) as DeadLetter).filter((l) => l.sink === 'ods-mirror-b');
      return all.length >= 3 ? all : undefined;
    });
    const byValue = new Map(letters.map((l) => [Buffer.from(l.value ?? '', 'base64').toString(), l]));
    expect(byValue.get('not json')?.reason).toMatch(/^malformed JSON: /);
    expect(byValue.get(unknown)?.reason).toBe('unknown table "coupons": no ods_ table mirrors it');
    expect(byValue.get(badValue)?.reason).toBe('ods_areas: unknown column extra');
    expect(letters.map((l) => l.topic)).toEqual([binlogTopic, binlogTopic, binlogTopic]);
  }, 300_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { appDb, cdcEnv, readUntil, startCdc, type Received } from '../support/cdc.js';
import { config, uniqueName } from '../support/stack.js';

let db: mysql.Connection;
beforeAll(async () => {
  db = await appDb();
});
afterAll(async () => {
  await db.end();
});

describe('CDC row changes in Canal shape', () => {
  const prefix = uniqueName('dml');
  const orders = `${prefix}_orders`;
  const items = `${prefix}_items`;

  it('publishes one message per row event, UPDATE old with changed columns only, DELETE before-images', async () => {
    await db.query(`CREATE TABLE \`${orders}\` (id INT PRIMARY KEY, status VARCHAR(8), amount DECIMAL(10,2), note VARCHAR(8))`);
    await db.query(`CREATE TABLE \`${items}\` (order_id INT, line INT, sku VARCHAR(8), PRIMARY KEY (line, order_id))`);
    // Canal's own shape: multi-row messages, no key.
    const cdc = startCdc(cdcEnv(prefix, { CDC_SNAPSHOT: 'never', CDC_KEY_BY_PK: 'false', CDC_PARTITIONS: '1' }));
    try {
      await cdc.streaming;
      await db.query(`INSERT INTO \`${orders}\` VALUES (1,'new',10.00,'a'),(2,'new',20.00,'b'),(3,'new',30.00,'c')`);
      await db.query(`UPDATE \`${orders}\` SET status = 'paid' WHERE id IN (1, 2)`);
      await db.query(`UPDATE \`${orders}\` SET status = 'paid', amount = amount + 1 WHERE id = 3`);
      await db.query(`DELETE FROM \`${orders}\` WHERE id IN (2, 3)`);
      await db.beginTransaction();
      await db.query(`INSERT INTO \`${orders}\` VALUES (4,'new',40.00,NULL)`);
      await db.query(`INSERT INTO \`${items}\` VALUES (4,1,'sku-a'),(4,2,'sku-b')`);
      await db.commit();
      const got = await readUntil([cdc.topic], (all) => all.length >= 6);
      const [ins, upd1, upd2, del, txnOrder, txnItems] = got.map((r) => r.message);
      expect(got.map((r) => r.message.type)).toEqual(['INSERT', 'UPDATE', 'UPDATE', 'DELETE', 'INSERT', 'INSERT']);
      expect(got.every((r) => r.key === null && r.partition === 0)).toBe(true);
      expect(ins?.data?.map((r) => r.id)).toEqual(['1', '2', '3']);
      expect(upd1?.data?.map((r) => [r.id, r.status])).toEqual([['1', 'paid'], ['2', 'paid']]);
      expect(upd1?.old).toEqual([{ status: 'new' }, { status: 'new' }]);
      expect(upd2?.old).toEqual([{ status: 'new', amount: '30.00' }]);
      expect(upd2?.data?.[0]).toEqual({ id: '3', status: 'paid', amount: '31.00', note: 'c' });
      expect(del?.data).toEqual([{ id: '2', status: 'paid', amount: '20.00', note: 'b' }, { id: '3', status: 'paid', amount: '31.00', note: 'c' }]);
      expect(del?.old).toBeNull();
      // One transaction over two tables: both messages carry the same GTID and batch.
      expect(txnOrder?.table).toBe(orders);
      expect(txnItems?.table).toBe(items);
      expect(txnItems?.pkNames).toEqual(['order_id', 'line']);
      expect(txnOrder?.gtid).toBe(txnItems?.gtid);
      expect(txnOrder?.gtid).toMatch(/^\d+-1-\d+$/);
      expect(txnOrder?.id).toBe(txnItems?.id);
    } finally {
      await cdc.stop();
    }
  });

  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${orders}\`, \`${items}\``);
  });
});

describe('CDC across DDL', () => {
  const table = uniqueName('ddl');

  it('decodes rows written before and after ALTER ADD/DROP COLUMN, also when resuming from before the ALTER', async () => {
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, a VARCHAR(8), b INT)`);
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'never' });
    const first = startCdc(env);
    await first.streaming;
    await db.query(`INSERT INTO \`${table}\` VALUES (1, 'one', 1)`);
    await readUntil([first.topic], (all) => all.length >= 1);
    await first.stop();
    // While the reader is down: a row, two ALTERs, rows after each. On restart, information_schema
    // already shows the final table; rows from before the ALTERs must still decode right.
    await db.query(`INSERT INTO \`${table}\` VALUES (2, 'two', 2)`);
    await db.query(`ALTER TABLE \`${table}\` ADD COLUMN c DECIMAL(6,2) AFTER a`);
    await db.query(`INSERT INTO \`${table}\` VALUES (3, 'three', 3.30, 3)`);
    await db.query(`ALTER TABLE \`${table}\` DROP COLUMN b`);
    await db.query(`INSERT INTO \`${table}\` VALUES (4, 'four', 4.40)`);
    const second = startCdc(env);
    try {
      // Rows spread over partitions: wait for all four rows and both DDLs, then compare by id.
      const got = await readUntil([second.topic], (all) => all.length >= 6);
      const rows = got.filter((r) => !r.message.isDdl).map((r) => r.message.data?.[0]).sort((x, y) => Number(x?.id) - Number(y?.id));
      expect(rows).toEqual([
        { id: '1', a: 'one', b: '1' },
        { id: '2', a: 'two', b: '2' },
        { id: '3', a: 'three', c: '3.30', b: '3' },
        { id: '4', a: 'four', c: '4.40' },
      ]);
      const ddl = got.filter((r) => r.message.isDdl).map((r) => r.message);
      expect(ddl.map((m) => [m.type, m.table, m.data, m.sqlType])).toEqual([['ALTER', table, null, null], ['ALTER', table, null, null]]);
      expect(ddl[0]?.sql).toMatch(/ADD COLUMN c DECIMAL\(6,2\)/);
      const after = got.find((r) => r.message.data?.[0]?.id === '4')?.message;
      expect(after?.mysqlType).toEqual({ id: 'int(11)', a: 'varchar(8)', c: 'decimal(6,2)' });
    } finally {
      await second.stop();
      await db.query(`DROP TABLE IF EXISTS \`${table}\``);
    }
  });
});

describe('CDC routing and filters', () => {
  const prefix = uniqueName('route');
  const kept = `${prefix}_kept`;
  const black = `${prefix}_black`;

  it('sends each table to its own topic, each row of one key to one partition, keyed by primary key; black-listed tables never appear', async () => {
    await db.query(`CREATE TABLE \`${kept}\` (id INT PRIMARY KEY, v INT)`);
    await db.query(`CREATE TABLE \`${black}\` (id INT PRIMARY KEY, v INT)`);
    const env = cdcEnv(prefix, { CDC_SNAPSHOT: 'never', CDC_DYNAMIC_TOPIC: `${config.mysql.database}\\.${prefix}.*`, CDC_PARTITIONS: '4', CDC_BLACK_REGEX: `.*\\.${black}` });
    const cdc = startCdc(env);
    const topic = `${config.mysql.database}_${kept}`;
    try {
      await cdc.streaming;
      await db.query(`INSERT INTO \`${black}\` VALUES (1, 1)`);
      const ids = Array.from({ length: 40 }, (_, i) => i + 1);
      await db.query(`INSERT INTO \`${kept}\` VALUES ${ids.map((i) => `(${i}, 0)`).join(',')}`);
      for (let round = 1; round <= 3; round++) await db.query(`UPDATE \`${kept}\` SET v = ${round}`);
      const got = await readUntil([topic], (all) => all.length >= 160);
      expect(got).toHaveLength(160);
      const partitionsById = new Map<string, Set<number>>();
      for (const r of got) {
        expect(r.message.data).toHaveLength(1);
        const id = r.message.data?.[0]?.id as string;
        expect(r.key).toBe(JSON.stringify([config.mysql.database, kept, id]));
        partitionsById.set(id, (partitionsById.get(id) ?? new Set()).add(r.partition));
      }
      expect([...partitionsById.values()].every((p) => p.size === 1)).toBe(true);
      expect(new Set(got.map((r) => r.partition)).size).toBeGreaterThan(1);
      // Per key, the order is the binlog order: insert, then updates 1, 2, 3.
      const historyOf7 = got.filter((r) => r.message.data?.[0]?.id === '7').map((r) => `${r.message.type}:${r.message.data?.[0]?.v}`);
      expect(historyOf7).toEqual(['INSERT:0', 'UPDATE:1', 'UPDATE:2', 'UPDATE:3']);
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const topics = await admin.listTopics();
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.disconnect();
      expect(topics).not.toContain(`${config.mysql.database}_${black}`);
      expect(meta.topics[0]?.partitions).toHaveLength(4);
    } finally {
      await cdc.stop();
      await db.query(`DROP TABLE IF EXISTS \`${kept}\`, \`${black}\``);
    }
  });
});

describe('CDC with CDC_FILTER_DDL', () => {
  const table = uniqueName('ddlfilter');

  it('keeps an ALTER out of the data topic, decodes the rows after it under the new columns, and puts it in CDC_DDL_TOPIC', async () => {
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, a VARCHAR(8))`);
    const env = cdcEnv(table, { CDC_SNAPSHOT: 'never', CDC_PARTITIONS: '1', CDC_FILTER_DDL: 'true' });
    const ddlTopic = `${env.CDC_TOPIC}_ddl`;
    const cdc = startCdc({ ...env, CDC_DDL_TOPIC: ddlTopic });
    try {
      await cdc.streaming;
      await db.query(`INSERT INTO \`${table}\` VALUES (1, 'one')`);
      await db.query(`ALTER TABLE \`${table}\` ADD COLUMN c DECIMAL(6,2) AFTER id`);
      await db.query(`INSERT INTO \`${table}\` VALUES (2, 2.50, 'two')`);
      await db.query(`ALTER TABLE \`${table}\` DROP COLUMN a`);
      await db.query(`UPDATE \`${table}\` SET c = 3.75 WHERE id = 2`);
      // One partition: once the UPDATE (the binlog's last event) is read, everything before it was too.
      const data = await readUntil([cdc.topic], (all) => all.some((r) => r.message.type === 'UPDATE'));
      expect(data.map((r) => [r.message.type, r.message.isDdl])).toEqual([['INSERT', false], ['INSERT', false], ['UPDATE', false]]);
      expect(data.map((r) => r.message.data)).toEqual([[{ id: '1', a: 'one' }], [{ id: '2', c: '2.50', a: 'two' }], [{ id: '2', c: '3.75' }]]);
      expect(data[2]?.message.old).toEqual([{ c: '2.50' }]);
      expect(data[2]?.message.mysqlType).toEqual({ id: 'int(11)', c: 'decimal(6,2)' });
      const ddl = await readUntil([ddlTopic], (all) => all.length >= 2);
      expect(ddl.map((r) => [r.partition, r.key, r.message.type, r.message.isDdl, r.message.table, r.message.data])).toEqual([
        [0, JSON.stringify([config.mysql.database, table]), 'ALTER', true, table, null],
        [0, JSON.stringify([config.mysql.database, table]), 'ALTER', true, table, null],
      ]);
      expect(ddl.map((r) => r.message.sql)).toEqual([expect.stringMatching(/ADD COLUMN c DECIMAL\(6,2\)/), expect.stringMatching(/DROP COLUMN a/)]);
    } finally {
      await cdc.stop();
      await db.query(`DROP TABLE IF EXISTS \`${table}\``);
    }
  });
});

import { describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { stackDown, stackUp } from '../../docker/stack/stack.js';
import { config, uniqueName } from '../support/stack.js';

const quiet = (): void => undefined;

describe('rtdw stack down, then up', () => {
  it('restarts every service with its data kept', async () => {
    const name = uniqueName('keep');
    const { host, port, database, app } = config.mysql;
    const db = await mysql.createConnection({ host, port, user: app.user, password: app.password, database });
    await db.query(`CREATE TABLE \`${name}\` (id INT PRIMARY KEY, v VARCHAR(8))`);
    await db.query(`INSERT INTO \`${name}\` VALUES (1, 'kept')`);
    await db.end();
    const redis = new Redis(config.redis.url);
    await redis.set(name, 'kept');
    redis.disconnect();
    const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: name }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: name, acks: -1, messages: [{ value: 'kept' }] });
    await producer.disconnect();
    await admin.disconnect();
    const ch = () => createClient({ url: config.clickhouse.url, username: config.clickhouse.user, password: config.clickhouse.password, database: config.clickhouse.database, log: { level: ClickHouseLogLevel.OFF } });
    const before = ch();
    await before.command({ query: `CREATE TABLE ${name} (v String) ENGINE = MergeTree ORDER BY v` });
    await before.insert({ table: name, values: [{ v: 'kept' }], format: 'JSONEachRow' });
    await before.close();

    await stackDown(config, quiet);
    const { failures } = await stackUp(config, quiet);
    expect(failures).toEqual([]);

    const db2 = await mysql.createConnection({ host, port, user: app.user, password: app.password, database });
    const [rows] = await db2.query<mysql.RowDataPacket[]>(`SELECT v FROM \`${name}\``);
    await db2.query(`DROP TABLE \`${name}\``);
    await db2.end();
    expect(rows.map((r) => r.v)).toEqual(['kept']);

    const redis2 = new Redis(config.redis.url);
    expect(await redis2.get(name)).toBe('kept');
    await redis2.del(name);
    redis2.disconnect();

    const admin2 = kafka.admin();
    await admin2.connect();
    const offsets = await admin2.fetchTopicOffsets(name);
    await admin2.deleteTopics({ topics: [name] });
    await admin2.disconnect();
    expect(offsets.map((o) => o.high)).toEqual(['1']);

    const after = ch();
    const rs = await after.query({ query: `SELECT v FROM ${name}`, format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ v: 'kept' }]);
    await after.command({ query: `DROP TABLE ${name}` });
    await after.close();
  });
});

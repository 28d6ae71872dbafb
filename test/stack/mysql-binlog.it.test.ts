import { afterAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import ZongJi, { type AnyBinlogEvent, type WriteRowsEvent } from '@vlasky/zongji';
import { config, uniqueName } from '../support/stack.js';

const { host, port, database, app, user, password } = config.mysql;

describe('local MariaDB', () => {
  const table = uniqueName('binlog_probe');
  const conn = mysql.createConnection({ host, port, user: app.user, password: app.password, database });
  afterAll(async () => {
    const c = await conn;
    await c.query(`DROP TABLE IF EXISTS \`${table}\``);
    await c.end();
  });

  it('runs with the binlog settings CDC needs', async () => {
    const c = await conn;
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      'SELECT @@log_bin AS log_bin, @@binlog_format AS f, @@binlog_row_image AS img, @@binlog_row_metadata AS meta, @@server_id AS sid, @@gtid_strict_mode AS gtid_strict',
    );
    expect(rows[0]).toMatchObject({ log_bin: 1, f: 'ROW', img: 'FULL', meta: 'FULL', sid: 1, gtid_strict: 1 });
  });

  it('gives the CDC user exactly SELECT, REPLICATION SLAVE and BINLOG MONITOR', async () => {
    const cdc = await mysql.createConnection({ host, port, user, password });
    try {
      const [grants] = await cdc.query<mysql.RowDataPacket[]>('SHOW GRANTS');
      const text = grants.map((g) => String(Object.values(g)[0])).join('\n');
      expect(text).toMatch(/GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON \*\.\*/);
      await expect(cdc.query(`CREATE TABLE ${database}.nope (id INT)`)).rejects.toThrow(/denied/);
    } finally {
      await cdc.end();
    }
  });

  it('delivers a row event to @vlasky/zongji reading as the CDC user', async () => {
    const c = await conn;
    await c.query(`CREATE TABLE \`${table}\` (id BIGINT PRIMARY KEY, amount DECIMAL(12,2), note VARCHAR(32))`);
    const zongji = new ZongJi({ host, port, user, password });
    const received = new Promise<WriteRowsEvent>((resolve, reject) => {
      zongji.on('binlog', (event: AnyBinlogEvent) => {
        if (event.getEventName() === 'writerows') {
          const rows = event as WriteRowsEvent;
          if (rows.tableMap[rows.tableId]?.tableName === table) resolve(rows);
        }
      });
      zongji.on('error', reject);
    });
    const ready = new Promise<void>((resolve) => zongji.on('ready', () => resolve()));
    zongji.start({ serverId: 9101, startAtEnd: true, includeEvents: ['tablemap', 'writerows'], includeSchema: { [database]: true } });
    await ready;
    await c.query(`INSERT INTO \`${table}\` VALUES (1, 12345.67, 'héllo ✓')`);
    try {
      const event = await received;
      expect(event.rows).toEqual([{ id: 1, amount: '12345.67', note: 'héllo ✓' }]);
    } finally {
      await new Promise<void>((resolve) => {
        zongji.once('stopped', () => resolve());
        zongji.stop();
      });
    }
  });
});

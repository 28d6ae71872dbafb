import { describe, expect, it } from 'vitest';
import type { CanalFlatMessage, CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { referenceMessage } from '../../connectors/mysql-binlog/canal/test-fixtures.js';
import type { SinkRecord } from '../../connectors/clickhouse/sink.js';
import { mirrorRecord, odsMirror } from './mirror.js';

const area = (id: string, city = 'Hangzhou'): CanalRow => ({ id, province: 'Zhejiang', city });

function message(type: CanalFlatMessage['type'], data: CanalRow[] | null, extra: Partial<CanalFlatMessage> = {}): CanalFlatMessage {
  return {
    data,
    database: 'shop',
    es: 1_700_000_000_000,
    gtid: '0-1-5',
    id: 3,
    isDdl: false,
    mysqlType: { id: 'int(11)', province: 'varchar(32)', city: 'varchar(32)' },
    old: null,
    pkNames: ['id'],
    sql: '',
    sqlType: { id: 4, province: 12, city: 12 },
    table: 'areas',
    ts: 1_700_000_000_100,
    type,
    ...extra,
  };
}

function record(value: unknown, offset: string, key: string | null = null): SinkRecord {
  const bytes = value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return { topic: 'ns.ods_binlog', partition: 0, offset, key: key === null ? null : Buffer.from(key), value: bytes, headers: {} };
}

const mirror = (r: SinkRecord) => mirrorRecord(r, 'shop');

describe('mirrorRecord', () => {
  it('an INSERT is the row with version offset * 65536 + index, not deleted', () => {
    expect(mirror(record(message('INSERT', [area('1'), area('2', 'Ningbo')]), '7'))).toEqual({
      rows: [
        { table: 'ods_areas', row: { ...area('1'), _version: String(7 * 65536), _is_deleted: 0 } },
        { table: 'ods_areas', row: { ...area('2', 'Ningbo'), _version: String(7 * 65536 + 1), _is_deleted: 0 } },
      ],
    });
  });

  it('a snapshot row is an insert like any other', () => {
    expect(mirror(record(message('INSERT', [area('1')], { isSnapshot: true }), '0'))).toEqual({ rows: [{ table: 'ods_areas', row: { ...area('1'), _version: '0', _is_deleted: 0 } }] });
  });

  it('an UPDATE is the full new row; a DELETE the deleted row with _is_deleted = 1', () => {
    const update = message('UPDATE', [area('1', 'Wenzhou')], { old: [{ city: 'Hangzhou' }] });
    expect(mirror(record(update, '9'))).toEqual({ rows: [{ table: 'ods_areas', row: { ...area('1', 'Wenzhou'), _version: String(9 * 65536), _is_deleted: 0 } }] });
    expect(mirror(record(message('DELETE', [area('1', 'Wenzhou')]), '10'))).toEqual({ rows: [{ table: 'ods_areas', row: { ...area('1', 'Wenzhou'), _version: String(10 * 65536), _is_deleted: 1 } }] });
  });

  it('versions grow with the offset whatever the row index', () => {
    const last = mirror(record(message('INSERT', Array.from({ length: 65_536 }, (_, i) => area(String(i)))), '100'));
    const next = mirror(record(message('INSERT', [area('0')]), '101'));
    if (!('rows' in last) || !('rows' in next)) throw new Error('expected rows');
    expect(BigInt(last.rows.at(-1)?.row._version as string)).toBeLessThan(BigInt(next.rows[0]?.row._version as string));
    expect(mirror(record(message('INSERT', Array.from({ length: 65_537 }, (_, i) => area(String(i)))), '1'))).toEqual({ deadLetter: '65537 rows in one message; the version scheme allows 65536' });
  });

  it('a primary-key change of a multi-row message deletes the old key at the same version', () => {
    const moved = message('UPDATE', [area('5')], { old: [{ id: '4' }] });
    expect(mirror(record(moved, '3'))).toEqual({
      rows: [
        { table: 'ods_areas', row: { ...area('4'), _version: String(3 * 65536), _is_deleted: 1 } },
        { table: 'ods_areas', row: { ...area('5'), _version: String(3 * 65536), _is_deleted: 0 } },
      ],
    });
  });

  it('a keyed primary-key change leaves the old key to the DELETE the CDC publishes in its partition', () => {
    const moved = message('UPDATE', [area('5')], { old: [{ id: '4' }] });
    expect(mirror(record(moved, '3', '["shop","areas","5"]'))).toEqual({ rows: [{ table: 'ods_areas', row: { ...area('5'), _version: String(3 * 65536), _is_deleted: 0 } }] });
  });

  it('skips DDL, other statements and tombstones, with the reason', () => {
    expect(mirror(record(message('ALTER', null, { isDdl: true, sql: 'ALTER TABLE areas ADD COLUMN x INT', pkNames: null, mysqlType: null, sqlType: null }), '1'))).toEqual({ skip: 'ddl' });
    expect(mirror(record(message('QUERY', null, { sql: 'CREATE DATABASE x' }), '1'))).toEqual({ skip: 'query message' });
    expect(mirror(record(null, '1', '["shop","areas","4"]'))).toEqual({ skip: 'tombstone' });
  });

  it('dead-letters what it cannot mirror, with the reason', () => {
    expect(mirror(record('{"data":[', '1'))).toMatchObject({ deadLetter: expect.stringMatching(/^malformed JSON: /) });
    expect(mirror(record([1, 2], '1'))).toEqual({ deadLetter: 'not a Canal flat message (type and isDdl are required)' });
    expect(mirror(record(message('INSERT', [area('1')], { database: 'other' }), '1'))).toEqual({ deadLetter: 'rows of database "other", the mirror reads shop' });
    expect(mirror(record(message('INSERT', [area('1')], { table: 'coupons' }), '1'))).toEqual({ deadLetter: 'unknown table "coupons": no ods_ table mirrors it' });
    expect(mirror(record(message('INSERT', [{ id: 1, province: 'p', city: 'c' } as unknown as CanalRow]), '1'))).toEqual({
      deadLetter: 'data must be a non-empty array of rows whose values are strings or null',
    });
    expect(mirror(record(message('INSERT', []), '1'))).toMatchObject({ deadLetter: expect.stringMatching(/non-empty array/) });
    expect(mirror(record(message('UPDATE', [area('1')], { old: [] }), '1'))).toEqual({ deadLetter: 'old must hold one row of strings or null per row of data' });
    expect(mirror(record(message('INSERT', [area('1')], { pkNames: null }), '1'))).toEqual({ deadLetter: 'pkNames must name the primary-key columns' });
  });

  it("dead-letters Canal's own reference messages, which are of another database and table", () => {
    const update = referenceMessage('update');
    expect(mirror(record(update, '1'))).toEqual({ deadLetter: 'rows of database "dwshow", the mirror reads shop' });
    expect(mirrorRecord(record(update, '1'), 'dwshow')).toEqual({ deadLetter: 'unknown table "ad_show": no ods_ table mirrors it' });
    expect(mirror(record(referenceMessage('drop table'), '1'))).toEqual({ skip: 'ddl' });
  });
});

describe('odsMirror', () => {
  it('reads <ns>.ods_binlog in its own group, writes every ods_ table, dead letters to <ns>.dead_letter', () => {
    const spec = odsMirror({ namespace: 'ns', sourceDatabase: 'shop' });
    expect(spec).toMatchObject({ groupId: 'ns-ods-mirror', topics: ['ns.ods_binlog'], deadLetterTopic: 'ns.dead_letter' });
    expect(spec.tables).toEqual(['ods_areas', 'ods_users', 'ods_products', 'ods_orders', 'ods_order_items', 'ods_payments', 'ods_refunds']);
  });
});

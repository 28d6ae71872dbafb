import { describe, expect, it } from 'vitest';
import { buildTableSchema } from './column-types.js';
import type { CanalFlatMessage } from './flat-message.js';
import { buildRowsMessage } from './row-event.js';
import type { SourceRow } from './row-event.js';
import { CanalMqRouter, primaryKeyMessageKey } from './routing.js';
import { AD_SHOW_COLUMNS, isColumn } from './test-fixtures.js';

const envelope = { id: 17, es: 1629532324000, ts: 1629532324172, gtid: '' };
const adShow = buildTableSchema('dwshow', 'ad_show', AD_SHOW_COLUMNS);
const adShowRow = (cnt: number, uCnt: number, deviceCnt: number, adAction: number, hour: number): SourceRow => ({ dt: '2020-07-21', cnt, u_cnt: uCnt, device_cnt: deviceCnt, ad_action: adAction, hour });

/** The reference UPDATE: 4 rows of dwshow.ad_show, cnt set to 2048. */
function referenceUpdate(): CanalFlatMessage {
  const before = [adShowRow(7855924, 5522275, 5512895, 0, 0), adShowRow(730766, 585599, 613573, 1, 0), adShowRow(90569, 71399, 63404, 2, 0), adShowRow(26754224, 17197502, 17402885, 0, 2)];
  return buildRowsMessage(adShow, { type: 'UPDATE', rows: before.map((b) => ({ before: b, after: { ...b, cnt: 2048 } })) }, envelope);
}

/** 'partition:[(v1,v2,)...]' per non-empty partition, the way the Java oracle printed Canal's result. */
function describeParts(parts: Array<{ partition: number; message: CanalFlatMessage }>, columns: string[]): string {
  return parts.map(({ partition, message }) => `${partition}:[${(message.data ?? []).map((row) => `(${columns.map((c) => `${row[c] ?? null},`).join('')})`).join('')}]`).join(' ');
}

describe('partitionsFor equals Canal 1.1.7 MQMessageUtils.messagePartition', () => {
  // Expected: the Java method run on the same flat message (partitionsNum, partitionHash, databaseHash).
  it.each([
    [3, '.*\\..*:$pk$', true, '0:[(1,0,)] 1:[(0,0,)] 2:[(2,0,)(0,2,)]'],
    [3, '.*\\..*:$pk$', false, '0:[(0,0,)] 1:[(1,0,)] 2:[(2,0,)(0,2,)]'],
    [3, 'dwshow.ad_show:ad_action', true, '0:[(1,0,)] 1:[(0,0,)(0,2,)] 2:[(2,0,)]'],
    [3, 'dwshow.ad_show:ad_action', false, '0:[(0,0,)(0,2,)] 1:[(1,0,)] 2:[(2,0,)]'],
    [3, 'dwshow.ad_show:ad_action^hour', true, '0:[(2,0,)(0,2,)] 1:[(1,0,)] 2:[(0,0,)]'],
    [3, 'dwshow.ad_show:ad_action^hour', false, '0:[(0,0,)] 1:[(1,0,)] 2:[(2,0,)(0,2,)]'],
    [3, 'dwshow\\..*', true, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [3, 'dwshow\\..*', false, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [3, '.*\\..*:$PK$', true, '0:[(1,0,)] 1:[(0,0,)] 2:[(2,0,)(0,2,)]'],
    [3, '.*\\..*:$PK$', false, '0:[(0,0,)] 1:[(1,0,)] 2:[(2,0,)(0,2,)]'],
    [3, 'other\\..*:$pk$', true, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [3, 'other\\..*:$pk$', false, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [3, 'DWSHOW.AD_SHOW:hour', true, '1:[(0,0,)(1,0,)(2,0,)] 2:[(0,2,)]'],
    [3, 'DWSHOW.AD_SHOW:hour', false, '0:[(0,0,)(1,0,)(2,0,)] 2:[(0,2,)]'],
    [3, 'dwshow.ad_show:missing', true, '2:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [3, 'dwshow.ad_show:missing', false, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [3, 'x.y:id;dwshow\\..*:u_cnt', true, '0:[(0,2,)] 1:[(2,0,)] 2:[(0,0,)(1,0,)]'],
    [3, 'x.y:id;dwshow\\..*:u_cnt', false, '0:[(0,2,)] 2:[(0,0,)(1,0,)(2,0,)]'],
    [4, '.*\\..*:$pk$', true, '0:[(0,0,)] 2:[(2,0,)(0,2,)] 3:[(1,0,)]'],
    [4, '.*\\..*:$pk$', false, '0:[(0,0,)] 1:[(1,0,)] 2:[(2,0,)(0,2,)]'],
    [4, 'dwshow.ad_show:ad_action', true, '0:[(0,0,)(0,2,)] 2:[(2,0,)] 3:[(1,0,)]'],
    [4, 'dwshow.ad_show:ad_action', false, '0:[(0,0,)(0,2,)] 1:[(1,0,)] 2:[(2,0,)]'],
    [4, 'dwshow.ad_show:ad_action^hour', true, '0:[(0,0,)] 2:[(2,0,)(0,2,)] 3:[(1,0,)]'],
    [4, 'dwshow.ad_show:ad_action^hour', false, '0:[(0,0,)] 1:[(1,0,)] 2:[(2,0,)(0,2,)]'],
    [4, 'dwshow\\..*', true, '3:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [4, 'dwshow\\..*', false, '3:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [4, '.*\\..*:$PK$', true, '0:[(0,0,)] 2:[(2,0,)(0,2,)] 3:[(1,0,)]'],
    [4, '.*\\..*:$PK$', false, '0:[(0,0,)] 1:[(1,0,)] 2:[(2,0,)(0,2,)]'],
    [4, 'other\\..*:$pk$', true, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [4, 'other\\..*:$pk$', false, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [4, 'DWSHOW.AD_SHOW:hour', true, '0:[(0,0,)(1,0,)(2,0,)] 2:[(0,2,)]'],
    [4, 'DWSHOW.AD_SHOW:hour', false, '0:[(0,0,)(1,0,)(2,0,)] 2:[(0,2,)]'],
    [4, 'dwshow.ad_show:missing', true, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [4, 'dwshow.ad_show:missing', false, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [4, 'x.y:id;dwshow\\..*:u_cnt', true, '0:[(0,0,)] 1:[(1,0,)] 2:[(0,2,)] 3:[(2,0,)]'],
    [4, 'x.y:id;dwshow\\..*:u_cnt', false, '0:[(0,0,)] 1:[(2,0,)] 2:[(0,2,)] 3:[(1,0,)]'],
    [7, '.*\\..*:$pk$', true, '0:[(0,0,)] 5:[(2,0,)(0,2,)] 6:[(1,0,)]'],
    [7, '.*\\..*:$pk$', false, '0:[(1,0,)] 1:[(2,0,)(0,2,)] 6:[(0,0,)]'],
    [7, 'dwshow.ad_show:ad_action', true, '0:[(0,0,)(0,2,)] 5:[(2,0,)] 6:[(1,0,)]'],
    [7, 'dwshow.ad_show:ad_action', false, '0:[(1,0,)] 1:[(2,0,)] 6:[(0,0,)(0,2,)]'],
    [7, 'dwshow.ad_show:ad_action^hour', true, '0:[(2,0,)(0,2,)] 1:[(1,0,)] 2:[(0,0,)]'],
    [7, 'dwshow.ad_show:ad_action^hour', false, '0:[(0,0,)] 1:[(1,0,)] 2:[(2,0,)(0,2,)]'],
    [7, 'dwshow\\..*', true, '4:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [7, 'dwshow\\..*', false, '4:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [7, '.*\\..*:$PK$', true, '0:[(0,0,)] 5:[(2,0,)(0,2,)] 6:[(1,0,)]'],
    [7, '.*\\..*:$PK$', false, '0:[(1,0,)] 1:[(2,0,)(0,2,)] 6:[(0,0,)]'],
    [7, 'other\\..*:$pk$', true, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [7, 'other\\..*:$pk$', false, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [7, 'DWSHOW.AD_SHOW:hour', true, '0:[(0,0,)(1,0,)(2,0,)] 5:[(0,2,)]'],
    [7, 'DWSHOW.AD_SHOW:hour', false, '1:[(0,2,)] 6:[(0,0,)(1,0,)(2,0,)]'],
    [7, 'dwshow.ad_show:missing', true, '2:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [7, 'dwshow.ad_show:missing', false, '0:[(0,0,)(1,0,)(2,0,)(0,2,)]'],
    [7, 'x.y:id;dwshow\\..*:u_cnt', true, '0:[(2,0,)] 4:[(0,0,)(1,0,)] 5:[(0,2,)]'],
    [7, 'x.y:id;dwshow\\..*:u_cnt', false, '0:[(0,0,)(1,0,)] 4:[(2,0,)] 6:[(0,2,)]'],
  ])('%i partitions, %s, database hash %s -> %s', (count, partitionHash, databaseHash, expected) => {
    const router = new CanalMqRouter({ topic: 't', partitionHash, databaseHash });
    expect(describeParts(router.partitionsFor(referenceUpdate(), count), ['ad_action', 'hour'])).toBe(expected);
  });

  it('keeps each row with its old entry', () => {
    const parts = new CanalMqRouter({ topic: 't', partitionHash: '.*\\..*:$pk$' }).partitionsFor(referenceUpdate(), 3);
    expect(parts.map(({ message }) => message.old)).toEqual([[{ cnt: '730766' }], [{ cnt: '7855924' }], [{ cnt: '90569' }, { cnt: '26754224' }]]);
    expect(parts.every(({ message }) => message.pkNames?.join() === 'dt,ad_action,hour' && message.type === 'UPDATE' && message.id === 17)).toBe(true);
  });

  const orders = buildTableSchema('shop', 'orders', [isColumn('id', 1, 'varchar', 'varchar(20)', { COLUMN_KEY: 'PRI' }), isColumn('name', 2, 'varchar', 'varchar(20)')]);
  // 'polygenelubricants'.hashCode() is Integer.MIN_VALUE, whose Math.abs stays negative; NULL hashes as ''.
  const insert = buildRowsMessage(orders, { type: 'INSERT', rows: [{ id: 'polygenelubricants', name: 'x' }, { id: null, name: 'y' }, { id: '1001', name: 'z' }, { id: '-1', name: 'w' }, { id: '😀', name: 'v' }] }, envelope);
  it.each([
    [3, true, '0:[(1001,)] 1:[(polygenelubricants,)(null,)(-1,)] 2:[(😀,)]'],
    [3, false, '0:[(null,)] 1:[(-1,)(😀,)] 2:[(polygenelubricants,)(1001,)]'],
    [5, true, '0:[(😀,)] 1:[(polygenelubricants,)] 2:[(null,)(1001,)] 3:[(-1,)]'],
    [5, false, '0:[(null,)] 3:[(polygenelubricants,)] 4:[(1001,)(-1,)(😀,)]'],
    [16, true, '2:[(-1,)] 5:[(😀,)] 6:[(null,)(1001,)] 10:[(polygenelubricants,)]'],
    [16, false, '0:[(polygenelubricants,)(null,)(1001,)] 3:[(😀,)] 4:[(-1,)]'],
  ])('edge values, %i partitions, database hash %s -> %s', (count, databaseHash, expected) => {
    const router = new CanalMqRouter({ topic: 't', partitionHash: 'shop.orders:id', databaseHash });
    expect(describeParts(router.partitionsFor(insert, count), ['id'])).toBe(expected);
  });

  it('a table without a primary key hashes the database only; a table hash keeps the message whole', () => {
    const logs = { ...insert, table: 'logs', pkNames: null };
    expect(describeParts(new CanalMqRouter({ topic: 't', partitionHash: '.*\\..*:$pk$' }).partitionsFor(logs, 5), ['id'])).toBe('2:[(polygenelubricants,)(null,)(1001,)(-1,)(😀,)]');
    expect(describeParts(new CanalMqRouter({ topic: 't', partitionHash: 'shop\\..*' }).partitionsFor(insert, 5), ['id'])).toBe('1:[(polygenelubricants,)(null,)(1001,)(-1,)(😀,)]');
  });

  it('DDL and messages without rows go to partition 0; without partitionHash everything goes to canal.mq.partition', () => {
    const ddl: CanalFlatMessage = { ...insert, data: null, isDdl: true, type: 'CREATE', sql: 'CREATE TABLE orders (id int)', mysqlType: null, sqlType: null, pkNames: null };
    expect(new CanalMqRouter({ topic: 't', partitionHash: '.*\\..*:$pk$' }).partitionsFor(ddl, 5)).toEqual([{ partition: 0, message: ddl }]);
    expect(new CanalMqRouter({ topic: 't', partition: 2 }).partitionsFor(insert, 5)).toEqual([{ partition: 2, message: insert }]);
  });
});

describe('topicFor equals Canal 1.1.7 messageTopics + the producer\'s "." -> "_" (dynamic topics only)', () => {
  it.each([
    ['.*\\..*', 'shop', 'orders', 'shop_orders'],
    ['.*\\..*', 'Shop', 'Orders', 'shop_orders'],
    ['shop', 'shop', 'orders', 'shop'],
    ['shop', 'other', 'x', 'default_topic'],
    ['.*', 'shop', 'orders', 'shop'],
    ['mytopic:shop\\..*', 'shop', 'orders', 'mytopic'],
    ['mytopic:shop\\..*,.*\\..*', 'other', 'x', 'other_x'],
    ['shop.orders', 'shop', 'orders', 'shop_orders'],
    ['shop.orders', 'shop', 'items', 'default_topic'],
    ['a.b:shop\\.orders', 'shop', 'orders', 'a_b'],
    ['orders_topic:shop.orders;items_topic:shop.items', 'shop', 'items', 'items_topic'],
    ['.*\\..*', 'shop', '', 'default_topic'],
    ['shop\\..*', 'shop', 'orders', 'shop_orders'],
    ['shop.*', 'shop', 'orders', 'shop'],
    ['shop.*', 'shopping', 'orders', 'shopping'],
    [' shop', 'shop', 'x', 'default_topic'],
    ['t1: shop ', 'shop', 'x', 't1'],
    ['', 'shop', 'orders', 'default.topic'],
  ])('dynamicTopic %j: %s.%s -> %s', (dynamicTopic, database, table, topic) => {
    expect(new CanalMqRouter({ topic: 'default.topic', dynamicTopic }).topicFor(database, table)).toBe(topic);
  });
});

describe('partitionCountFor equals Canal 1.1.7 parseDynamicTopicPartition, else partitionsNum', () => {
  it.each([
    ['shop_orders', 'shop_.*:6,test:2', 6],
    ['test', 'shop_.*:6,test:2', 2],
    ['TEST', 'shop_.*:6,test:2', 2],
    ['x', 'shop_.*:6', null],
    ['shop_orders', 'shop_.*:abc', null],
    ['shop_orders', 'shop_.*', null],
    ['shop_orders', 'shop_.*:', null],
  ])('%s with %s -> %s', (topic, dynamicTopicPartitionNum, count) => {
    expect(new CanalMqRouter({ topic: 't', dynamicTopicPartitionNum, partitionsNum: 3 }).partitionCountFor(topic)).toBe(count ?? 3);
  });

  it('defaults to one partition', () => {
    expect(new CanalMqRouter({ topic: 't' }).partitionCountFor('t')).toBe(1);
  });
});

describe('route', () => {
  it('sends Canal\'s per-partition messages to the dynamic topic with no key', () => {
    const router = new CanalMqRouter({ topic: 'ods', dynamicTopic: '.*\\..*', partitionsNum: 3, partitionHash: '.*\\..*:$pk$' });
    const routed = router.route(referenceUpdate());
    expect(routed.map(({ topic, partition, key, message }) => [topic, partition, key, message?.data?.length])).toEqual([
      ['dwshow_ad_show', 0, null, 1],
      ['dwshow_ad_show', 1, null, 1],
      ['dwshow_ad_show', 2, null, 2],
    ]);
  });

  it('keyByPrimaryKey: one row per message, keyed by database, table and key values, same partitions and order', () => {
    const router = new CanalMqRouter({ topic: 'ods', partitionsNum: 3, partitionHash: '.*\\..*:$pk$', keyByPrimaryKey: true });
    const routed = router.route(referenceUpdate());
    expect(routed.map(({ partition, key, message }) => [partition, key, message?.old])).toEqual([
      [0, '["dwshow","ad_show","2020-07-21","1","0"]', [{ cnt: '730766' }]],
      [1, '["dwshow","ad_show","2020-07-21","0","0"]', [{ cnt: '7855924' }]],
      [2, '["dwshow","ad_show","2020-07-21","2","0"]', [{ cnt: '90569' }]],
      [2, '["dwshow","ad_show","2020-07-21","0","2"]', [{ cnt: '26754224' }]],
    ]);
    expect(routed.every(({ topic, message }) => topic === 'ods' && message?.data?.length === 1)).toBe(true);
  });

  describe('an UPDATE of the primary key', () => {
    const orders = buildTableSchema('shop', 'orders', [isColumn('id', 1, 'varchar', 'varchar(20)', { COLUMN_KEY: 'PRI' }), isColumn('name', 2, 'varchar', 'varchar(20)')]);
    // With 'shop.orders:id' (the same as $pk$ here) and 3 partitions: 1001 -> 0, -1 -> 1, 😀 -> 2 (see the edge values above).
    const update = buildRowsMessage(orders, {
      type: 'UPDATE',
      rows: [
        { before: { id: '1001', name: 'x' }, after: { id: '😀', name: 'x' } },
        { before: { id: '-1', name: 'y' }, after: { id: '-1', name: 'z' } },
      ],
    }, envelope);
    const key = (id: string): string => JSON.stringify(['shop', 'orders', id]);

    it('keyByPrimaryKey: a DELETE and a tombstone of the old key in its partition, an INSERT of the new key in its own', () => {
      const routed = new CanalMqRouter({ topic: 'ods', partitionsNum: 3, partitionHash: '.*\\..*:$pk$', keyByPrimaryKey: true }).route(update);
      expect(routed.map(({ partition, key: k, message }) => [partition, k, message?.type ?? null, message?.data ?? null, message?.old ?? null])).toEqual([
        [0, key('1001'), 'DELETE', [{ id: '1001', name: 'x' }], null],
        [0, key('1001'), null, null, null],
        // The row whose key stays keeps Canal's UPDATE, `old` as Canal accumulates it over the event.
        [1, key('-1'), 'UPDATE', [{ id: '-1', name: 'z' }], [{ id: '-1', name: 'y' }]],
        [2, key('😀'), 'INSERT', [{ id: '😀', name: 'x' }], null],
      ]);
      const [deleted, , , inserted] = routed.map((r) => r.message);
      expect({ ...deleted, data: null, type: 'UPDATE', old: update.old }).toEqual({ ...update, data: null });
      expect(inserted?.pkNames).toEqual(['id']);
    });

    it("Canal's multi-row mode keeps the UPDATE, grouped by the new key's partition", () => {
      const routed = new CanalMqRouter({ topic: 'ods', partitionsNum: 3, partitionHash: '.*\\..*:$pk$' }).route(update);
      expect(routed.map(({ partition, key: k, message }) => [partition, k, message?.type, message?.data, message?.old])).toEqual([
        [1, null, 'UPDATE', [{ id: '-1', name: 'z' }], [{ id: '-1', name: 'y' }]],
        [2, null, 'UPDATE', [{ id: '😀', name: 'x' }], [{ id: '1001' }]],
      ]);
    });
  });

  it('keyByPrimaryKey: DDL is keyed by table; rows without a primary key get no key', () => {
    const noKey = buildTableSchema('shop', 'logs', [isColumn('line', 1, 'text', 'text')]);
    const router = new CanalMqRouter({ topic: 'ods', keyByPrimaryKey: true });
    const ddl: CanalFlatMessage = { ...buildRowsMessage(noKey, { type: 'INSERT', rows: [{ line: 'a' }] }, envelope), data: null, isDdl: true, type: 'ALTER' };
    expect(router.route(ddl).map((r) => r.key)).toEqual(['["shop","logs"]']);
    expect(router.route(buildRowsMessage(noKey, { type: 'INSERT', rows: [{ line: 'a' }, { line: 'b' }] }, envelope)).map((r) => r.key)).toEqual([null, null]);
  });

  it('primaryKeyMessageKey writes NULL key values as null and refuses multi-row messages', () => {
    const message = referenceUpdate();
    expect(primaryKeyMessageKey(message)).toBeNull();
    expect(primaryKeyMessageKey({ ...message, data: [{ dt: null, ad_action: '1', hour: '0' }] })).toBe('["dwshow","ad_show",null,"1","0"]');
  });
});

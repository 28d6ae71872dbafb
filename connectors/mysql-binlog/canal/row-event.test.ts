import type { DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent } from '@vlasky/zongji';
import { describe, expect, it } from 'vitest';
import { buildTableSchema } from './column-types.js';
import { serializeFlatMessage } from './flat-message.js';
import { buildRowsMessage, buildSnapshotMessage, rowsChangeFromEvent } from './row-event.js';
import type { MessageEnvelope, SourceRow } from './row-event.js';
import { AD_SHOW_COLUMNS, comparable, isColumn, referenceMessage } from './test-fixtures.js';

const adShow = buildTableSchema('dwshow', 'ad_show', AD_SHOW_COLUMNS);
const envelope: MessageEnvelope = { id: 17, es: 1629532324000, ts: 1629532324170, gtid: '' };

/** The four rows of the reference UPDATE/DELETE, as zongji decodes them (BIGINT/TINYINT as numbers). */
function adShowRow(cnt: number, uCnt: number, deviceCnt: number, adAction: number, hour: number): SourceRow {
  return { dt: '2020-07-21', cnt, u_cnt: uCnt, device_cnt: deviceCnt, ad_action: adAction, hour };
}
const before = [adShowRow(7855924, 5522275, 5512895, 0, 0), adShowRow(730766, 585599, 613573, 1, 0), adShowRow(90569, 71399, 63404, 2, 0), adShowRow(26754224, 17197502, 17402885, 0, 2)];
const after = before.map((row) => ({ ...row, cnt: 2048 }));

describe('buildRowsMessage against real Canal 1.1.4 messages', () => {
  it('INSERT', () => {
    const message = buildRowsMessage(adShow, { type: 'INSERT', rows: [adShowRow(730766, 585599, 613573, 1, 0)] }, envelope);
    expect(comparable(message)).toEqual(comparable(referenceMessage('insert')));
  });

  it('UPDATE of 4 rows: data = after images, old = only the changed column', () => {
    const message = buildRowsMessage(adShow, { type: 'UPDATE', rows: before.map((b, i) => ({ before: b, after: after[i] ?? b })) }, envelope);
    expect(comparable(message)).toEqual(comparable(referenceMessage('update')));
  });

  it('DELETE of 4 rows: data = before images, no old', () => {
    const message = buildRowsMessage(adShow, { type: 'DELETE', rows: after }, envelope);
    expect(comparable(message)).toEqual(comparable(referenceMessage('delete')));
  });

  it('serializes in Canal field order (the reference file keeps it)', () => {
    const message = buildRowsMessage(adShow, { type: 'INSERT', rows: [adShowRow(730766, 585599, 613573, 1, 0)] }, envelope);
    const keys = Object.keys(JSON.parse(serializeFlatMessage(message)) as object);
    expect(keys.filter((k) => k !== 'gtid')).toEqual(Object.keys(referenceMessage('insert')));
  });
});

describe('multi-row UPDATE', () => {
  const schema = buildTableSchema('shop', 't', [
    isColumn('id', 1, 'varchar', 'varchar(10)', { COLUMN_KEY: 'PRI' }),
    isColumn('a', 2, 'varchar', 'varchar(10)'),
    isColumn('b', 3, 'varchar', 'varchar(10)'),
  ]);

  it('is byte for byte what Canal 1.1.7 publishes, including old listing earlier rows changed columns', () => {
    // Expected: MQMessageUtils.messageConverter + fastjson2 (WriteNulls) of the same entry, run on Canal 1.1.7.
    const canal =
      '{"data":[{"id":"1","a":"a1","b":"b0"},{"id":"2","a":"a0","b":"b1"},{"id":"3","a":"x","b":"y"},{"id":"4","a":"z","b":"b"}],' +
      '"database":"shop","es":1629532324000,"gtid":"3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5","id":42,"isDdl":false,' +
      '"mysqlType":{"id":"varchar(10)","a":"varchar(10)","b":"varchar(10)"},' +
      '"old":[{"a":"a0"},{"a":"a0","b":"b0"},{"a":"x","b":"y"},{"a":null,"b":"b"}],' +
      '"pkNames":["id"],"sql":"","sqlType":{"id":12,"a":12,"b":12},"table":"t","ts":1,"type":"UPDATE"}';
    const rows = [
      { before: { id: '1', a: 'a0', b: 'b0' }, after: { id: '1', a: 'a1', b: 'b0' } },
      { before: { id: '2', a: 'a0', b: 'b0' }, after: { id: '2', a: 'a0', b: 'b1' } },
      { before: { id: '3', a: 'x', b: 'y' }, after: { id: '3', a: 'x', b: 'y' } },
      { before: { id: '4', a: null, b: 'b' }, after: { id: '4', a: 'z', b: 'b' } },
    ];
    const message = buildRowsMessage(schema, { type: 'UPDATE', rows }, { id: 42, es: 1629532324000, ts: 1, gtid: '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5' });
    expect(serializeFlatMessage(message)).toBe(canal);
  });

  it('keeps old aligned with data when a leading row changed nothing Canal can see (Canal drops that entry)', () => {
    const rows = [
      { before: { id: '1', a: 'x', b: 'y' }, after: { id: '1', a: 'x', b: 'y' } },
      { before: { id: '2', a: 'a0', b: 'b0' }, after: { id: '2', a: 'a1', b: 'b0' } },
    ];
    expect(buildRowsMessage(schema, { type: 'UPDATE', rows }, envelope).old).toEqual([{}, { a: 'a0' }]);
  });

  it('a NULL turning into a value and back counts as a change; NULL to NULL does not', () => {
    const rows = [
      { before: { id: '1', a: null, b: null }, after: { id: '1', a: '', b: null } },
      { before: { id: '2', a: 'v', b: 'w' }, after: { id: '2', a: null, b: 'w' } },
    ];
    expect(buildRowsMessage(schema, { type: 'UPDATE', rows }, envelope).old).toEqual([{ a: null }, { a: 'v' }]);
  });
});

describe('sqlType and pkNames', () => {
  const schema = buildTableSchema('d', 't', [isColumn('n', 1, 'tinyint', 'tinyint(3) unsigned'), isColumn('s', 2, 'text', 'text')]);

  it('sqlType follows the last row, as Canal overwrites its map per row', () => {
    const insert = (rows: SourceRow[]) => buildRowsMessage(schema, { type: 'INSERT', rows }, envelope).sqlType;
    expect(insert([{ n: 5, s: 'x' }, { n: 200, s: null }])).toEqual({ n: 5, s: -4 });
    expect(insert([{ n: 200, s: null }, { n: 5, s: 'x' }])).toEqual({ n: -6, s: 2005 });
  });

  it('pkNames is null for a table without a primary key', () => {
    expect(buildRowsMessage(schema, { type: 'INSERT', rows: [{ n: 1, s: 'a' }] }, envelope).pkNames).toBeNull();
  });
});

describe('row image checks', () => {
  it('refuses an image whose columns differ from the schema (a DDL happened)', () => {
    const insert = (row: SourceRow) => buildRowsMessage(adShow, { type: 'INSERT', rows: [row] }, envelope);
    expect(() => insert({ ...adShowRow(1, 2, 3, 4, 5), extra: 1 })).toThrow(/row image has 7 columns, the schema 6/);
    const renamed = Object.fromEntries(Object.entries(adShowRow(1, 2, 3, 4, 5)).map(([name, value]) => [name === 'hour' ? 'hours' : name, value]));
    expect(() => insert(renamed)).toThrow(/row image has no column hour/);
  });

  it('stores a column named __proto__ as a field', () => {
    const schema = buildTableSchema('d', 't', [isColumn('__proto__', 1, 'int', 'int(11)')]);
    const row: SourceRow = JSON.parse('{"__proto__": 7}') as SourceRow;
    const message = buildRowsMessage(schema, { type: 'INSERT', rows: [row] }, envelope);
    expect(serializeFlatMessage(message)).toContain('"data":[{"__proto__":"7"}]');
  });
});

describe('rowsChangeFromEvent', () => {
  const fakeEvent = <E>(name: string, rows: unknown): E => ({ getEventName: () => name, rows }) as unknown as E;

  it('reads zongji writerows / updaterows / deleterows', () => {
    const row = adShowRow(1, 2, 3, 4, 5);
    expect(rowsChangeFromEvent(fakeEvent<WriteRowsEvent>('writerows', [row]))).toEqual({ type: 'INSERT', rows: [row] });
    expect(rowsChangeFromEvent(fakeEvent<DeleteRowsEvent>('deleterows', [row]))).toEqual({ type: 'DELETE', rows: [row] });
    expect(rowsChangeFromEvent(fakeEvent<UpdateRowsEvent>('updaterows', [{ before: row, after: row }]))).toEqual({ type: 'UPDATE', rows: [{ before: row, after: row }] });
  });
});

describe('buildSnapshotMessage', () => {
  it('is an INSERT flagged isSnapshot, placed in field order', () => {
    const message = buildSnapshotMessage(adShow, [adShowRow(730766, 585599, 613573, 1, 0)], envelope);
    expect(message.type).toBe('INSERT');
    expect(message.isSnapshot).toBe(true);
    expect(serializeFlatMessage(message)).toMatch(/"isDdl":false,"isSnapshot":true,"mysqlType":/);
    expect(serializeFlatMessage(buildRowsMessage(adShow, { type: 'INSERT', rows: [adShowRow(1, 2, 3, 4, 5)] }, envelope))).not.toContain('isSnapshot');
  });
});

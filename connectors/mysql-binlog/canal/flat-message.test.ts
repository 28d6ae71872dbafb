import { describe, expect, it } from 'vitest';
import { emptyRecord, serializeFlatMessage } from './flat-message.js';
import type { CanalFlatMessage } from './flat-message.js';

const ddl: CanalFlatMessage = {
  data: null,
  database: 'dwshow',
  es: 1,
  gtid: '',
  id: 3,
  isDdl: true,
  mysqlType: null,
  old: null,
  pkNames: null,
  sql: 'DROP TABLE "x"\n\t😀 日期\u0001',
  sqlType: null,
  table: 'ad_show',
  ts: 2,
  type: 'ERASE',
};

describe('serializeFlatMessage', () => {
  it('writes what Canal 1.1.7 writes (fastjson2, WriteNulls): sorted fields, nulls, escapes', () => {
    // Output of JSON.toJSONBytes(flatMessage, WriteNulls) for the same FlatMessage on Canal 1.1.7.
    expect(serializeFlatMessage(ddl)).toBe(
      '{"data":null,"database":"dwshow","es":1,"gtid":"","id":3,"isDdl":true,"mysqlType":null,"old":null,"pkNames":null,' +
        '"sql":"DROP TABLE \\"x\\"\\n\\t😀 日期\\u0001","sqlType":null,"table":"ad_show","ts":2,"type":"ERASE"}',
    );
  });

  it('places the isSnapshot extension in sorted order, only when set', () => {
    expect(serializeFlatMessage({ ...ddl, isSnapshot: true })).toContain('"isDdl":true,"isSnapshot":true,"mysqlType":null');
    expect(serializeFlatMessage(ddl)).not.toContain('isSnapshot');
  });

  it('keeps row fields in column order', () => {
    const row = emptyRecord<string | null>();
    row.z = '1';
    row.a = null;
    expect(serializeFlatMessage({ ...ddl, data: [row] })).toContain('"data":[{"z":"1","a":null}]');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBinlogMessage } from './canal.js';

/** Messages from a real Canal 1.1.4 run (see the file's notes). */
const reference = JSON.parse(readFileSync(new URL('../../connectors/mysql-binlog/canal/canal-1.1.4-reference-messages.json', import.meta.url), 'utf8')) as {
  messages: Array<{ case: string; message: unknown }>;
};
const byCase = (name: string): Buffer => Buffer.from(JSON.stringify(reference.messages.find((m) => m.case === name)?.message));

describe('parseBinlogMessage', () => {
  it('reads an UPDATE of several rows: the full new row, and the old one as the new row with the changed columns before', () => {
    const { es, ddl, changes } = parseBinlogMessage(byCase('update'));
    expect(es).toBe(1629532324000);
    expect(ddl).toBeNull();
    expect(changes).toHaveLength(4);
    expect(changes[0]).toEqual({
      database: 'dwshow',
      table: 'ad_show',
      before: { dt: '2020-07-21', cnt: '7855924', u_cnt: '5522275', device_cnt: '5512895', ad_action: '0', hour: '0' },
      after: { dt: '2020-07-21', cnt: '2048', u_cnt: '5522275', device_cnt: '5512895', ad_action: '0', hour: '0' },
    });
  });

  it('reads INSERT rows as after images, DELETE rows as before images, DDL as a statement without rows', () => {
    expect(parseBinlogMessage(byCase('insert')).changes.map((c) => [c.before, c.after?.cnt])).toEqual([[null, '730766']]);
    expect(parseBinlogMessage(byCase('delete')).changes.map((c) => [c.before?.u_cnt, c.after])).toEqual([
      ['5522275', null],
      ['585599', null],
      ['71399', null],
      ['17197502', null],
    ]);
    expect(parseBinlogMessage(byCase('drop table'))).toEqual({ es: 1629532323000, ddl: { type: 'ERASE', database: 'dwshow', table: 'ad_show' }, changes: [] });
  });

  it('throws with the reason on what is not a Canal message', () => {
    expect(() => parseBinlogMessage(null)).toThrow('canal message: empty record');
    expect(() => parseBinlogMessage(Buffer.from('[1]'))).toThrow(/es must be epoch ms/);
    expect(() => parseBinlogMessage(Buffer.from('{"es":1,"database":"d","table":"t","type":"INSERT","isDdl":false,"data":[{"a":1}]}'))).toThrow(/rows of text values/);
    expect(() => parseBinlogMessage(Buffer.from('{"es":1,"database":"d","table":"t","type":"UPDATE","isDdl":false,"data":[{"a":"1"}],"old":[]}'))).toThrow(/one old row per data row/);
  });
});

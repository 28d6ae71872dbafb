import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { appDb, cdcEnv, readUntil, startCdc, type CdcRun, type Received } from '../support/cdc.js';
import { uniqueName } from '../support/stack.js';

const table = uniqueName('types');

const DDL = `CREATE TABLE \`${table}\` (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, ubi BIGINT UNSIGNED, b1 TINYINT(1),
  dec_wide DECIMAL(30,10), dec_money DECIMAL(12,2),
  f FLOAT, d DOUBLE,
  dt DATETIME, dt6 DATETIME(6), ts3 TIMESTAMP(3) NULL DEFAULT NULL, dte DATE, tm TIME, yr YEAR,
  c CHAR(4), vc VARCHAR(32), tx TEXT, lt LONGTEXT,
  bn BINARY(4), vb VARBINARY(8), bl BLOB,
  js JSON, en ENUM('small','large'), st SET('x','y','z'), bt BIT(8)
) DEFAULT CHARSET=utf8mb4`;

const VALUES = `(?, -128, -32768, -8388608, -2147483648, -9223372036854775808, 18446744073709551615, 1,
  '-12345678901234567890.0123456789', '0.10',
  1.5, 3.141592653589793,
  '2024-02-29 23:59:59', '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999', '1000-01-01', '-838:59:59', 2024,
  'ab', '北京 🚀 ünï', 'line1\nline2\t"q"', REPEAT('x', 3000),
  X'00FF8001', X'DEADBEEF', X'00FF80',
  '{"a": [1, 2.5, "s"], "b": null}', 'large', 'x,z', b'10100101')`;

const NULLS = `(?, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

describe('CDC column types (Canal values, mysqlType, sqlType)', () => {
  let db: mysql.Connection;
  let cdc: CdcRun;
  let received: Received[];

  beforeAll(async () => {
    db = await appDb();
    await db.query(DDL);
    // Rows 1 and 2 exist before CDC starts (snapshot path), rows 3 and 4 are written after (binlog path).
    await db.query(`INSERT INTO \`${table}\` VALUES ${VALUES}`, [1]);
    await db.query(`INSERT INTO \`${table}\` VALUES ${NULLS}`, [2]);
    cdc = startCdc(cdcEnv(table));
    await readUntil([cdc.topic], (all) => all.length >= 2);
    await db.query(`INSERT INTO \`${table}\` VALUES ${VALUES}`, [3]);
    await db.query(`INSERT INTO \`${table}\` VALUES ${NULLS}`, [4]);
    received = await readUntil([cdc.topic], (all) => all.length >= 4);
  });
  afterAll(async () => {
    await cdc?.stop();
    await db?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await db?.end();
  });

  const byId = (id: string): Received => {
    const r = received.find((m) => m.message.data?.[0]?.id === id);
    if (!r) throw new Error(`no message for id ${id}`);
    return r;
  };

  it('renders every value as the text MySQL prints, exactly', () => {
    const row = byId('3').message.data?.[0];
    expect(row).toMatchObject({
      ti: '-128', si: '-32768', mi: '-8388608', i: '-2147483648', bi: '-9223372036854775808', ubi: '18446744073709551615', b1: '1',
      dec_wide: '-12345678901234567890.0123456789', dec_money: '0.10',
      dt: '2024-02-29 23:59:59', dt6: '2024-02-29 23:59:59.123456', ts3: '2038-01-19 03:14:07.999', dte: '1000-01-01', tm: '-838:59:59', yr: '2024',
      c: 'ab', vc: '北京 🚀 ünï', tx: 'line1\nline2\t"q"',
      js: '{"a": [1, 2.5, "s"], "b": null}',
      // Canal (LogEventConvert) emits ENUM as its 1-based index and SET as its bitmask, not the labels.
      en: '2', st: '5',
    });
    expect(row?.lt).toHaveLength(3000);
    // Binary columns as ISO-8859-1 text of their bytes, as Canal does.
    expect(row?.bn).toBe(Buffer.from([0x00, 0xff, 0x80, 0x01]).toString('latin1'));
    expect(row?.vb).toBe(Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('latin1'));
    expect(row?.bl).toBe(Buffer.from([0x00, 0xff, 0x80]).toString('latin1'));
  });

  it('gives NULL as null', () => {
    const row = byId('4').message.data?.[0] ?? {};
    expect(Object.entries(row).filter(([k]) => k !== 'id').every(([, v]) => v === null)).toBe(true);
    expect(Object.keys(row)).toHaveLength(29);
  });

  it('publishes snapshot rows identical to binlog rows of the same values', () => {
    const snap = byId('1').message;
    const live = byId('3').message;
    expect(snap.isSnapshot).toBe(true);
    expect(live.isSnapshot).toBeUndefined();
    expect({ ...snap.data?.[0], id: '3' }).toEqual(live.data?.[0]);
    expect({ ...byId('2').message.data?.[0], id: '4' }).toEqual(byId('4').message.data?.[0]);
    expect(snap.mysqlType).toEqual(live.mysqlType);
    expect(snap.sqlType).toEqual(live.sqlType);
  });

  it('declares mysqlType as the column type and sqlType as java.sql.Types codes', () => {
    const m = byId('3').message;
    expect(m.mysqlType).toMatchObject({
      id: 'bigint(20) unsigned', ti: 'tinyint(4)', i: 'int(11)', ubi: 'bigint(20) unsigned', b1: 'tinyint(1)',
      dec_wide: 'decimal(30,10)', dec_money: 'decimal(12,2)', f: 'float', d: 'double',
      dt6: 'datetime(6)', ts3: 'timestamp(3)', dte: 'date', tm: 'time', yr: 'year(4)',
      c: 'char(4)', vc: 'varchar(32)', tx: 'text', bn: 'binary(4)', vb: 'varbinary(8)', bl: 'blob',
      en: "enum('small','large')", st: "set('x','y','z')", bt: 'bit(8)',
    });
    expect(m.sqlType).toMatchObject({ ti: -6, si: 5, i: 4, bi: -5, dec_wide: 3, dec_money: 3, f: 7, d: 8, dt: 93, dt6: 93, ts3: 93, dte: 91, tm: 92, c: 1, vc: 12, en: 4, st: -7, bt: -7 });
    expect(m.pkNames).toEqual(['id']);
    expect(m).toMatchObject({ database: 'shop', table, type: 'INSERT', isDdl: false, old: null, sql: '' });
    expect(m.es % 1000).toBe(0);
    expect(m.ts).toBeGreaterThanOrEqual(m.es);
  });
});

/**
 * The raw rows path (rows-codec.ts: rows events decoded from their bytes straight into Kafka records)
 * against the decoded path (zongji's row objects → buildRowsMessage → router → FlatMessageWriter) on the
 * same binlog: random values of every column type it handles, INSERT/UPDATE/DELETE, several rows per
 * event, both key modes. Every message, partition and key must be byte for byte the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { BinlogReader, type CommittedTransaction } from '../../connectors/mysql-binlog/binlog-reader.js';
import { loadCdcOptions } from '../../connectors/mysql-binlog/config.js';
import { CanalEncoder } from '../../connectors/mysql-binlog/encoder.js';
import type { RecordSink, ValueParts } from '../../connectors/mysql-binlog/record-batch.js';
import { SchemaCache } from '../../connectors/mysql-binlog/schema-cache.js';
import { appDb } from '../support/cdc.js';
import { config, uniqueName } from '../support/stack.js';

const { host, port, user, password, database } = config.mysql;
const table = uniqueName('rawrows');

const COLUMNS = `id INT PRIMARY KEY,
  ti TINYINT, uti TINYINT UNSIGNED, si SMALLINT, usi SMALLINT UNSIGNED, mi MEDIUMINT, umi MEDIUMINT UNSIGNED,
  i INT, ui INT UNSIGNED, bi BIGINT, ubi BIGINT UNSIGNED,
  d0 DECIMAL(10,0), d2 DECIMAL(12,2), d30 DECIMAL(30,10), dfrac DECIMAL(5,5), dwide DECIMAL(65,30),
  f FLOAT, dbl DOUBLE,
  dte DATE, dt0 DATETIME, dt3 DATETIME(3), dt6 DATETIME(6),
  ts0 TIMESTAMP NULL DEFAULT NULL, ts2 TIMESTAMP(2) NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  tm0 TIME, tm1 TIME(1), tm6 TIME(6), yr YEAR,
  c CHAR(10), vc VARCHAR(300), tx TEXT, lt LONGTEXT, js JSON,
  bn BINARY(8), vb VARBINARY(40), bl BLOB,
  en ENUM('a','b','c d','e''f'), st SET('x','y','z'), bt1 BIT(1), bt12 BIT(12), bt64 BIT(64)`;

/** Deterministic randomness, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const random = rng(20261121);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const digits = (n: number): string => Array.from({ length: n }, () => int(0, 9)).join('');
const bigintIn = (lo: bigint, hi: bigint): string => (lo + (BigInt(`0x${Array.from({ length: 16 }, () => int(0, 15).toString(16)).join('')}`) % (hi - lo + 1n))).toString();
const hex = (n: number): string => `X'${Array.from({ length: n }, () => pick([0x00, 0x22, 0x5c, 0x0a, 0x7f, 0x80, 0xff, int(0, 255)]).toString(16).padStart(2, '0')).join('')}'`;
const TEXTS = ['plain', '北京 🚀 ünï', 'quote " and \\ backslash', 'tab\tnew\nline\u0001\u001f', '', ' trailing ', 'ᚠᛇᚻ', '\u2028\u2029', 'a'.repeat(250)];
const text = (max: number): string => {
  const parts = Array.from({ length: int(1, 3) }, () => pick(TEXTS));
  // Cut at a code point, not inside a surrogate pair.
  return Array.from(parts.join(' ')).slice(0, max).join('');
};

function decimal(intDigits: number, scale: number): string {
  const whole = digits(int(0, intDigits)).replace(/^0+/, '') || '0';
  return `${random() < 0.4 ? '-' : ''}${whole}${scale > 0 ? `.${digits(scale)}` : ''}`;
}

function datetime(fsp: number, minYear = 1000, maxYear = 9999): string {
  const base = `${int(minYear, maxYear)}-${pad(int(1, 12))}-${pad(int(1, 28))} ${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}`;
  return fsp > 0 ? `${base}.${digits(fsp)}` : base;
}

function time(fsp: number): string {
  const base = `${random() < 0.3 ? '-' : ''}${int(0, 838)}:${pad(int(0, 59))}:${pad(int(0, 59))}`;
  return fsp > 0 && random() < 0.8 ? `${base}.${digits(fsp)}` : base;
}

/** SQL literal per column (NULL now and then), in COLUMNS order after id. */
const GENERATORS: Array<[string, () => string]> = [
  ['ti', () => String(int(-128, 127))],
  ['uti', () => String(int(0, 255))],
  ['si', () => String(int(-32768, 32767))],
  ['usi', () => String(int(0, 65535))],
  ['mi', () => String(int(-8388608, 8388607))],
  ['umi', () => String(int(0, 16777215))],
  ['i', () => String(pick([-2147483648, 2147483647, int(-2147483648, 2147483647)]))],
  ['ui', () => String(pick([0, 4294967295, int(0, 4294967295)]))],
  ['bi', () => pick(['-9223372036854775808', '9223372036854775807', '9007199254740993', '-9007199254740993', bigintIn(-(2n ** 63n), 2n ** 63n - 1n), String(int(-1000, 1000))])],
  ['ubi', () => pick(['18446744073709551615', '9223372036854775808', '9007199254740992', bigintIn(0n, 2n ** 64n - 1n), String(int(0, 1000))])],
  ['d0', () => decimal(10, 0)],
  ['d2', () => decimal(10, 2)],
  ['d30', () => decimal(20, 10)],
  ['dfrac', () => decimal(0, 5)],
  ['dwide', () => decimal(35, 30)],
  ['f', () => pick(['0', '-0', '1.5', '3.4e38', '-1.17549e-38', String((random() - 0.5) * 10 ** int(-10, 10))])],
  ['dbl', () => pick(['0', '1e-300', '-1.7976931348623157e308', '0.1', String((random() - 0.5) * 10 ** int(-100, 100))])],
  ['dte', () => quote(datetime(0).slice(0, 10))],
  ['dt0', () => quote(datetime(0))],
  ['dt3', () => quote(datetime(3))],
  ['dt6', () => quote(datetime(6))],
  ['ts0', () => quote(datetime(0, 1971, 2037))],
  ['ts2', () => quote(datetime(2, 1971, 2037))],
  ['ts6', () => quote(datetime(6, 1971, 2037))],
  ['tm0', () => quote(time(0))],
  ['tm1', () => quote(time(1))],
  ['tm6', () => quote(time(6))],
  ['yr', () => String(pick([0, 1901, 2155, int(1901, 2155)]))],
  ['c', () => quote(text(10))],
  ['vc', () => quote(text(300))],
  ['tx', () => quote(text(2000))],
  ['lt', () => quote(text(5000))],
  ['js', () => quote(JSON.stringify({ k: text(20), n: int(-5, 5), a: [random() < 0.5, null] }))],
  ['bn', () => hex(int(0, 8))],
  ['vb', () => hex(int(0, 40))],
  ['bl', () => hex(int(0, 300))],
  ['en', () => quote(pick(['a', 'b', 'c d', "e'f"]))],
  ['st', () => quote(pick(['', 'x', 'y,z', 'x,y,z']))],
  ['bt1', () => `b'${int(0, 1)}'`],
  ['bt12', () => `b'${int(0, 4095).toString(2)}'`],
  ['bt64', () => `b'${Array.from({ length: 64 }, () => int(0, 1)).join('')}'`],
];

const value = (generate: () => string): string => (random() < 0.1 ? 'NULL' : generate());

interface Collected {
  topic: string;
  partition: number;
  key: string | null;
  /** null: a tombstone */
  value: string | null;
}

/** A sink that keeps every message as strings. */
function collector(out: Collected[]): RecordSink {
  return {
    add: (topic, partition, key, v) => out.push({ topic, partition, key, value: v }),
    addParts: (topic, partition, keyBuf, keyStart, keyEnd, parts: ValueParts | null) => {
      const bytes = parts === null ? null : Buffer.concat(Array.from({ length: parts.count }, (_, i) => (parts.bufs[i] as Buffer).subarray(parts.starts[i], parts.ends[i])));
      out.push({ topic, partition, key: keyBuf === null ? null : keyBuf.toString('utf8', keyStart, keyEnd), value: bytes === null ? null : bytes.toString('utf8') });
    },
  };
}

/** Every transaction between two binlog points, read with or without the raw rows path. */
async function readRange(start: { file: string; pos: number }, end: { file: string; pos: number }, rawRows: boolean): Promise<CommittedTransaction[]> {
  const txns: CommittedTransaction[] = [];
  let reader: BinlogReader | undefined;
  await new Promise<void>((resolve, reject) => {
    reader = new BinlogReader({
      connection: { host, port, user, password },
      serverId: 100_000 + Math.floor(Math.random() * 1_000_000),
      flavour: 'mariadb',
      start: { ...start, gtid: '' },
      acceptsTable: (db, t) => db === database && t === table,
      rawRows,
      onTransaction: (txn) => {
        txns.push(txn);
        if (txn.position.file === end.file && txn.position.pos >= end.pos) resolve();
      },
      onError: reject,
    });
    reader.start().catch(reject);
  });
  await reader?.stop();
  return txns;
}

describe('raw rows path', () => {
  let db: mysql.Connection;
  let txnsRaw: CommittedTransaction[];
  let txnsDecoded: CommittedTransaction[];

  beforeAll(async () => {
    db = await appDb();
    await db.query("SET time_zone = '+00:00'");
    await db.query(`CREATE TABLE \`${table}\` (${COLUMNS}) DEFAULT CHARSET=utf8mb4`);
    const cdc = await mysql.createConnection({ host, port, user, password });
    const status = async (): Promise<{ file: string; pos: number }> => {
      const [rows] = await cdc.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
      return { file: String(rows[0]?.File), pos: Number(rows[0]?.Position) };
    };
    const start = await status();
    const names = GENERATORS.map(([name]) => name);
    let id = 0;
    for (let txn = 0; txn < 6; txn++) {
      await db.query('BEGIN');
      for (let statement = 0; statement < 4; statement++) {
        const rows = Array.from({ length: 25 }, () => `(${++id}, ${GENERATORS.map(([, g]) => value(g)).join(', ')})`);
        await db.query(`INSERT INTO \`${table}\` (id, ${names.join(', ')}) VALUES ${rows.join(', ')}`);
      }
      await db.query('COMMIT');
    }
    // Multi-row UPDATEs (changed columns accumulate over an event's rows) and single-row ones, some changing nothing.
    for (let u = 0; u < 12; u++) {
      const columns = Array.from({ length: int(1, 4) }, () => pick(GENERATORS));
      const set = columns.map(([name, g]) => `${name} = ${value(g)}`).join(', ');
      const from = int(1, id - 30);
      await db.query(`UPDATE \`${table}\` SET ${set} WHERE id BETWEEN ${from} AND ${from + int(0, 25)}`);
    }
    await db.query(`UPDATE \`${table}\` SET ti = ti WHERE id < 20`);
    await db.query(`UPDATE \`${table}\` SET ti = 1, vc = 'same' WHERE id BETWEEN 30 AND 40`);
    // Primary-key changes (keyed mode splits them into DELETE + tombstone + INSERT), alone and with other columns, next to rows keeping theirs.
    await db.query(`UPDATE \`${table}\` SET id = id + 1000 WHERE id BETWEEN 41 AND 60`);
    await db.query(`UPDATE \`${table}\` SET id = IF(id % 3 = 0, id + 2000, id), vc = ${quote(text(300))} WHERE id BETWEEN 61 AND 90`);
    // Each new key is the key the row before it just left, within one event.
    await db.query(`UPDATE \`${table}\` SET id = id - 1 WHERE id BETWEEN 1041 AND 1050 ORDER BY id`);
    await db.query(`DELETE FROM \`${table}\` WHERE id % 7 = 0`);
    const end = await status();
    await cdc.end();
    [txnsRaw, txnsDecoded] = await Promise.all([readRange(start, end, true), readRange(start, end, false)]);
  }, 120_000);

  afterAll(async () => {
    await db?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await db?.end();
  });

  it('takes this table off the wire raw, with the same transactions and row counts as zongji', () => {
    const raw = txnsRaw.flatMap((t) => (t.kind === 'rows' ? t.events : []));
    expect(raw.length).toBeGreaterThan(20);
    expect(raw.every((e) => e.rows.format === 'raw')).toBe(true);
    expect(txnsDecoded.flatMap((t) => (t.kind === 'rows' ? t.events : [])).every((e) => e.rows.format === 'decoded')).toBe(true);
    const shape = (txns: CommittedTransaction[]): unknown[] => txns.map((t) => [t.kind, t.position, t.kind === 'rows' ? [t.rowCount, t.events.map((e) => e.rowCount)] : t.sql]);
    expect(shape(txnsRaw)).toEqual(shape(txnsDecoded));
  });

  // TIMESTAMP in the server's zone (UTC here), a fixed offset, and a zone with daylight saving time.
  for (const [keyByPk, timeZone] of [['true', ''], ['false', ''], ['true', 'America/New_York'], ['false', '-03:30']] as const) {
    it(`encodes every message as the decoded path does (CDC_KEY_BY_PK=${keyByPk}, CDC_TIMEZONE=${timeZone})`, async () => {
      const options = loadCdcOptions(database, { CDC_KEY_BY_PK: keyByPk, CDC_PARTITIONS: '4', CDC_FILTER_REGEX: `${database}\\.${table}`, CDC_TIMEZONE: timeZone });
      const schemas = new SchemaCache({ host, port, user, password });
      try {
        const encode = async (txns: CommittedTransaction[]): Promise<Collected[]> => {
          const encoder = new CanalEncoder(options, schemas);
          const out: Collected[] = [];
          for (const txn of txns) if (txn.kind === 'rows') await encoder.encodeRows(txn, 7, 1_700_000_000_000, collector(out));
          expect(encoder.deadLettered).toBe(0);
          return out;
        };
        const [raw, decoded] = [await encode(txnsRaw), await encode(txnsDecoded)];
        expect(raw.length).toBe(decoded.length);
        for (let m = 0; m < raw.length; m++) expect(raw[m], `message ${m}`).toEqual(decoded[m]);
        expect(new Set(raw.map((r) => r.partition)).size).toBeGreaterThan(1);
        // The primary-key changes above: 20 + 10 (ids 63, 66, …, 90) + 10 rows, each with a tombstone of its old key when keyed.
        expect(raw.filter((r) => r.value === null)).toHaveLength(keyByPk === 'true' ? 40 : 0);
      } finally {
        await schemas.close();
      }
    });
  }
});

/**
 * A value must not depend on the path that read it: the snapshot reads a row with SELECT, the binlog
 * carries the same row's image, and a consumer compares the two (an UPDATE's retraction must match the
 * row it holds). FLOAT is where they used to differ: the server prints 6 significant digits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { appDb, cdcEnv, readUntil, startCdc, type Received } from '../support/cdc.js';
import { uniqueName } from '../support/stack.js';

const ROWS = 500;

/** A finite value from random bits (every exponent, subnormals included) or a short decimal, as people write them. */
function randomValue(bits: Buffer, width: 4 | 8): number {
  for (;;) {
    if (Math.random() < 0.5) {
      const digits = 1 + Math.floor(Math.random() * 9);
      const scale = Math.floor(Math.random() * 12) - 4;
      return Number(((Math.random() - 0.5) * 10 ** digits).toFixed(0)) / 10 ** scale;
    }
    for (let i = 0; i < width; i++) bits[i] = Math.floor(Math.random() * 256);
    const value = width === 4 ? bits.readFloatLE(0) : bits.readDoubleLE(0);
    if (Number.isFinite(value)) return value;
  }
}

describe('CDC FLOAT and DOUBLE through snapshot and binlog', () => {
  const table = uniqueName('floats');
  let db: mysql.Connection;
  beforeAll(async () => {
    db = await appDb();
  });
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${table}\``);
    await db.end();
  });

  it('renders the same row the same whichever path read it, as text that reads back as the stored value', async () => {
    await db.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, f FLOAT, d DOUBLE, n INT NOT NULL DEFAULT 0)`);
    const bits = Buffer.alloc(8);
    const fixed: Array<[number, number]> = [[1.2345678, 1.2345678], [-22778.951, -22778.951], [0.1, 0.1], [3.4028234663852886e38, 1.7976931348623157e308], [1.401298464324817e-45, 5e-324], [0, 0], [-1, 16777217]];
    const values = Array.from({ length: ROWS }, (_, i) => fixed[i] ?? [randomValue(bits, 4), randomValue(bits, 8)]);
    // Prepared statements send the parameters as 8-byte doubles: exactly these values reach the server.
    for (let i = 0; i < ROWS; i++) await db.execute(`INSERT INTO \`${table}\` (id, f, d) VALUES (?, ?, ?)`, [i + 1, ...(values[i] as [number, number])]);
    // The stored values, in the binary protocol: a FLOAT as its 4 bytes, a DOUBLE as its 8.
    const [stored] = await db.execute<mysql.RowDataPacket[]>(`SELECT id, f, d FROM \`${table}\``);
    const truth = new Map(stored.map((r) => [String(r.id), { f: r.f as number, d: r.d as number }]));

    const cdc = startCdc(cdcEnv(table));
    try {
      const rowsOf = (all: Received[], pick: (r: Received) => boolean): Map<string, Record<string, string | null>> =>
        new Map(all.filter(pick).flatMap((r) => r.message.data ?? []).map((row) => [row.id as string, row]));
      const snapshot = rowsOf(await readUntil([cdc.topic], (all) => rowsOf(all, (r) => r.message.isSnapshot === true).size >= ROWS, 120_000), (r) => r.message.isSnapshot === true);
      // The same rows through the binlog: an UPDATE of another column carries f and d in its image.
      await db.query(`UPDATE \`${table}\` SET n = n + 1`);
      const binlog = rowsOf(await readUntil([cdc.topic], (all) => rowsOf(all, (r) => r.message.type === 'UPDATE').size >= ROWS, 120_000), (r) => r.message.type === 'UPDATE');

      const differing: string[] = [];
      const unfaithful: string[] = [];
      for (const [id, want] of truth) {
        const s = snapshot.get(id);
        const b = binlog.get(id);
        if (s?.f !== b?.f || s?.d !== b?.d) differing.push(`id ${id}: snapshot f=${s?.f} d=${s?.d}, binlog f=${b?.f} d=${b?.d}`);
        // The text reads back as the stored value: the float's 4 bytes, the double's 8.
        if (Math.fround(Number(s?.f)) !== want.f || Number(s?.d) !== want.d) unfaithful.push(`id ${id}: stored f=${want.f} d=${want.d}, snapshot f=${s?.f} d=${s?.d}`);
      }
      expect(snapshot.size).toBe(ROWS);
      expect(binlog.size).toBe(ROWS);
      expect(differing.slice(0, 10), `${differing.length} rows differ`).toEqual([]);
      expect(unfaithful.slice(0, 10), `${unfaithful.length} rows do not read back`).toEqual([]);
    } finally {
      await cdc.stop();
    }
  });
});

/**
 * A table without primary key: a consumer cannot fold its rows by key, so its snapshot must give each row
 * once and its binlog events only after the snapshot (they are held back until its single chunk is out),
 * while the table is being written to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import type { CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { appDb, cdcEnv, readUntil, startCdc } from '../support/cdc.js';
import { until } from '../support/follower.js';
import { uniqueName } from '../support/stack.js';

describe('CDC snapshot of a table without primary key', () => {
  const table = uniqueName('keyless');
  let db: mysql.Connection;
  beforeAll(async () => {
    db = await appDb();
  });
  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS \`${table}\``);
    await db.end();
  });

  it('publishes every row once and the changes after them: the rows counted from the topic are the table', async () => {
    await db.query(`CREATE TABLE \`${table}\` (a INT NOT NULL, note VARCHAR(8) NOT NULL)`);
    await db.query(`INSERT INTO \`${table}\` VALUES ${Array.from({ length: 20_000 }, (_, i) => `(${i % 500}, 'n${i % 7}')`).join(',')}`);
    const writer = await appDb();
    let writing = true;
    let ops = 0;
    const writes = (async () => {
      while (writing) {
        const a = Math.floor(Math.random() * 600);
        const op = Math.random();
        if (op < 0.4) await writer.query(`INSERT INTO \`${table}\` VALUES (?, 'w')`, [a]);
        else if (op < 0.7) await writer.query(`DELETE FROM \`${table}\` WHERE a = ? LIMIT 1`, [a]);
        else await writer.query(`UPDATE \`${table}\` SET note = 'u' WHERE a = ? LIMIT 1`, [a]);
        ops += 1;
      }
    })();
    const cdc = startCdc(cdcEnv(table));
    let opsDuringSnapshot = 0;
    try {
      await cdc.streaming;
      const opsAtStart = ops;
      await cdc.snapshotted;
      opsDuringSnapshot = ops - opsAtStart;
      const opsAtEnd = ops;
      await until('writes after the snapshot', () => ops >= opsAtEnd + 100);
    } finally {
      writing = false;
      await writes;
      await writer.end();
    }
    const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT a, note FROM \`${table}\``);
    const text = (row: CanalRow | mysql.RowDataPacket): string => `${row.a}|${row.note}`;
    const expected = new Map<string, number>();
    for (const r of rows) expected.set(text(r), (expected.get(text(r)) ?? 0) + 1);

    // The consumer's multiset of rows; a change that removes a row it does not hold is a problem.
    const held = new Map<string, number>();
    let notHeld = 0;
    const add = (row: string, n: number): void => {
      const count = (held.get(row) ?? 0) + n;
      if (count < 0) notHeld += 1;
      if (count <= 0) held.delete(row);
      else held.set(row, count);
    };
    const same = (): boolean => held.size === expected.size && [...expected].every(([row, n]) => held.get(row) === n);
    try {
      await readUntil([cdc.topic], (all) => {
        for (const { message } of all.splice(0)) {
          (message.data ?? []).forEach((row, i) => {
            if (message.type === 'INSERT') add(text(row), 1);
            else if (message.type === 'DELETE') add(text(row), -1);
            else if (message.type === 'UPDATE') {
              add(text({ ...row, ...(message.old?.[i] ?? {}) }), -1);
              add(text(row), 1);
            }
          });
        }
        return same();
      }, 60_000).catch(() => undefined);
    } finally {
      await cdc.stop();
    }
    console.log(`keyless snapshot: ${opsDuringSnapshot} writes during the snapshot, ${rows.length} rows, ${notHeld} changes to rows not held`);
    expect(opsDuringSnapshot).toBeGreaterThan(0);
    expect(notHeld).toBe(0);
    expect(held).toEqual(expected);
  });
});

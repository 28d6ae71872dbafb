/**
 * UPDATEs that change a row's primary key, with the default routing (keyed by primary key, 3
 * partitions, partitioned by primary-key hash), mixed with inserts, updates and deletes, some of them
 * multi-row and some taken by the snapshot. The topic is folded as a consumer would, one partition after
 * the other (a consumer's partitions advance independently, so any order must give the same table), and
 * once more after a model of log compaction: both must equal the table MySQL holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { CanalFlatMessage, CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';
import { appDb, cdcEnv, startCdc } from '../support/cdc.js';
import { config, uniqueName } from '../support/stack.js';
import { DeliveredOnce } from '../../connectors/kafka/delivered-once.js';

const table = uniqueName('pkchange');

/** Deterministic randomness, so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const random = rng(20260407);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
const B_VALUES = ['x', 'y', 'zz', 'é', '北'];

interface RecordRead {
  partition: number;
  offset: bigint;
  key: string | null;
  /** null: a tombstone */
  value: string | null;
}

/** Every record of `topic` (read_committed) until `done` holds for what was read. */
async function readRecords(topic: string, done: (all: RecordRead[]) => boolean, timeoutMs = 120_000): Promise<RecordRead[]> {
  const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  while (!(await admin.listTopics()).includes(topic)) {
    if (Date.now() > deadline) throw new Error(`topic ${topic} never appeared`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false, maxBytes: 50 * 1024 * 1024 });
  const all: RecordRead[] = [];
  const once = new DeliveredOnce();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms with ${all.length} records`)), Math.max(0, deadline - Date.now()));
      void consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) if (once.take(batch.topic, batch.partition, m.offset)) all.push({ partition: batch.partition, offset: BigInt(m.offset), key: m.key?.toString() ?? null, value: m.value === null ? null : m.value.toString() });
            if (done(all)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return all;
}

const pkOf = (row: CanalRow): string => JSON.stringify([row.a, row.b]);

/** A Canal consumer's table (Flink's canal-json semantics): UPDATE retracts its before image, then adds its after image. */
function fold(records: readonly RecordRead[], into: Map<string, CanalRow>): void {
  for (const r of records) {
    if (r.value === null) {
      const [, , a, b] = JSON.parse(r.key ?? 'null') as [string, string, string, string];
      into.delete(JSON.stringify([a, b]));
      continue;
    }
    const m = JSON.parse(r.value) as CanalFlatMessage;
    (m.data ?? []).forEach((row, i) => {
      if (m.type === 'INSERT') into.set(pkOf(row), row);
      else if (m.type === 'DELETE') into.delete(pkOf(row));
      else if (m.type === 'UPDATE') {
        into.delete(pkOf({ ...row, ...(m.old?.[i] ?? {}) }));
        into.set(pkOf(row), row);
      } else throw new Error(`unexpected ${m.type} in the data topic`);
    });
  }
}

function byPartition(records: readonly RecordRead[]): Map<number, RecordRead[]> {
  const parts = new Map<number, RecordRead[]>();
  for (const r of records) {
    const list = parts.get(r.partition) ?? [];
    list.push(r);
    parts.set(r.partition, list);
  }
  for (const list of parts.values()) list.sort((x, y) => (x.offset < y.offset ? -1 : 1));
  return parts;
}

/** Kafka log compaction, fully run: per partition, the last record of each key, in offset order; a last tombstone removes the key. */
function compacted(records: readonly RecordRead[]): RecordRead[] {
  const last = new Map<string, RecordRead>();
  for (const r of [...records].sort((x, y) => (x.offset < y.offset ? -1 : 1))) {
    if (r.key === null) throw new Error('a record without a key cannot be compacted');
    last.set(`${r.partition}/${r.key}`, r);
  }
  return [...last.values()].filter((r) => r.value !== null).sort((x, y) => x.partition - y.partition || (x.offset < y.offset ? -1 : 1));
}

describe('CDC primary-key changes (keyed, 3 partitions, primary-key hash)', () => {
  let db: mysql.Connection;
  beforeAll(async () => {
    db = await appDb();
  });
  afterAll(async () => {
    await db?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await db?.end();
  });

  it('leaves no old key behind: the folded topic equals MySQL in any partition order, and after compaction', async () => {
    await db.query(`CREATE TABLE \`${table}\` (a INT NOT NULL, b VARCHAR(8) NOT NULL, v INT, note VARCHAR(16), PRIMARY KEY (a, b)) DEFAULT CHARSET=utf8mb4`);
    /** The keys in the table, only to write statements that succeed. */
    const live = new Set<string>();
    const keyText = (a: number, b: string): string => JSON.stringify([a, b]);
    const freshKey = (lo: number, hi: number): [number, string] => {
      for (;;) {
        const key: [number, string] = [int(lo, hi), pick(B_VALUES)];
        if (!live.has(keyText(...key))) return key;
      }
    };
    const liveKey = (): [number, string] => JSON.parse(pick([...live])) as [number, string];
    const insert = async (): Promise<void> => {
      const [a, b] = freshKey(1, 3000);
      await db.query(`INSERT INTO \`${table}\` VALUES (?, ?, ?, ?)`, [a, b, int(-99, 99), random() < 0.2 ? null : `n${int(0, 999)}`]);
      live.add(keyText(a, b));
    };
    // Rows the snapshot reads.
    for (let i = 0; i < 150; i++) await insert();

    const cdc = startCdc(cdcEnv(table));
    const counts = { keyChanges: 0, multiRowKeyChanges: 0 };
    try {
      await cdc.streaming;
      for (let txn = 0; txn < 80; txn++) {
        await db.query('BEGIN');
        for (let op = int(1, 6); op > 0; op--) {
          const choice = random();
          if (live.size < 20 || choice < 0.2) {
            await insert();
          } else if (choice < 0.35) {
            const [a, b] = liveKey();
            await db.query(`UPDATE \`${table}\` SET v = v + 1, note = ? WHERE a = ? AND b = ?`, [`u${int(0, 999)}`, a, b]);
          } else if (choice < 0.65) {
            // The key changes, in a, in b or both, with or without other columns.
            const [a, b] = liveKey();
            const [na, nb] = freshKey(1, 3000);
            const set = pick([`a = ${na}`, `b = '${nb}'`, `a = ${na}, b = '${nb}'`, `a = ${na}, b = '${nb}', v = ${int(-99, 99)}`]);
            const newKey: [number, string] = [set.startsWith('b') ? a : na, set.includes('b =') ? nb : b];
            if (live.has(keyText(...newKey))) continue;
            await db.query(`UPDATE \`${table}\` SET ${set} WHERE a = ? AND b = ?`, [a, b]);
            live.delete(keyText(a, b));
            live.add(keyText(...newKey));
            counts.keyChanges += 1;
          } else if (choice < 0.75) {
            // One statement moving several keys, each onto a key free before it runs.
            const lo = int(1, 3000);
            const moved = [...live].map((k) => JSON.parse(k) as [number, string]).filter(([a]) => a >= lo && a <= lo + 60);
            const shift = int(1, 4) * 3000;
            if (moved.length === 0 || moved.some(([a, b]) => live.has(keyText(a + shift, b)))) continue;
            await db.query(`UPDATE \`${table}\` SET a = a + ? WHERE a BETWEEN ? AND ?`, [shift, lo, lo + 60]);
            for (const [a, b] of moved) live.delete(keyText(a, b));
            for (const [a, b] of moved) live.add(keyText(a + shift, b));
            counts.keyChanges += moved.length;
            counts.multiRowKeyChanges += 1;
          } else if (choice < 0.8) {
            // A run of consecutive keys, then each moved onto the key the row above it just left (one event).
            const b = pick(B_VALUES);
            const start = int(1, 3000);
            const run = Array.from({ length: 6 }, (_, i) => start + i);
            if (run.some((a) => live.has(keyText(a, b)))) continue;
            await db.query(`INSERT INTO \`${table}\` (a, b, v) VALUES ${run.slice(0, 5).map((a) => `(${a}, '${b}', ${a})`).join(', ')}`);
            await db.query(`UPDATE \`${table}\` SET a = a + 1 WHERE b = ? AND a BETWEEN ? AND ? ORDER BY a DESC`, [b, start, start + 4]);
            for (const a of run.slice(1)) live.add(keyText(a, b));
            counts.keyChanges += 5;
            counts.multiRowKeyChanges += 1;
          } else {
            const [a, b] = liveKey();
            await db.query(`DELETE FROM \`${table}\` WHERE a = ? AND b = ?`, [a, b]);
            live.delete(keyText(a, b));
          }
        }
        await db.query('COMMIT');
      }
      // The last transaction: rows in every partition, so that reading up to them reads everything.
      const sentinels = Array.from({ length: 30 }, (_, i) => [-1 - i, 's']);
      await db.query(`INSERT INTO \`${table}\` (a, b) VALUES ${sentinels.map(([a, b]) => `(${a}, '${b}')`).join(', ')}`);
      const sentinelKeys = new Set(sentinels.map(([a, b]) => JSON.stringify([config.mysql.database, table, String(a), b])));
      const records = await readRecords(cdc.topic, (all) => all.filter((r) => r.key !== null && sentinelKeys.has(r.key)).length === sentinelKeys.size);
      expect(new Set(records.filter((r) => r.key !== null && sentinelKeys.has(r.key)).map((r) => r.partition)).size).toBe(3);
      expect(counts.keyChanges).toBeGreaterThan(50);
      expect(counts.multiRowKeyChanges).toBeGreaterThan(2);

      const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT a, b, v, note FROM \`${table}\``);
      const expected = new Map(rows.map((r) => {
        const row: CanalRow = { a: String(r.a), b: String(r.b), v: r.v === null ? null : String(r.v), note: r.note === null ? null : String(r.note) };
        return [pkOf(row), row];
      }));
      const sorted = (m: Map<string, CanalRow>): Array<[string, CanalRow]> => [...m.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
      const parts = byPartition(records);
      expect([...parts.keys()].sort()).toEqual([0, 1, 2]);
      for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
        const folded = new Map<string, CanalRow>();
        for (const p of order) fold(parts.get(p) ?? [], folded);
        expect(sorted(folded), `partitions folded in the order ${order.join(', ')}`).toEqual(sorted(expected));
      }
      const afterCompaction = new Map<string, CanalRow>();
      fold(compacted(records), afterCompaction);
      expect(sorted(afterCompaction), 'the compacted topic').toEqual(sorted(expected));
      // Each key's records stay in one partition.
      const partitionsOfKey = new Map<string, Set<number>>();
      for (const r of records) partitionsOfKey.set(r.key ?? '', (partitionsOfKey.get(r.key ?? '') ?? new Set()).add(r.partition));
      expect([...partitionsOfKey.values()].filter((p) => p.size > 1)).toEqual([]);
    } finally {
      await cdc.stop();
    }
  });
});

/** Test records for the sink tests: JSON rows of an `items` table, their model of FINAL, and a sink for them. */
import type { SinkSpec, TransformResult } from '../../connectors/clickhouse/sink.js';

export interface Item {
  id: number;
  v: string;
  amount: string;
  ts: number;
  _version: number;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` changes of `keys` random ids (or of `count` distinct ids when keys is 'distinct'), versions unique and growing. */
export function items(count: number, keys: number | 'distinct', seed: number): Item[] {
  const next = random(seed);
  return Array.from({ length: count }, (_, i) => {
    const id = keys === 'distinct' ? i * 7 + 3 : Math.floor(next() * keys);
    return { id, v: `v${i} "q" 北京`, amount: `${Math.floor(next() * 1e8)}.${String(i % 100).padStart(2, '0')}`, ts: Date.UTC(2026, 0, 1) + Math.floor(next() * 86_400_000 * 3), _version: i + 1 };
  });
}

/** The model of `SELECT ... FINAL`: the highest version of each id, as ClickHouse prints it. */
export function latest(input: Item[]): string[] {
  const byId = new Map<number, Item>();
  for (const item of input) if ((byId.get(item.id)?._version ?? 0) < item._version) byId.set(item.id, item);
  return [...byId.values()].sort((a, b) => a.id - b.id).map((i) => [i.id, i.v, i.amount, new Date(i.ts).toISOString().replace('T', ' ').replace('Z', ''), i._version].join('|'));
}

/** The record's JSON object is the row; what is not JSON is dead-lettered by the transform. */
export function itemsSink(namespace: string, name: string, topic: string, table: string): SinkSpec {
  return {
    name,
    groupId: `${namespace}-${name}`,
    topics: [topic],
    tables: [table],
    deadLetterTopic: `${namespace}.dead_letter`,
    transform: (record): TransformResult => {
      try {
        return { rows: [{ table, row: JSON.parse(String(record.value)) as Record<string, unknown> }] };
      } catch (err) {
        return { deadLetter: `malformed JSON: ${(err as Error).message}` };
      }
    },
  };
}

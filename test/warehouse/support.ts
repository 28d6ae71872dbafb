/** Shared by the warehouse tests: private namespaces, Kafka helpers, ClickHouse queries, waiting on conditions. */
import type { Admin } from 'kafkajs';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { createClickHouse, quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { config } from '../support/stack.js';

export const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });

export function clickhouse(): ClickHouseClient {
  const { url, user, password } = config.clickhouse;
  return createClickHouse({ url, user, password });
}

export async function query<T>(client: ClickHouseClient, sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

export async function dropDatabase(client: ClickHouseClient, database: string): Promise<void> {
  await client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}` });
}

export async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(topic: string, partitions: number): Promise<void> {
  await withAdmin((admin) => ensureTopics(admin, [{ topic, partitions }]));
}

export async function deleteTopics(topics: string[]): Promise<void> {
  await withAdmin(async (admin) => {
    const existing = new Set(await admin.listTopics());
    const ours = topics.filter((t) => existing.has(t));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  });
}

/** Sends values to explicit partitions, in order, in chunks. */
export async function produce(topic: string, records: Array<{ partition: number; key?: string | null; value: string | null }>): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 5000) {
      await producer.send({ topic, acks: -1, messages: records.slice(i, i + 5000).map((r) => ({ partition: r.partition, key: r.key ?? null, value: r.value })) });
    }
  } finally {
    await producer.disconnect();
  }
}

export async function readTopic(topic: string): Promise<Array<{ partition: number; offset: string; key: Buffer | null; value: Buffer | null }>> {
  const out: Array<{ partition: number; offset: string; key: Buffer | null; value: Buffer | null }> = [];
  await readToEnd(kafka, topic, (m, partition) => void out.push({ partition, offset: m.offset, key: m.key, value: m.value }));
  return out;
}

/** True once the group's committed offset of every partition of `topic` is its end offset (a partition never written has nothing to commit). */
export async function caughtUp(groupId: string, topic: string): Promise<boolean> {
  return withAdmin(async (admin) => {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return ends.every((e) => {
      const at = committed?.partitions.find((p) => p.partition === e.partition)?.offset;
      return at === e.high || (e.high === e.low && (at === undefined || Number(at) < 0));
    });
  });
}

/** The group's committed offsets, by partition (-1 when none). */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
  return withAdmin(async (admin) => {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  });
}

/** Polls `probe` until it returns a value other than undefined; fails with `what` after timeoutMs. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

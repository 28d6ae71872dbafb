/**
 * `rtdw cdc snapshot <table>`: requests to re-snapshot tables, as records in a Kafka topic of the
 * connector's own (Debezium's Kafka signal channel). The CDC user cannot write to the source, so no
 * signal table. A request waits in the topic until the connector reads it; the connector commits the
 * offset of the next request to read in its position, in the same transaction as what the request
 * changed, so each request is acted on once.
 */
import type { Admin, Kafka } from 'kafkajs';
import { readToEnd } from '../kafka/read-to-end.js';
import { ensureTopics } from '../kafka/topics.js';
import type { SnapshotKeyRange, SnapshotTableRef, StoredKeyValue } from './position-store.js';

export function signalTopicOf(connectorName: string): string {
  return `${connectorName}_signals`;
}

export interface SnapshotRequest {
  type: 'snapshot';
  tables: SnapshotTableRef[];
  requestedAt: number;
}

/** A request read from the topic, or why it could not be (the connector logs it and goes on). */
export type ReadSignal = { offset: string; request: SnapshotRequest } | { offset: string; invalid: string };

export async function ensureSignalTopic(admin: Admin, topic: string): Promise<void> {
  // Requests are few and tiny: kept until read, however long the connector is down.
  await ensureTopics(admin, [{ topic, partitions: 1, config: { 'retention.ms': '-1' } }]);
}

/** Forgets every request made so far (`rtdw cdc reset`: a connector starting afresh reads only later ones). */
export async function forgetSnapshotRequests(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureSignalTopic(admin, topic);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
  } finally {
    await admin.disconnect();
  }
}

/** Appends a request; returns its offset. */
export async function sendSnapshotRequest(kafka: Kafka, topic: string, connectorName: string, tables: SnapshotTableRef[]): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureSignalTopic(admin, topic);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const request: SnapshotRequest = { type: 'snapshot', tables, requestedAt: Date.now() };
    const [sent] = await producer.send({ topic, acks: -1, messages: [{ key: connectorName, value: JSON.stringify(request) }] });
    return sent?.baseOffset ?? '';
  } finally {
    await producer.disconnect();
  }
}

const isKeyValue = (v: unknown): v is StoredKeyValue => v === null || typeof v === 'string' || (typeof v === 'object' && typeof (v as { base64?: unknown }).base64 === 'string');
const isKey = (k: unknown): k is StoredKeyValue[] => Array.isArray(k) && k.length > 0 && k.every(isKeyValue);

/** A request's key range, or why it is not one. */
function parseRange(range: unknown): SnapshotKeyRange | string {
  const r = range as Partial<SnapshotKeyRange> | null;
  if (typeof r !== 'object' || r === null || !isKey(r.upTo) || (r.after !== null && !isKey(r.after)) || (r.after !== null && r.after?.length !== r.upTo.length)) {
    return 'a range is {"after": key or null, "upTo": key}, a key an array of its columns\' values';
  }
  return { after: r.after, upTo: r.upTo };
}

function parse(value: Buffer | null): SnapshotRequest | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value?.toString() ?? '');
  } catch {
    return 'not JSON';
  }
  const r = parsed as Partial<SnapshotRequest>;
  if (r.type !== 'snapshot' || !Array.isArray(r.tables) || !r.tables.every((t) => typeof t?.database === 'string' && typeof t?.table === 'string')) {
    return 'expected {"type":"snapshot","tables":[{"database","table"}]}';
  }
  const tables: SnapshotTableRef[] = [];
  for (const t of r.tables) {
    if (t.range === undefined) {
      tables.push({ database: t.database, table: t.table });
      continue;
    }
    const range = parseRange(t.range);
    if (typeof range === 'string') return range;
    tables.push({ database: t.database, table: t.table, range });
  }
  return { type: 'snapshot', tables, requestedAt: Number(r.requestedAt) };
}

/** The connector's side: new requests since an offset, checked cheaply (one ListOffsets) when there are none. */
export class SignalReader {
  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    readonly topic: string,
  ) {}

  /**
   * Requests at or after offset `from` (undefined: the earliest the topic holds), and the offset after the
   * last one; undefined when there is none.
   */
  async readFrom(from: string | undefined): Promise<{ signals: ReadSignal[]; next: string } | undefined> {
    const [offsets] = await this.admin.fetchTopicOffsets(this.topic);
    const start = from ?? offsets?.low ?? '0';
    if (offsets === undefined || BigInt(offsets.high) <= BigInt(start)) return undefined;
    const signals: ReadSignal[] = [];
    if (BigInt(offsets.low) > BigInt(start)) signals.push({ offset: start, invalid: `requests before offset ${offsets.low} were deleted from ${this.topic} unread` });
    await readToEnd(this.kafka, this.topic, (message) => {
      // Requests appended since the end was taken are left for the next read.
      if (BigInt(message.offset) < BigInt(start) || BigInt(message.offset) >= BigInt(offsets.high)) return;
      const request = parse(message.value);
      signals.push(typeof request === 'string' ? { offset: message.offset, invalid: request } : { offset: message.offset, request });
    });
    return { signals, next: offsets.high };
  }
}

/**
 * Writes events to the event log `<ns>.ods_events`: one JSON object per message, keyed by
 * device_id and partitioned like the Java client's default partitioner (murmur2 of the key), so a
 * device's events stay in one partition, in the order they are delivered. An idempotent producer:
 * a retried request adds no duplicates besides the model's own.
 */
import type { ICustomPartitioner, Producer } from 'kafkajs';
import type { RtdwConfig } from '../../schemas/config.js';
import type { AdEvent } from '../../schemas/events.js';
import { createKafka } from '../kafka/client.js';
import { produceRequests, type TopicRecord } from '../kafka/produce-requests.js';
import type { Logger } from '../observability/logger.js';

export function eventLogTopic(namespace: string): string {
  return `${namespace}.ods_events`;
}

const MURMUR2_M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of the key's UTF-8 bytes. */
export function murmur2(key: string): number {
  // Device ids are ASCII: their UTF-16 units are their bytes, no buffer needed.
  const ascii = /^[\x00-\x7f]*$/.test(key);
  const data = ascii ? undefined : Buffer.from(key, 'utf8');
  const byte = data === undefined ? (i: number) => key.charCodeAt(i) : (i: number) => data[i] as number;
  const length = data === undefined ? key.length : data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = byte(i) | (byte(i + 1) << 8) | (byte(i + 2) << 16) | (byte(i + 3) << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> 24;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= byte(whole + 2) << 16;
  if (rest >= 2) h ^= byte(whole + 1) << 8;
  if (rest >= 1) h = Math.imul(h ^ byte(whole), MURMUR2_M);
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner gives a keyed record. */
export function keyPartition(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

const byDevice: ICustomPartitioner = () => ({ partitionMetadata, message }) => keyPartition(String(message.key), partitionMetadata.length);

export async function connectEventLog(config: RtdwConfig, logger: Logger): Promise<Producer> {
  const producer = createKafka(config, 'generator', logger).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: byDevice,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 10_000 },
  });
  await producer.connect();
  return producer;
}

/** Throws unless the topic exists (created by `rtdw setup`, with the partition count the jobs expect). */
export async function checkEventLogTopic(config: RtdwConfig, logger: Logger, topic: string): Promise<void> {
  const admin = createKafka(config, 'generator-admin', logger).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new Error(`Kafka topic ${topic} does not exist: run \`rtdw setup\` first`);
  } finally {
    await admin.disconnect();
  }
}

/** Sends the events in order, in requests of up to 1,000 messages (kafkajs' cost per message grows with the request). */
export async function writeEvents(producer: Producer, topic: string, events: readonly AdEvent[]): Promise<void> {
  const records: TopicRecord[] = events.map((e) => ({ topic, key: e.device_id, value: JSON.stringify(e) }));
  for (const topicMessages of produceRequests(records)) await producer.sendBatch({ topicMessages, acks: -1 });
}

/**
 * Writes events to the event log `<ns>.ods_events`: one JSON object per message, keyed by
 * device_id, so kafkajs' default partitioner (murmur2, as the Java client's) keeps a device's
 * events in one partition, in the order they are delivered. An idempotent producer: a retried
 * request adds no duplicates besides the model's own.
 */
import type { Producer } from 'kafkajs';
import type { RtdwConfig } from '../../schemas/config.js';
import type { AdEvent } from '../../schemas/events.js';
import { createKafka } from '../kafka/client.js';
import { produceRequests, type TopicRecord } from '../kafka/produce-requests.js';
import type { Logger } from '../observability/logger.js';

export function eventLogTopic(namespace: string): string {
  return `${namespace}.ods_events`;
}

export async function connectEventLog(config: RtdwConfig, logger: Logger): Promise<Producer> {
  const producer = createKafka(config, 'generator', logger).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 10_000 },
  });
  await producer.connect();
  return producer;
}

/** Throws unless the topic exists (created by `rtdw setup`); returns its partition count. */
export async function checkEventLogTopic(config: RtdwConfig, logger: Logger, topic: string): Promise<number> {
  const admin = createKafka(config, 'generator-admin', logger).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new Error(`Kafka topic ${topic} does not exist: run \`rtdw setup\` first`);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** Sends the events in order, in requests of up to 1,000 messages (kafkajs' cost per message grows with the request). */
export async function writeEvents(producer: Producer, topic: string, events: readonly AdEvent[]): Promise<void> {
  const records: TopicRecord[] = events.map((e) => ({ topic, key: e.device_id, value: JSON.stringify(e) }));
  for (const topicMessages of produceRequests(records)) await producer.sendBatch({ topicMessages, acks: -1 });
}

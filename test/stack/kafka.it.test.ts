import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { config, uniqueName } from '../support/stack.js';

describe('local Kafka', () => {
  const kafka = new Kafka({ clientId: 'rtdw-test', brokers: config.kafka.brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  const topic = uniqueName('it_txn');
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('commits a transactional produce that a read_committed consumer sees, and hides an aborted one', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer({ transactionalId: uniqueName('txn'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'a', value: 'aborted' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'k1', value: 'one' }, { key: 'k2', value: 'two' }] });
    await committed.commit();
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('g'), readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; saw ${seen.join(',')}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value));
          if (seen.length === 2) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(seen.sort()).toEqual(['one', 'two']);
  });
});

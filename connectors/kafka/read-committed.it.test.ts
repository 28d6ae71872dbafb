/**
 * read_committed on real Kafka when two producers' transactions are fenced in the opposite order to
 * the one they began in, as happens when a restarted job takes over two partitions: the broker lists
 * the aborted transactions in marker order, which unpatched kafkajs misreads (aborted-transactions.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, uniqueName } from '../../test/support/stack.js';
import { Kafka, logLevel } from './kafkajs.js';
import { readToEnd } from './read-to-end.js';

const kafka = new Kafka({ clientId: 'rtdw-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const topic = uniqueName('it_fenced');

describe('read_committed after interleaved fenced transactions', () => {
  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const ids = { first: uniqueName('txn_first'), second: uniqueName('txn_second') };
    const open = async (id: string) => {
      const producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      return producer;
    };
    // Two owners write open transactions: 'first' at offsets 0-2, 'second' at 3-5.
    const stale = { first: await open(ids.first), second: await open(ids.second) };
    const staleFirst = await stale.first.transaction();
    await staleFirst.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `stale-first-${i}` })) });
    const staleSecond = await stale.second.transaction();
    await staleSecond.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `stale-second-${i}` })) });
    // New owners fence them, 'second' first: its abort marker precedes 'first's.
    const next = { second: await open(ids.second), first: await open(ids.first) };
    await (await next.second.transaction()).abort();
    await (await next.first.transaction()).abort();
    for (const [name, producer] of [['second', next.second], ['first', next.first]] as const) {
      const txn = await producer.transaction();
      await txn.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `${name}-${i}` })) });
      await txn.commit();
    }
    for (const producer of [...Object.values(stale), ...Object.values(next)]) await producer.disconnect().catch(() => undefined);
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('a read_committed consumer returns only the committed retries', async () => {
    const seen: string[] = [];
    await readToEnd(kafka, topic, (m) => void seen.push(String(m.value)));
    expect(seen).toEqual(['second-0', 'second-1', 'second-2', 'first-0', 'first-1', 'first-2']);
  });
});

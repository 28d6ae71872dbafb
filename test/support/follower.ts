/** For kill tests: a reader that follows topics for the whole test, and polling on conditions. */
import type { Consumer } from 'kafkajs';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { config, uniqueName } from './stack.js';
import { DeliveredOnce } from '../../connectors/kafka/delivered-once.js';

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });

/** Polls `condition` until it holds; fails with `what` after timeoutMs. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads topics (read_committed) from their start, record by record in order, and knows how far it has read. */
export class Follower {
  /** per topic and partition, the next offset to read (transaction markers count) */
  private readonly next = new Map<string, bigint>();

  private constructor(private readonly consumer: Consumer, private readonly topics: string[]) {}

  /** The topics must exist. */
  static async start(topics: string[], onMessage: (topic: string, key: string | null, value: string) => void): Promise<Follower> {
    const consumer = kafka.consumer({ groupId: uniqueName('follower'), readUncommitted: false, maxWaitTimeInMs: 100, maxBytes: 50 * 1024 * 1024 });
    const follower = new Follower(consumer, topics);
    const once = new DeliveredOnce();
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }: { payload: { topic: string; partition: number; lastOffset: string } }) => {
      follower.next.set(`${payload.topic}:${payload.partition}`, BigInt(payload.lastOffset) + 1n);
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (once.take(batch.topic, batch.partition, m.offset)) onMessage(batch.topic, m.key?.toString() ?? null, String(m.value));
      },
    });
    return follower;
  }

  /** Everything committed so far has been read. */
  async caughtUp(): Promise<boolean> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const topic of this.topics) {
        for (const o of await admin.fetchTopicOffsets(topic)) {
          if (BigInt(o.high) > BigInt(o.low) && (this.next.get(`${topic}:${o.partition}`) ?? 0n) < BigInt(o.high)) return false;
        }
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** Creates topics (or finds them) so that a Follower can subscribe before the connector creates them. */
export async function createTopics(topics: Array<{ topic: string; partitions: number }>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions })) });
  } finally {
    await admin.disconnect();
  }
}

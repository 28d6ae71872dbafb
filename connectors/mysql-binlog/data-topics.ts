/** The topics the connector writes rows to: created when first needed, each with the batch size it allows. */
import type { Kafka } from 'kafkajs';
import { ConfigResourceTypes } from '../kafka/kafkajs.js';
import { ensureTopics } from '../kafka/topics.js';

/**
 * A Kafka record batch may not exceed its topic's max.message.bytes; the batches of one partition go in
 * successive Produce requests, so bigger batches mean fewer round trips. Headroom for the batch header
 * and the 12 bytes of log overhead the broker counts too.
 */
const BATCH_HEADROOM_BYTES = 4096;
/** For topics whose limit is not known: Kafka's default message.max.bytes (1,048,588) less headroom. */
const DEFAULT_BATCH_BYTES = 1_048_588 - BATCH_HEADROOM_BYTES;

export class DataTopics {
  /** Topics known to exist, with the record batch size their max.message.bytes allows. */
  private readonly known = new Map<string, number>();
  /** ensure() calls, in order */
  private created: Promise<void> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    private readonly partitions: number,
    /** created with one partition */
    private readonly deadLetterTopic: string,
  ) {}

  readonly batchBytes = (topic: string): number => this.known.get(topic) ?? DEFAULT_BATCH_BYTES;

  /** Creates the missing ones, one call after the other (batches encoded ahead ask for the same new topics). */
  ensure(topics: string[]): Promise<void> {
    const run = this.created.then(() => this.createMissing(topics));
    this.created = run.catch(() => undefined);
    return run;
  }

  private async createMissing(topics: string[]): Promise<void> {
    const missing = topics.filter((t) => !this.known.has(t));
    if (missing.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, missing.map((topic) => ({ topic, partitions: topic === this.deadLetterTopic ? 1 : this.partitions })));
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: missing.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
      });
      for (const resource of described.resources) {
        const limit = Number(resource.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
        this.known.set(resource.resourceName, Number.isFinite(limit) && limit > 2 * BATCH_HEADROOM_BYTES ? limit - BATCH_HEADROOM_BYTES : DEFAULT_BATCH_BYTES);
      }
    } finally {
      await admin.disconnect();
    }
  }
}

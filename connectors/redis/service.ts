/**
 * `rtdw redis-sink`: window results on Kafka (records.ts) → Redis (sink.ts), at least once with
 * idempotent writes, so effectively once. A fetched batch is parsed and encoded, written to Redis
 * in one pipelined `write`, and its offsets are committed only after Redis acknowledged every
 * write and the dead letters reached Kafka: a kill at any point replays uncommitted records, whose
 * versions (their offsets) make the replay change nothing that already landed. Reads
 * read_committed, so the results of aborted job transactions never reach a screen.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { readWatermarkMarker, type WatermarkMarker } from '../../jobs/runtime/watermark-marker.js';
import type { RedisLayout } from '../../schemas/redis-keys.js';
import { observeConsumer } from '../observability/consumer.js';
import { addReadinessCheck } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import type { RedisSinkOptions } from './config.js';
import { encodeScreenRecord, type RedisWrite } from './encoder.js';
import { redisSinkMetrics } from './metrics.js';
import { parseScreenRecord } from './records.js';
import type { RedisSink } from './sink.js';

export interface WrittenBatch {
  topic: string;
  partition: number;
  /** Kafka timestamps (ms) of the records whose writes Redis acknowledged */
  timestamps: number[];
  /** when Redis acknowledged them (ms) */
  ackedAt: number;
}

/** How far the jobs behind the sink's topics are complete, from the watermark markers they forward. */
export interface ScreenProgress {
  /**
   * A marker read on `topic`, told only once every write before it was acknowledged: the jobs whose
   * watermark moved, for `<ns>:watermark`.
   */
  onMarker(topic: string, partition: number, producer: string, watermark: number | null): Array<{ job: string; watermark: number }>;
}

export interface RedisSinkServiceOptions extends Pick<RedisSinkOptions, 'topics' | 'groupId' | 'deadLetterTopic'> {
  layout: RedisLayout;
  /** Told of every batch Redis acknowledged, before its offsets are committed (freshness measurements). */
  onWritten?: (batch: WrittenBatch) => void;
  /** Per topic, how a row of it becomes a screen record (a table's rows, e.g. dim_blacklist); other topics carry records. */
  recordOf?: ReadonlyMap<string, (row: unknown) => unknown>;
  progress?: ScreenProgress;
}

function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string): { key: Buffer | null; value: string } {
  return {
    key: message.key,
    value: JSON.stringify({ reason, topic, partition, offset: message.offset, value: message.value?.toString('base64') ?? null }),
  };
}

export class RedisSinkService {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly metrics = redisSinkMetrics();
  private unobserve: Array<() => void> = [];

  constructor(
    private readonly kafka: Kafka,
    private readonly sink: RedisSink,
    private readonly options: RedisSinkServiceOptions,
    private readonly log: Logger,
  ) {
    this.consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false, allowAutoTopicCreation: false, maxBytes: 16 * 1024 * 1024 });
    this.producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  }

  /** Joins the group and starts consuming; resolves once the consumer runs. */
  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = [...this.options.topics, this.options.deadLetterTopic].filter((t) => !existing.has(t));
      if (missing.length > 0) throw new Error(`topics ${missing.join(', ')} do not exist: create them first (rtdw setup)`);
    } finally {
      await admin.disconnect();
    }
    await this.producer.connect();
    await this.consumer.connect();
    for (const topic of this.options.topics) await this.consumer.subscribe({ topic, fromBeginning: true });
    this.unobserve = [
      observeConsumer(this.kafka, this.consumer, { groupId: this.options.groupId, topics: this.options.topics }),
      addReadinessCheck('redis', () => (this.sink.connected ? { ok: true, detail: 'connected' } : { ok: false, detail: 'Redis connection down: writes are held and retried' })),
    ];
    this.consumer.on(this.consumer.events.CRASH, ({ payload }: { payload: { error: Error } }) => {
      this.log.error({ err: payload.error.message }, 'consumer crashed; uncommitted records are read again');
    });
    await this.consumer.run({
      autoCommit: false,
      // Batches of different partitions hold different keys: written side by side, their calls share pipelines.
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.log.info({ topics: this.options.topics, group: this.options.groupId }, 'redis sink consuming');
  }

  /** Stops after the batches in flight; a batch held by a Redis outage is abandoned, uncommitted. */
  async stop(): Promise<void> {
    this.sink.stopRetrying();
    await this.consumer.disconnect();
    for (const remove of this.unobserve) remove();
    await this.producer.disconnect();
    await this.sink.close();
  }

  /** `<ns>:watermark` moves after the writes the markers vouch for were acknowledged, never before. */
  private async advanceWatermarks(topic: string, partition: number, markers: readonly WatermarkMarker[], heartbeat: () => Promise<void>): Promise<void> {
    const progress = this.options.progress;
    if (progress === undefined || markers.length === 0) return;
    const moved = new Map<string, number>();
    for (const m of markers) for (const { job, watermark } of progress.onMarker(topic, partition, m.producer, m.watermark)) moved.set(job, watermark);
    if (moved.size === 0) return;
    const writes = [...moved].flatMap(([job, watermark]) => encodeScreenRecord(parseScreenRecord({ kind: 'watermark', job, watermark }), 0, this.options.layout));
    const outcome = await this.sink.write(writes, { beforeRetry: heartbeat });
    for (const r of outcome.rejected) this.log.error({ reason: r.reason }, 'Redis refused a watermark write');
  }

  private async onBatch({ batch, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    const writes: RedisWrite[] = [];
    /** message index of each write */
    const owners: number[] = [];
    const dead: Array<{ key: Buffer | null; value: string }> = [];
    /** watermark markers, in order: progress, not results, applied once the writes before them landed */
    const markers: WatermarkMarker[] = [];
    const recordOf = this.options.recordOf?.get(batch.topic);
    batch.messages.forEach((message, i) => {
      try {
        const marker = readWatermarkMarker(message);
        if (marker !== undefined) {
          markers.push(marker);
          return;
        }
        if (message.value === null) throw new Error('record without a value');
        let json: unknown;
        try {
          json = JSON.parse(message.value.toString());
        } catch (err) {
          throw new Error(`not JSON: ${(err as Error).message}`);
        }
        const record = parseScreenRecord(recordOf === undefined ? json : recordOf(json));
        for (const write of encodeScreenRecord(record, Number(message.offset), this.options.layout)) {
          writes.push(write);
          owners.push(i);
        }
      } catch (err) {
        dead.push(deadLetter(batch.topic, batch.partition, message, (err as Error).message));
      }
    });
    const outcome = await this.sink.write(writes, { beforeRetry: heartbeat });
    const ackedAt = Date.now();
    const refused = new Map<number, string>();
    for (const r of outcome.rejected) refused.set(owners[r.index]!, r.reason);
    for (const [i, reason] of refused) dead.push(deadLetter(batch.topic, batch.partition, batch.messages[i]!, `Redis refused the write: ${reason}`));
    if (dead.length > 0) {
      await this.producer.send({ topic: this.options.deadLetterTopic, acks: -1, messages: dead });
      this.metrics.deadLetters.inc(dead.length);
      this.log.warn({ topic: batch.topic, partition: batch.partition, count: dead.length }, 'records dead-lettered');
    }
    await this.advanceWatermarks(batch.topic, batch.partition, markers, heartbeat);
    const timestamps = [...new Set(owners)].map((i) => Number(batch.messages[i]!.timestamp));
    for (const t of timestamps) this.metrics.freshness.observe(Math.max(0, ackedAt - t) / 1000);
    this.options.onWritten?.({ topic: batch.topic, partition: batch.partition, timestamps, ackedAt });
    // After a rebalance the partition's new owner reads from the last commit; committing now would fail.
    if (isStale()) return;
    await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
    await heartbeat();
  }
}

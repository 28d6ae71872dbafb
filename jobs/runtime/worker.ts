/**
 * Runs a stage on Kafka with exactly-once semantics. Workers of one job form a consumer group;
 * Kafka spreads the input partitions over them. For each owned partition:
 * - state is restored from the partition's slice of a compacted changelog topic before any record;
 * - a transactional producer with an id fixed per input partition (so a new owner fences the old
 *   one before it reads the state, the pre-KIP-447 pattern kafkajs supports) carries outputs, state
 *   changes and the consumer offset of a checkpoint in one transaction.
 * A kill -9 at any point therefore resumes from a checkpoint whose state, offsets and outputs agree,
 * and a restarted run writes exactly what an uninterrupted one would. A transaction that fails
 * (fenced, timed out by the broker) rewinds its partition the same way, without a restart.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer, Transaction } from 'kafkajs';
import type { Logger } from '../../connectors/observability/logger.js';
import { produceRequests } from '../../connectors/kafka/produce-requests.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { observeConsumer } from '../../connectors/observability/consumer.js';
import { countEmitted, forgetPartition, runtimeMetrics } from './metrics.js';
import { MIN_TIMESTAMP } from './core/index.js';
import { changelogTopic, producerId, type Emitted, type PartitionProcessor, type StageSpec } from './stage.js';
import { readWatermarkMarker, watermarkMarkers } from './watermark-marker.js';

/**
 * Changelog key of the next input offset, written in the same transaction as the state: the
 * authoritative resume point. (The group's committed offset can read stale right after a commit,
 * since kafkajs cannot ask for stable offsets, KIP-447's require_stable.)
 */
const OFFSET_KEY = '\u0000offset';

/** Transactional id of a stage's task for one input partition: fixed, so a new owner fences the old one. */
export function transactionalId(spec: StageSpec, partition: number): string {
  return `rtdw-${spec.name}-${spec.input}-${partition}`;
}

/** What a task's transaction was doing when it failed (the label of the failure metric). */
type TransactionStep = 'batch' | 'checkpoint' | 'idle';

interface PartitionTask {
  partition: number;
  processor: PartitionProcessor;
  producer: Producer;
  transaction: Transaction | undefined;
  /** offset of the next record to read, once the open transaction commits */
  nextOffset: string | undefined;
  /** offset of the next record to read after the last committed checkpoint: where a failed transaction rewinds the consumer */
  committed: bigint;
  /**
   * Records below this offset are already in the task's state: restored ones (a batch fetched before
   * a rebalance starts at the group's possibly stale committed offset) and processed ones (a fetch
   * position reset without a rebalance must not feed them twice).
   */
  position: bigint;
  lastCommit: number;
  /** serialises batches and timer-driven commits of this partition */
  queue: Promise<unknown>;
  timer: NodeJS.Timeout | undefined;
  /** processing time of the last input record (or of the task's start) */
  lastRecordAt: number;
  /** the last fetch reached the end of the input partition (an idle source must have nothing left to read) */
  caughtUp: boolean;
  /** the watermark last forwarded downstream, and whether downstream was told this task is idle */
  forwarded: number;
  idle: boolean;
}

export interface WorkerOptions {
  /** Bounds on what one fetch brings per partition (backpressure: a batch is processed before the next fetch). */
  maxBytesPerPartition?: number;
  /** Upstream tasks forwarding watermarks into the input (see job.ts); none for a source stage. */
  upstream?: readonly string[];
}

export class StageWorker {
  private readonly tasks = new Map<number, PartitionTask>();
  private readonly opening = new Map<number, Promise<PartitionTask | undefined>>();
  /** counts rebalances: a task whose opening spans one is not used */
  private generation = 0;
  /** internal topics this stage feeds, which receive its watermark */
  private readonly watermarkOutputs: ReadonlyArray<{ topic: string; partitions: number }>;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly groupId: string;
  private readonly changelog: string;
  private readonly metrics = runtimeMetrics();
  private consumer: Consumer | undefined;
  private unobserve: (() => void) | undefined;
  private admin: Admin | undefined;
  /** set by stop(): a failed task is no longer reopened */
  private stopping = false;
  /** failed transactions per partition since its last checkpoint: a task that keeps failing is reopened ever later */
  private readonly failures = new Map<number, number>();

  constructor(private readonly kafka: Kafka, private readonly spec: StageSpec, private readonly log: Logger, private readonly options: WorkerOptions = {}) {
    this.groupId = `rtdw-${spec.name}`;
    this.changelog = changelogTopic(spec);
    this.watermarkOutputs = spec.outputs.filter((o) => o.forwardWatermarks === true);
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    this.admin = admin;
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [this.spec.input] });
    const partitions = meta.topics[0]?.partitions.length ?? 0;
    if (partitions === 0) throw new Error(`input topic ${this.spec.input} does not exist`);
    // The changelog mirrors the input's partitioning: partition p's state lives in changelog partition p.
    await ensureTopics(admin, [...this.spec.outputs, { topic: this.changelog, partitions, config: { 'cleanup.policy': 'compact' } }]);
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1024 * 1024,
      // A killed worker's partitions move after 10 s without heartbeats.
      sessionTimeout: 10_000,
      heartbeatInterval: 3000,
      // Any failure rebuilds the partitions from their changelog and resumes from the committed offsets.
      retry: { retries: 10, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    this.unobserve = observeConsumer(this.kafka, consumer, { groupId: this.groupId, topics: [this.spec.input] });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }: { payload: { memberAssignment: Record<string, number[]> } }) => {
      // After a rebalance the consumer resumes every partition, kept ones too, from its committed
      // offset: uncommitted work is aborted and state rebuilt from the changelog to match.
      this.generation += 1;
      for (const partition of [...this.tasks.keys()]) this.retire(partition, 'rebalance');
      const assigned = payload.memberAssignment[this.spec.input] ?? [];
      this.log.info({ stage: this.spec.name, partitions: assigned }, 'partitions assigned');
      // Opened now rather than at their first record, so a partition without records can go idle.
      for (const partition of assigned) {
        this.ensureTask(partition).catch((err: unknown) => this.log.warn({ err: (err as Error).message, partition }, 'opening a partition task failed; retried at its next batch'));
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }: { payload: { error: Error } }) => {
      this.log.error({ err: payload.error.message }, 'consumer crashed; state is rebuilt from the changelog on restart');
      for (const partition of [...this.tasks.keys()]) this.retire(partition, 'crash');
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }: { payload: { topic: string; partition: number; offsetLag: string; batchSize: number; lastOffset: string } }) => {
      // Also reported for batches holding only transaction markers or aborted records.
      const task = payload.topic === this.spec.input ? this.tasks.get(payload.partition) : undefined;
      if (task === undefined) return;
      task.caughtUp = BigInt(payload.offsetLag) <= 0n;
      // kafkajs hands batches of control records alone to no eachBatch: the committed offset must
      // still move past them, or a caught-up partition shows a lag of one marker forever.
      if (payload.batchSize === 0) this.passControlRecords(task, BigInt(payload.lastOffset) + 1n);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.spec.input, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are processed side by side (each task serialises its own batches), so one
      // partition's large batch does not starve the others into looking idle.
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
    const idleTimeoutMs = this.spec.idleTimeoutMs;
    const source = (this.options.upstream ?? []).length === 0;
    if (idleTimeoutMs !== undefined && source && this.watermarkOutputs.length > 0) {
      this.idleTimer = setInterval(() => this.markIdleTasks(idleTimeoutMs), Math.min(1000, Math.max(10, idleTimeoutMs / 4)));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.idleTimer !== undefined) clearInterval(this.idleTimer);
    await this.consumer?.stop();
    this.log.debug({ stage: this.spec.name }, 'consumer stopped; committing open checkpoints');
    // Tasks still opening finish first, so none is left behind with a live producer.
    await Promise.allSettled(this.opening.values());
    for (const task of this.tasks.values()) await this.enqueue(task, () => this.commit(task));
    for (const partition of [...this.tasks.keys()]) await this.dropTask(partition, 'stopped');
    await this.consumer?.disconnect();
    this.unobserve?.();
    await this.admin?.disconnect();
  }

  private enqueue<T>(task: PartitionTask, work: () => Promise<T>): Promise<T> {
    const run = task.queue.then(work, work);
    task.queue = run.catch(() => undefined);
    return run;
  }

  private async onBatch({ batch, isRunning, isStale, heartbeat, resolveOffset }: EachBatchPayload): Promise<void> {
    // Fetched before a rewind of its partition (a seek kafkajs applies at the next fetch): read again from there.
    if (isStale()) return;
    const task = await this.ensureTask(batch.partition);
    // Rebalanced while the task opened: the batch is fetched again if the partition is still ours.
    if (task === undefined) return;
    // A failure is logged and rewound by transact(). Not rethrown: kafkajs would stop the consumer
    // for good on a non-retriable error such as a fenced producer.
    await this.transact(task, 'batch', async () => {
      // Retired while this batch waited (a rebalance or a failure): the partition's next batch opens a fresh task.
      if (this.tasks.get(batch.partition) !== task) return;
      const out: Emitted[] = [];
      let last: string | undefined;
      let whole = true;
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) {
          whole = false;
          break;
        }
        if (BigInt(message.offset) < task.position) continue;
        const marker = readWatermarkMarker(message);
        const emitted = marker === undefined ? task.processor.onRecord(message) : task.processor.onWatermark(marker.producer, marker.watermark);
        for (const e of emitted) out.push(e);
        last = message.offset;
      }
      if (last === undefined) return;
      // A whole batch also covers the control records (transaction markers) after its last record.
      if (whole && BigInt(batch.lastOffset()) > BigInt(last)) last = batch.lastOffset();
      task.position = BigInt(last) + 1n;
      task.lastRecordAt = Date.now();
      this.metrics.recordsIn.inc({ stage: this.spec.name }, batch.messages.length);
      for (const e of this.forwardWatermark(task)) out.push(e);
      task.transaction ??= await task.producer.transaction();
      for (const topicMessages of produceRequests(out)) await task.transaction.sendBatch({ acks: -1, topicMessages });
      countEmitted(this.spec.name, out);
      task.nextOffset = (BigInt(last) + 1n).toString();
      // Moves only the fetch position (autoCommit is off): unresolved records would be fetched
      // again and processed twice. The committed offset travels in the transaction; if it never
      // commits, rewind() moves the fetch position back to the last one that did.
      resolveOffset(last);
      if (Date.now() - task.lastCommit >= (this.spec.checkpointIntervalMs ?? 1000)) await this.commit(task);
      else this.scheduleCommit(task);
    }).catch(() => undefined);
    // Outside the transaction: a rebalance it reports retires the task and resumes from the committed offsets anyway.
    await heartbeat();
  }

  /**
   * Runs one step of a task's transaction in the task's queue. If it fails, the transaction's work
   * (the records read since the last checkpoint, their outputs and state) is lost: the partition is
   * rewound to its last checkpoint before anything else of the task runs, and the error rethrown.
   */
  private transact(task: PartitionTask, step: TransactionStep, work: () => Promise<void>): Promise<void> {
    return this.enqueue(task, async () => {
      try {
        await work();
      } catch (err) {
        await this.rewind(task, step, err);
        throw err;
      }
    });
  }

  /** Moves the task's offsets past control records that carry no data, committed at the next checkpoint. */
  private passControlRecords(task: PartitionTask, next: bigint): void {
    this.transact(task, 'batch', async () => {
      if (this.tasks.get(task.partition) !== task || next <= task.position) return;
      task.position = next;
      task.nextOffset = next.toString();
      task.transaction ??= await task.producer.transaction();
      this.scheduleCommit(task);
    }).catch(() => undefined);
  }

  private scheduleCommit(task: PartitionTask): void {
    if (task.timer !== undefined) return;
    task.timer = setTimeout(() => {
      task.timer = undefined;
      // A failure is logged and rewound by transact().
      this.transact(task, 'checkpoint', () => this.commit(task)).catch(() => undefined);
    }, this.spec.checkpointIntervalMs ?? 1000);
  }

  /**
   * Markers of this task's watermark for the stages it feeds, after the records they cover, when
   * it moved (or the task was idle: a marker makes it active again downstream).
   */
  private forwardWatermark(task: PartitionTask): Emitted[] {
    if (this.watermarkOutputs.length === 0) return [];
    const producer = producerId(this.spec.name, task.partition);
    const watermark = task.processor.outputWatermark();
    const idle = task.processor.isIdle();
    const out: Emitted[] = [];
    if (watermark !== MIN_TIMESTAMP && (watermark > task.forwarded || (task.idle && !idle))) {
      task.forwarded = watermark;
      task.idle = false;
      out.push(...watermarkMarkers({ producer, watermark }, this.watermarkOutputs));
    }
    // After the watermark: when the last input turns idle its flushed watermark goes first.
    if (idle && !task.idle) {
      task.idle = true;
      out.push(...watermarkMarkers({ producer, watermark: null }, this.watermarkOutputs));
    }
    return out;
  }

  /**
   * Processing-time idleness (Flink's withIdleness): a task without input for the timeout tells
   * the stages it feeds to leave it out of their watermark until its next marker.
   */
  private markIdleTasks(idleTimeoutMs: number): void {
    const now = Date.now();
    for (const task of this.tasks.values()) {
      if (task.idle || !task.caughtUp || now - task.lastRecordAt < idleTimeoutMs) continue;
      // A failure is logged and rewound by transact().
      this.transact(task, 'idle', async () => {
        if (task.idle || !task.caughtUp || this.tasks.get(task.partition) !== task || Date.now() - task.lastRecordAt < idleTimeoutMs) return;
        task.transaction ??= await task.producer.transaction();
        for (const topicMessages of produceRequests(watermarkMarkers({ producer: producerId(this.spec.name, task.partition), watermark: null }, this.watermarkOutputs))) {
          await task.transaction.sendBatch({ acks: -1, topicMessages });
        }
        task.idle = true;
        await this.commit(task);
        this.log.info({ stage: this.spec.name, partition: task.partition, idleMs: Date.now() - task.lastRecordAt }, 'partition idle: downstream watermarks no longer wait for it');
      }).catch(() => undefined);
    }
  }

  /** A checkpoint: state changes and the next offset join the open transaction, which commits. */
  private async commit(task: PartitionTask): Promise<void> {
    if (task.transaction === undefined || this.tasks.get(task.partition) !== task) return;
    const started = process.hrtime.bigint();
    const changes = task.processor.changes();
    if (task.nextOffset !== undefined) changes.push([OFFSET_KEY, task.nextOffset]);
    if (changes.length > 0) {
      await task.transaction.send({
        topic: this.changelog,
        acks: -1,
        messages: changes.map(([key, value]) => ({ key, value, partition: task.partition })),
      });
    }
    if (task.nextOffset !== undefined) {
      await task.transaction.sendOffsets({
        consumerGroupId: this.groupId,
        topics: [{ topic: this.spec.input, partitions: [{ partition: task.partition, offset: task.nextOffset }] }],
      });
    }
    await task.transaction.commit();
    task.transaction = undefined;
    if (task.nextOffset !== undefined) task.committed = BigInt(task.nextOffset);
    task.lastCommit = Date.now();
    this.failures.delete(task.partition);
    const stats = task.processor.stats();
    const labels = { stage: this.spec.name, partition: String(task.partition) };
    this.metrics.commitSeconds.observe({ stage: this.spec.name }, Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.stateKeys.set(labels, stats.stateKeys);
    this.metrics.watermark.set(labels, stats.watermark);
    if (stats.watermark !== MIN_TIMESTAMP) this.metrics.watermarkLag.set(labels, (task.lastCommit - stats.watermark) / 1000);
    this.metrics.lateRecords.set(labels, stats.late);
    this.metrics.lastCheckpoint.set(labels, task.lastCommit / 1000);
  }

  /**
   * The partition's task, opening it (once, however many callers ask at the same time) if needed;
   * undefined when a rebalance happened meanwhile.
   */
  private ensureTask(partition: number, delayMs = 0): Promise<PartitionTask | undefined> {
    const task = this.tasks.get(partition);
    if (task !== undefined) return Promise.resolve(task);
    let opening = this.opening.get(partition);
    if (opening === undefined) {
      const delayed = delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, delayMs)) : Promise.resolve();
      opening = delayed.then(() => this.openTask(partition)).finally(() => this.opening.delete(partition));
      this.opening.set(partition, opening);
    }
    return opening;
  }

  private async openTask(partition: number): Promise<PartitionTask | undefined> {
    const started = Date.now();
    const generation = this.generation;
    const producer = this.kafka.producer({ transactionalId: transactionalId(this.spec, partition), idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    // Fence before reading the changelog: InitProducerId with the transactional id bumps the epoch, so
    // any previous owner can no longer commit, and completes or aborts its open transaction. kafkajs
    // sends it at the first transaction, not at connect: begin one, then abort it (nothing sent).
    await (await producer.transaction()).abort();
    const state = new Map<string, string>();
    await readToEnd(this.kafka, this.changelog, (message) => {
      const key = message.key?.toString();
      if (key === undefined) return;
      if (message.value === null) state.delete(key);
      else state.set(key, message.value.toString());
    }, { partition });
    const committedOffset = BigInt(state.get(OFFSET_KEY) ?? '0');
    // Until a fetch reports otherwise: caught up when nothing lies past the resume point (e.g. a partition never written).
    const end = (await (this.admin as Admin).fetchTopicOffsets(this.spec.input)).find((o) => o.partition === partition);
    const caughtUp = end !== undefined && BigInt(end.high) <= committedOffset;
    const position = committedOffset;
    state.delete(OFFSET_KEY);
    if (generation !== this.generation) {
      // The partition may belong to another worker now: a stale task must never write (its idle markers would be wrong).
      await producer.disconnect().catch(() => undefined);
      return undefined;
    }
    const processor = this.spec.createProcessor({ partition, upstream: this.options.upstream ?? [] });
    processor.restore(state);
    const task: PartitionTask = { partition, processor, producer, transaction: undefined, nextOffset: undefined, committed: committedOffset, position, lastCommit: Date.now(), queue: Promise.resolve(), timer: undefined, lastRecordAt: Date.now(), caughtUp, forwarded: MIN_TIMESTAMP, idle: false };
    this.tasks.set(partition, task);
    this.metrics.restores.inc({ stage: this.spec.name });
    this.log.info({ stage: this.spec.name, partition, stateEntries: state.size, committedOffset: committedOffset.toString(), ms: Date.now() - started }, 'partition state restored');
    return task;
  }

  /**
   * Forgets a task at once (the next batch of its partition opens a fresh one, whose producer fences
   * this one) and aborts its work after whatever it is doing now.
   */
  private retire(partition: number, why: string): void {
    const task = this.tasks.get(partition);
    if (task === undefined) return;
    this.tasks.delete(partition);
    void this.enqueue(task, () => this.close(task, why)).catch(() => undefined);
  }

  private async close(task: PartitionTask, why: string): Promise<void> {
    if (task.timer !== undefined) clearTimeout(task.timer);
    await task.transaction?.abort().catch(() => undefined);
    task.transaction = undefined;
    await task.producer.disconnect().catch(() => undefined);
    forgetPartition(this.spec.name, task.partition);
    this.log.info({ stage: this.spec.name, partition: task.partition, why }, 'partition task closed');
  }

  /**
   * After a failed transaction: the records read since the last checkpoint were resolved (the fetch
   * position is past them) but their work is aborted, so the partition's fetch position moves back
   * to the last committed offset. kafkajs applies a seek at the partition's next fetch and reports
   * batches fetched before it as stale (onBatch skips them); the fresh task, opened at once so that
   * a partition with nothing left to read can still go idle, resumes from the changelog's offset
   * and skips any record below it. A task already retired needs none of this: the rebalance that
   * retired it resumes every partition from its committed offset. A partition that fails again
   * before a checkpoint succeeds is reopened after a growing delay (at most 2 s, well inside the
   * session timeout, since its batches wait for the opening).
   */
  private async rewind(task: PartitionTask, step: TransactionStep, err: unknown): Promise<void> {
    if (this.tasks.get(task.partition) !== task) return;
    this.tasks.delete(task.partition);
    const failures = (this.failures.get(task.partition) ?? 0) + 1;
    this.failures.set(task.partition, failures);
    const delayMs = failures === 1 ? 0 : Math.min(2000, 100 * 2 ** (failures - 1));
    this.metrics.transactionFailures.inc({ stage: this.spec.name, step });
    this.log.error({ err: err instanceof Error ? err.message : String(err), stage: this.spec.name, partition: task.partition, step, rewindTo: task.committed.toString(), failures, delayMs }, 'transaction failed; reading the partition again from its last checkpoint');
    this.consumer?.seek({ topic: this.spec.input, partition: task.partition, offset: task.committed.toString() });
    await this.close(task, `${step} failed`);
    if (this.stopping) return;
    this.ensureTask(task.partition, delayMs).catch((openErr: unknown) => this.log.warn({ err: (openErr as Error).message, partition: task.partition }, 'reopening a partition task failed; retried at its next batch'));
  }

  private async dropTask(partition: number, why: string): Promise<void> {
    const task = this.tasks.get(partition);
    if (task === undefined) return;
    this.tasks.delete(partition);
    await this.close(task, why);
  }
}

/**
 * A stage of a job: one input topic, a processor per input partition, output topics.
 * Keyed state is per input partition, so a partition's state moves with the partition.
 * Stages chain through internal topics keyed by the next stage's key (repartitioning); the
 * watermark crosses them as marker records (watermark-marker.ts).
 */
import type { KafkaMessage } from 'kafkajs';
import type { TopicSpec } from '../../connectors/kafka/topics.js';

/** A record a processor emits. partition: omitted = Kafka's default partitioner (murmur2) on the key. */
export interface Emitted {
  topic: string;
  key: string | null;
  value: string | null;
  partition?: number;
  headers?: Record<string, string>;
}

/** One changelog entry: a state key and its JSON, or null when the key no longer has state. */
export type StateChange = readonly [stateKey: string, json: string | null];

export interface ProcessorStats {
  /** changelog records holding the state */
  stateKeys: number;
  watermark: number;
  late: number;
}

export interface PartitionProcessor {
  /** One input record; may emit records (results, late data, dead letters). */
  onRecord(message: KafkaMessage): Emitted[];
  /** The watermark of an upstream task (null: that task went idle); may fire windows. */
  onWatermark(producer: string, watermark: number | null): Emitted[];
  /** The event-time watermark this task has reached, which it forwards to the stages it feeds. */
  outputWatermark(): number;
  /** Every upstream task is idle, so this task is too (a source stage's idleness is the worker's call). */
  isIdle(): boolean;
  /** State changed since the last call, to append to the changelog at a checkpoint. */
  changes(): StateChange[];
  /** Rebuild from the changelog (latest JSON per state key). */
  restore(state: ReadonlyMap<string, string>): void;
  stats(): ProcessorStats;
}

export interface StageContext {
  partition: number;
  /**
   * The upstream tasks ("<stage>/<partition>") whose watermarks combine into this stage's input
   * watermark; empty when the input is a source topic, whose watermark the stage generates itself.
   */
  upstream: readonly string[];
}

export interface StageOutput extends TopicSpec {
  /** An internal topic feeding another stage: every partition receives this stage's watermark. */
  forwardWatermarks?: boolean;
}

export interface StageSpec {
  /** Stage name: consumer group, transactional ids and changelog topic derive from it. */
  name: string;
  input: string;
  /** Topics the stage writes (created if missing). */
  outputs: StageOutput[];
  createProcessor(context: StageContext): PartitionProcessor;
  /** How often a partition commits its transaction (outputs + changelog + offsets). */
  checkpointIntervalMs?: number;
  /**
   * For a source stage: processing time without input records, once caught up with its input
   * partition, after which a task tells the stages it feeds that it is idle, so it stops holding
   * their watermark back (Flink's WatermarkStrategy.withIdleness). Omitted: never idle. Stages
   * behind internal topics are idle exactly when all their upstream tasks are, as in Flink.
   */
  idleTimeoutMs?: number;
}

export function changelogTopic(spec: StageSpec): string {
  return `${spec.name}-changelog`;
}

/** Watermark producer id of a stage's task: unique among all tasks writing to one internal topic. */
export function producerId(stage: string, partition: number): string {
  return `${stage}/${partition}`;
}

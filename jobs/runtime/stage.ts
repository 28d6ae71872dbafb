/**
 * A stage of a job: one input topic, a processor per input partition, output topics.
 * Keyed state is per input partition, so a partition's state moves with the partition.
 */
import type { KafkaMessage } from 'kafkajs';
import type { TopicSpec } from '../../connectors/kafka/topics.js';

/** A record a processor emits. partition: omitted = Kafka's default partitioner on the key. */
export interface Emitted {
  topic: string;
  key: string | null;
  value: string | null;
  partition?: number;
  headers?: Record<string, string>;
}

/** One changelog entry: a state key and its JSON, or null when the key no longer has state. */
export type StateChange = readonly [stateKey: string, json: string | null];

export interface PartitionProcessor {
  /** One input record; may emit records (results, late data, dead letters). */
  onRecord(message: KafkaMessage): Emitted[];
  /** State changed since the last call, to append to the changelog at a checkpoint. */
  changes(): StateChange[];
  /** Rebuild from the changelog (latest JSON per state key). */
  restore(state: ReadonlyMap<string, string>): void;
  /** Gauges for metrics: changelog records of state, the current watermark, late records. */
  stats(): { stateKeys: number; watermark: number; late: number };
}

export interface StageSpec {
  /** Job name: consumer group, transactional ids and changelog topic derive from it. */
  name: string;
  input: string;
  /** Topics the stage writes (created if missing). */
  outputs: TopicSpec[];
  createProcessor(partition: number): PartitionProcessor;
  /** How often a partition commits its transaction (outputs + changelog + offsets). */
  checkpointIntervalMs?: number;
}

export function changelogTopic(spec: StageSpec): string {
  return `${spec.name}-changelog`;
}

/**
 * The changelog interval join (jobs/runtime/core/changelog-interval-join.ts) as a stage: both sides'
 * changes arrive on one internal topic keyed by the join key, dimension rows broadcast to every
 * partition of it (repartitionStage's `broadcast`); results are upserts and deletions keyed by join key,
 * changes older than the state retention go to the late topic.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  ChangelogIntervalJoin,
  type ChangelogIntervalJoinOptions,
  type ChangelogIntervalJoinSnapshot,
  type ChangelogJoinInput,
  type ChangelogJoinOutput,
} from './core/index.js';
import { decodeEnvelope, type Envelope } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

type Result<Out> = Extract<ChangelogJoinOutput<never, never, Out>, { kind: 'upsert' | 'delete' }>;
type Late<L, R> = Extract<ChangelogJoinOutput<L, R, never>, { kind: 'late' }>;

export interface ChangelogJoinStageOptions<L, R, D, Out> {
  join: ChangelogIntervalJoinOptions<L, R, D, Out>;
  /** The change an internal record carries; throwing dead-letters the record. */
  input(key: string, envelope: Envelope): ChangelogJoinInput<L, R, D>;
  output: { topic: string; encode(result: Result<Out>): { key: string; value: string } };
  late: { topic: string; encode(late: Late<L, R>): { key: string; value: string } };
  watermarks: WatermarkSource;
  deadLetterTopic: string;
}

export function changelogJoinStage<L, R, D, Out>(opts: ChangelogJoinStageOptions<L, R, D, Out>): (context: StageContext) => PartitionProcessor {
  return (context) => new ChangelogJoinProcessor(opts, context);
}

class ChangelogJoinProcessor<L, R, D, Out> extends EventTimeProcessor<ChangelogIntervalJoinSnapshot<L, R, D>> {
  private join: ChangelogIntervalJoin<L, R, D, Out>;

  constructor(private readonly opts: ChangelogJoinStageOptions<L, R, D, Out>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.join = new ChangelogIntervalJoin(opts.join);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { key, envelope } = decodeEnvelope(message);
    const outputs = this.join.process(this.opts.input(key, envelope)).map((o): Emitted =>
      o.kind === 'late' ? { topic: this.opts.late.topic, ...this.opts.late.encode(o) } : { topic: this.opts.output.topic, ...this.opts.output.encode(o) },
    );
    return { outputs, timestamp: envelope.t };
  }

  protected advance(watermark: number): Emitted[] {
    // Drops state past the retention; emits nothing (the last results stay current).
    this.join.advanceWatermark(watermark);
    return [];
  }

  protected keyedState(): ChangelogIntervalJoin<L, R, D, Out> {
    return this.join;
  }

  protected restoreState(snapshot: ChangelogIntervalJoinSnapshot<L, R, D>): void {
    this.join = ChangelogIntervalJoin.restore(this.opts.join, snapshot);
  }

  protected lateCount(): number {
    return this.join.lateCount;
  }
}

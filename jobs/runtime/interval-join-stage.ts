/**
 * A keyed interval join (jobs/runtime/core/interval-join.ts) as a stage: both inputs arrive on one
 * internal topic, keyed by the join key and tagged by side, so a partition's record order, and
 * with it the join's output, is fixed by the topic. Late inputs go to the late topic.
 */
import type { KafkaMessage } from 'kafkajs';
import { IntervalJoin, type IntervalJoinOptions, type IntervalJoinSnapshot, type IntervalJoinOutput, type JoinedPair } from './core/index.js';
import { decodeEnvelope } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import { toJson } from './json.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

export interface IntervalJoinStageOptions<L, R> {
  join: IntervalJoinOptions;
  /** Typed values of the two sides; throwing dead-letters the record. */
  left(value: unknown): L;
  right(value: unknown): R;
  output: { topic: string; encode(pair: JoinedPair<L, R>): { key: string; value: string } };
  watermarks: WatermarkSource;
  lateTopic: string;
  deadLetterTopic: string;
}

export function intervalJoinStage<L, R>(opts: IntervalJoinStageOptions<L, R>): (context: StageContext) => PartitionProcessor {
  return (context) => new IntervalJoinProcessor(opts, context);
}

class IntervalJoinProcessor<L, R> extends EventTimeProcessor<IntervalJoinSnapshot<L, R>> {
  private join: IntervalJoin<L, R>;

  constructor(private readonly opts: IntervalJoinStageOptions<L, R>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.join = new IntervalJoin(opts.join);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { key, envelope } = decodeEnvelope(message);
    let outputs: readonly IntervalJoinOutput<L, R>[];
    if (envelope.s === 'left') outputs = this.join.processLeft(key, envelope.t, this.opts.left(envelope.v));
    else if (envelope.s === 'right') outputs = this.join.processRight(key, envelope.t, this.opts.right(envelope.v));
    else throw new Error('join input without a side');
    return {
      outputs: outputs.map((o) =>
        o.kind === 'joined'
          ? { topic: this.opts.output.topic, ...this.opts.output.encode(o) }
          : // Flink drops it silently; here it goes to the late output, counted
            { topic: this.opts.lateTopic, key: o.key, value: toJson({ reason: o.reason, side: o.side, key: o.key, timestamp: o.timestamp, record: o.record }) },
      ),
      timestamp: envelope.t,
    };
  }

  protected advance(watermark: number): Emitted[] {
    this.join.advanceWatermark(watermark);
    return [];
  }

  protected snapshotState(): IntervalJoinSnapshot<L, R> {
    return this.join.snapshot();
  }

  protected restoreState(snapshot: IntervalJoinSnapshot<L, R>): void {
    this.join = IntervalJoin.restore(this.opts.join, snapshot);
  }

  protected lateCount(): number {
    return this.join.lateCount;
  }
}

/**
 * Keyed two-input joins (jobs/runtime/core) as stages: both inputs arrive on one internal topic,
 * keyed by the join key and tagged by side (repartitionStage's `side`), so a partition's record
 * order, and with it the join's output, is fixed by the topic. Late inputs go to the late topic.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  IntervalJoin,
  WindowJoin,
  type AlignedWindows,
  type IntervalJoinOptions,
  type IntervalJoinSnapshot,
  type JoinedPair,
  type WindowJoinSnapshot,
  type WindowJoinedPair,
} from './core/index.js';
import { decodeEnvelope, type JoinSide } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import { toJson } from './json.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

interface JoinStageOptions<L, R, Pair> {
  /** Typed values of the two sides; throwing dead-letters the record. */
  left(value: unknown): L;
  right(value: unknown): R;
  output: { topic: string; encode(pair: Pair): { key: string; value: string } };
  watermarks: WatermarkSource;
  lateTopic: string;
  deadLetterTopic: string;
}

export interface IntervalJoinStageOptions<L, R> extends JoinStageOptions<L, R, JoinedPair<L, R>> {
  join: IntervalJoinOptions;
}

export interface WindowJoinStageOptions<L, R> extends JoinStageOptions<L, R, WindowJoinedPair<L, R>> {
  /** tumbling or sliding windows */
  windows: AlignedWindows;
}

type Joined<L, R, Pair> = Pair | { kind: 'late'; reason: string; key: string; timestamp: number; side: JoinSide; record: L | R };

/** The side a join input record belongs to, with its typed value. */
function sideOf<L, R>(message: KafkaMessage, opts: JoinStageOptions<L, R, unknown>): { key: string; timestamp: number } & ({ side: 'left'; value: L } | { side: 'right'; value: R }) {
  const { key, envelope } = decodeEnvelope(message);
  if (envelope.s === 'left') return { key, timestamp: envelope.t, side: 'left', value: opts.left(envelope.v) };
  if (envelope.s === 'right') return { key, timestamp: envelope.t, side: 'right', value: opts.right(envelope.v) };
  throw new Error('join input without a side');
}

function emit<L, R, Pair extends { kind: 'joined' }>(outputs: ReadonlyArray<Joined<L, R, Pair>>, opts: JoinStageOptions<L, R, Pair>): Emitted[] {
  return outputs.map((o) =>
    o.kind === 'late'
      ? // Flink drops it silently; here it goes to the late output, counted
        { topic: opts.lateTopic, key: o.key, value: toJson({ reason: o.reason, side: o.side, key: o.key, timestamp: o.timestamp, record: o.record }) }
      : { topic: opts.output.topic, ...opts.output.encode(o as Pair) },
  );
}

export function intervalJoinStage<L, R>(opts: IntervalJoinStageOptions<L, R>): (context: StageContext) => PartitionProcessor {
  return (context) => new IntervalJoinProcessor(opts, context);
}

export function windowJoinStage<L, R>(opts: WindowJoinStageOptions<L, R>): (context: StageContext) => PartitionProcessor {
  return (context) => new WindowJoinProcessor(opts, context);
}

class IntervalJoinProcessor<L, R> extends EventTimeProcessor<IntervalJoinSnapshot<L, R>> {
  private join: IntervalJoin<L, R>;

  constructor(private readonly opts: IntervalJoinStageOptions<L, R>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.join = new IntervalJoin(opts.join);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const input = sideOf(message, this.opts);
    const outputs = input.side === 'left' ? this.join.processLeft(input.key, input.timestamp, input.value) : this.join.processRight(input.key, input.timestamp, input.value);
    return { outputs: emit(outputs, this.opts), timestamp: input.timestamp };
  }

  protected advance(watermark: number): Emitted[] {
    // Drops buffered records no later record can join with; emits nothing.
    this.join.advanceWatermark(watermark);
    return [];
  }

  protected keyedState(): IntervalJoin<L, R> {
    return this.join;
  }

  protected restoreState(snapshot: IntervalJoinSnapshot<L, R>): void {
    this.join = IntervalJoin.restore(this.opts.join, snapshot);
  }

  protected lateCount(): number {
    return this.join.lateCount;
  }
}

class WindowJoinProcessor<L, R> extends EventTimeProcessor<WindowJoinSnapshot<L, R>> {
  private join: WindowJoin<L, R>;

  constructor(private readonly opts: WindowJoinStageOptions<L, R>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.join = new WindowJoin({ assigner: opts.windows });
  }

  protected process(message: KafkaMessage): ProcessResult {
    const input = sideOf(message, this.opts);
    const outputs = input.side === 'left' ? this.join.processLeft(input.key, input.timestamp, input.value) : this.join.processRight(input.key, input.timestamp, input.value);
    return { outputs: emit(outputs, this.opts), timestamp: input.timestamp };
  }

  protected advance(watermark: number): Emitted[] {
    return emit(this.join.advanceWatermark(watermark), this.opts);
  }

  protected keyedState(): WindowJoin<L, R> {
    return this.join;
  }

  protected restoreState(snapshot: WindowJoinSnapshot<L, R>): void {
    this.join = WindowJoin.restore({ assigner: this.opts.windows }, snapshot);
  }

  protected lateCount(): number {
    return this.join.lateCount;
  }
}

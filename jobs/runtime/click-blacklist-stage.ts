/**
 * The click blacklist (jobs/runtime/core/click-blacklist.ts) as a stage over an internal topic keyed by
 * user: events of the key's user, and dimension rows broadcast to every partition. Events go to the
 * events topic (a click again when its counted flag changes), blacklist decisions to theirs, events
 * later than the allowed lateness to the late topic, events whose dimension row never came to the
 * dead-letter topic.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  ClickBlacklist,
  type ClickBlacklistOptions,
  type ClickBlacklistOutput,
  type ClickBlacklistSnapshot,
  type TrackedEvent,
} from './core/index.js';
import { decodeEnvelope, type Envelope } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

type Output<P, D, K extends ClickBlacklistOutput<P, D>['kind']> = Extract<ClickBlacklistOutput<P, D>, { kind: K }>;

export type BlacklistInput<P, D> = { kind: 'event'; event: TrackedEvent<P> } | { kind: 'dimension'; id: string; row: D | undefined };

interface Encoder<T> {
  topic: string;
  encode(output: T): { key: string | null; value: string };
}

export interface ClickBlacklistStageOptions<P, D> {
  blacklist: ClickBlacklistOptions;
  /** What an internal record carries; throwing dead-letters the record. */
  input(key: string, envelope: Envelope): BlacklistInput<P, D>;
  events: Encoder<Output<P, D, 'event'>>;
  blacklisted: Encoder<Output<P, D, 'blacklisted'>>;
  late: Encoder<Output<P, D, 'late'>>;
  /** to the dead-letter topic */
  unresolved: { encode(output: Output<P, D, 'unresolved'>): { key: string | null; value: string } };
  watermarks: WatermarkSource;
  deadLetterTopic: string;
}

export function clickBlacklistStage<P, D>(opts: ClickBlacklistStageOptions<P, D>): (context: StageContext) => PartitionProcessor {
  return (context) => new ClickBlacklistProcessor(opts, context);
}

class ClickBlacklistProcessor<P, D> extends EventTimeProcessor<ClickBlacklistSnapshot<P, D>> {
  private blacklist: ClickBlacklist<P, D>;

  constructor(private readonly opts: ClickBlacklistStageOptions<P, D>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.blacklist = new ClickBlacklist(opts.blacklist);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { key, envelope } = decodeEnvelope(message);
    const input = this.opts.input(key, envelope);
    const outputs = input.kind === 'event' ? this.blacklist.process(key, input.event) : this.blacklist.changeDimension(input.id, input.row);
    return { outputs: this.emit(outputs), timestamp: envelope.t };
  }

  protected advance(watermark: number): Emitted[] {
    return this.emit(this.blacklist.advanceWatermark(watermark));
  }

  protected keyedState(): ClickBlacklist<P, D> {
    return this.blacklist;
  }

  protected restoreState(snapshot: ClickBlacklistSnapshot<P, D>): void {
    this.blacklist = ClickBlacklist.restore(this.opts.blacklist, snapshot);
  }

  protected lateCount(): number {
    return this.blacklist.lateCount;
  }

  private emit(outputs: readonly ClickBlacklistOutput<P, D>[]): Emitted[] {
    return outputs.map((o): Emitted => {
      switch (o.kind) {
        case 'event':
          return { topic: this.opts.events.topic, ...this.opts.events.encode(o) };
        case 'blacklisted':
          return { topic: this.opts.blacklisted.topic, ...this.opts.blacklisted.encode(o) };
        case 'late':
          return { topic: this.opts.late.topic, ...this.opts.late.encode(o) };
        case 'unresolved':
          return { topic: this.opts.deadLetterTopic, ...this.opts.unresolved.encode(o) };
      }
    });
  }
}

/**
 * Re-keys a source topic into an internal topic (Flink's keyBy across a network shuffle): each
 * source record yields zero or more records under the next stage's key, in envelopes carrying the
 * record's event time. The stage generates the watermark of its source partition and forwards it.
 */
import type { KafkaMessage } from 'kafkajs';
import { encodeEnvelope, type JoinSide } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

export interface Rekeyed {
  /** the source record's event time, epoch ms */
  timestamp: number;
  /** the records for the next stage (empty: filtered out; the timestamp still advances the watermark) */
  records: ReadonlyArray<{ key: string; value: unknown }>;
}

export interface RepartitionStageOptions {
  /** Throwing sends the record to the dead-letter topic with the error as reason. */
  parse(message: KafkaMessage): Rekeyed;
  output: string;
  /** Tags the records as one input of a two-input stage (a join) reading the output topic. */
  side?: JoinSide;
  watermarks: WatermarkSource;
  deadLetterTopic: string;
}

export function repartitionStage(opts: RepartitionStageOptions): (context: StageContext) => PartitionProcessor {
  return (context) => new RepartitionProcessor(opts, context);
}

class RepartitionProcessor extends EventTimeProcessor<Record<string, never>> {
  constructor(private readonly opts: RepartitionStageOptions, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { timestamp, records } = this.opts.parse(message);
    if (!Number.isSafeInteger(timestamp)) throw new Error(`event time must be integer epoch ms, got ${timestamp}`);
    const outputs: Emitted[] = records.map((r) => ({ topic: this.opts.output, key: r.key, value: encodeEnvelope({ t: timestamp, ...(this.opts.side === undefined ? {} : { s: this.opts.side }), v: r.value }) }));
    return { outputs, timestamp };
  }

  protected advance(): Emitted[] {
    return [];
  }

  protected keyedState(): undefined {
    return undefined;
  }

  protected restoreState(): void {}

  protected lateCount(): number {
    // Lateness is judged where event time is used (windows, joins), as in Flink.
    return 0;
  }
}

/**
 * Re-keys a source topic into an internal topic (Flink's keyBy across a network shuffle): each
 * source record yields zero or more records under the next stage's key, in envelopes carrying the
 * record's event time, or to every partition (Flink's broadcast()). The stage generates the
 * watermark of its source partition and forwards it.
 */
import type { KafkaMessage } from 'kafkajs';
import { encodeEnvelope, type JoinSide } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

export interface Rekeyed {
  /** the source record's event time, epoch ms: it advances the watermark, and is the records' event time unless they give their own */
  timestamp: number;
  /** the records for the next stage (empty: filtered out; the timestamp still advances the watermark) */
  records: ReadonlyArray<RekeyedRecord>;
}

export interface RekeyedRecord {
  key: string;
  value: unknown;
  /**
   * The record's event time for the next stage (its envelope's t), when it is not the time that
   * drives the watermark: e.g. a CDC row's created_at, whose watermark is the binlog time.
   */
  timestamp?: number;
  /** To every partition of the output (a dimension row that every task of the next stage holds); needs `outputPartitions`. */
  broadcast?: boolean;
}

export interface RepartitionStageOptions {
  /** Throwing sends the record to the dead-letter topic with the error as reason. */
  parse(message: KafkaMessage, partition: number): Rekeyed;
  output: string;
  /** Partitions of the output topic, for broadcast records. */
  outputPartitions?: number;
  /** Tags the records as one input of a two-input stage (a join) reading the output topic. */
  side?: JoinSide;
  watermarks: WatermarkSource;
  deadLetterTopic: string;
}

export function repartitionStage(opts: RepartitionStageOptions): (context: StageContext) => PartitionProcessor {
  return (context) => new RepartitionProcessor(opts, context);
}

class RepartitionProcessor extends EventTimeProcessor<Record<string, never>> {
  private readonly partition: number;

  constructor(private readonly opts: RepartitionStageOptions, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.partition = context.partition;
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { timestamp, records } = this.opts.parse(message, this.partition);
    if (!Number.isSafeInteger(timestamp)) throw new Error(`event time must be integer epoch ms, got ${timestamp}`);
    const outputs: Emitted[] = [];
    for (const r of records) {
      const t = r.timestamp ?? timestamp;
      if (!Number.isSafeInteger(t)) throw new Error(`event time must be integer epoch ms, got ${t}`);
      const value = encodeEnvelope({ t, ...(this.opts.side === undefined ? {} : { s: this.opts.side }), v: r.value });
      if (r.broadcast !== true) {
        outputs.push({ topic: this.opts.output, key: r.key, value });
        continue;
      }
      const partitions = this.opts.outputPartitions;
      if (partitions === undefined) throw new Error('a broadcast record needs the output topic\'s partition count (outputPartitions)');
      for (let partition = 0; partition < partitions; partition++) outputs.push({ topic: this.opts.output, key: r.key, value, partition });
    }
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

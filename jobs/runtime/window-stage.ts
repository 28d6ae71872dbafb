/**
 * A keyed event-time window aggregation as a stage processor: parse → window operator
 * (jobs/runtime/core) → results to the output topic, late records to the late topic, unparseable
 * records to the dead-letter topic.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  createWindowOperator,
  restoreWindowOperator,
  type Sign,
  type WindowOperator,
  type WindowOperatorOptions,
  type WindowOperatorSnapshot,
  type WindowOutput,
  type WindowResult,
  type WindowRetraction,
} from './core/index.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import { EventTimeProcessor, NOTHING, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import { toJson } from './json.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

export type ParseResult<E> = { ok: true; key: string; timestamp: number; value: E; sign?: Sign } | { ok: false; reason: string };

export interface WindowStageOptions<E, Acc, Out, Saved> {
  parse(message: KafkaMessage): ParseResult<E>;
  window: WindowOperatorOptions<E, Acc, Out, Saved>;
  watermarks: WatermarkSource;
  output: {
    topic: string;
    encode(result: WindowResult<Out>): { key: string; value: string };
    /** A window's result withdrawn (its last element retracted); default: a tombstone for key [key, start, end]. */
    encodeRetraction?(retraction: WindowRetraction): { key: string; value: string | null };
  };
  lateTopic: string;
  deadLetterTopic: string;
}

/** Parses an internal-topic record (envelope.ts) whose value the window aggregates. */
export function envelopeParser<E>(value: (v: unknown) => E): (message: KafkaMessage) => ParseResult<E> {
  return (message) => {
    const { key, envelope } = decodeEnvelope(message);
    return { ok: true, key, timestamp: envelope.t, value: value(envelope.v) };
  };
}

export function windowStage<E, Acc, Out, Saved>(opts: WindowStageOptions<E, Acc, Out, Saved>): (context: StageContext) => PartitionProcessor {
  return (context) => new WindowStageProcessor(opts, context);
}

/** A window result on an internal topic (the envelope's value), for a downstream stage such as TopN. */
export interface WindowResultValue {
  kind: 'result' | 'update' | 'retract';
  key: string;
  start: number;
  end: number;
  value?: unknown;
}

/**
 * Output options that chain window results into another stage: keyed by `partitionKey(key)` (the
 * TopN group), stamped with the window's max timestamp end − 1 as Flink stamps window results.
 */
export function windowResultsTo<Out>(topic: string, partitionKey: (key: string) => string): WindowStageOptions<unknown, unknown, Out, unknown>['output'] {
  const encode = (r: WindowResultValue): { key: string; value: string } => ({ key: partitionKey(r.key), value: encodeEnvelope({ t: r.end - 1, v: r }) });
  return {
    topic,
    encode: (r) => encode({ kind: r.kind, key: r.key, start: r.window.start, end: r.window.end, value: r.value }),
    encodeRetraction: (r) => encode({ kind: 'retract', key: r.key, start: r.window.start, end: r.window.end }),
  };
}

const tombstone = (r: WindowRetraction): { key: string; value: null } => ({ key: JSON.stringify([r.key, r.window.start, r.window.end]), value: null });

class WindowStageProcessor<E, Acc, Out, Saved> extends EventTimeProcessor<WindowOperatorSnapshot<Saved>> {
  private operator: WindowOperator<E, Out, WindowOperatorSnapshot<Saved>>;

  constructor(private readonly opts: WindowStageOptions<E, Acc, Out, Saved>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.operator = createWindowOperator(opts.window);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const parsed = this.opts.parse(message);
    if (!parsed.ok) throw new Error(parsed.reason);
    return { outputs: this.emit(this.operator.process(parsed.key, parsed.timestamp, parsed.value, parsed.sign ?? 1)), timestamp: parsed.timestamp };
  }

  protected advance(watermark: number): Emitted[] {
    return this.emit(this.operator.advanceWatermark(watermark));
  }

  protected keyedState(): WindowOperator<E, Out, WindowOperatorSnapshot<Saved>> {
    return this.operator;
  }

  protected restoreState(snapshot: WindowOperatorSnapshot<Saved>): void {
    this.operator = restoreWindowOperator(this.opts.window, snapshot);
  }

  protected lateCount(): number {
    return this.operator.lateCount;
  }

  private emit(outputs: readonly WindowOutput<E, Out>[]): Emitted[] {
    if (outputs.length === 0) return NOTHING;
    const out: Emitted[] = [];
    for (const o of outputs) {
      if (o.kind === 'late') {
        // Flink's late-data side output, as a topic: never silently dropped.
        out.push({ topic: this.opts.lateTopic, key: o.key, value: toJson({ reason: o.reason, key: o.key, timestamp: o.timestamp, sign: o.sign, record: o.record }) });
      } else if (o.kind === 'retract') {
        out.push({ topic: this.opts.output.topic, ...(this.opts.output.encodeRetraction ?? tombstone)(o) });
      } else {
        out.push({ topic: this.opts.output.topic, ...this.opts.output.encode(o) });
      }
    }
    return out;
  }
}

/**
 * A keyed event-time window aggregation as a stage processor: parse → watermark → window operator
 * (jobs/runtime/core) → results to the output topic, late records to the late topic, unparseable
 * records to the dead-letter topic. State is checkpointed one changelog record per key.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  BoundedOutOfOrdernessWatermarks,
  createWindowOperator,
  restoreWindowOperator,
  type BoundedOutOfOrdernessSnapshot,
  type Sign,
  type WindowOperator,
  type WindowOperatorOptions,
  type WindowOperatorSnapshot,
  type WindowOutput,
  type WindowResult,
} from './core/index.js';
import { decodeSnapshot, diffRecords, encodeSnapshot } from './changelog-codec.js';
import type { Emitted, PartitionProcessor, StateChange } from './stage.js';

export type ParseResult<E> = { ok: true; key: string; timestamp: number; value: E; sign?: Sign } | { ok: false; reason: string };

export interface WindowStageOptions<E, Acc, Out, Saved> {
  parse(message: KafkaMessage): ParseResult<E>;
  window: WindowOperatorOptions<E, Acc, Out, Saved>;
  /** Flink's forBoundedOutOfOrderness: watermark = max event time − this − 1. */
  outOfOrdernessMs: number;
  output: { topic: string; encode(result: WindowResult<Out>): { key: string; value: string } };
  lateTopic: string;
  deadLetterTopic: string;
}

interface ExtraState {
  watermarks: BoundedOutOfOrdernessSnapshot;
  deadLetters: number;
}

/** JSON with bigints as decimal text (exact sums and keys survive). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function windowStage<E, Acc, Out, Saved>(opts: WindowStageOptions<E, Acc, Out, Saved>): (partition: number) => PartitionProcessor {
  return () => new WindowStageProcessor(opts);
}

class WindowStageProcessor<E, Acc, Out, Saved> implements PartitionProcessor {
  private operator: WindowOperator<E, Out, WindowOperatorSnapshot<Saved>>;
  private watermarks: BoundedOutOfOrdernessWatermarks;
  private deadLetters = 0;
  /** JSON last written to the changelog per state key, to write only what changed. */
  private written = new Map<string, string>();

  constructor(private readonly opts: WindowStageOptions<E, Acc, Out, Saved>) {
    this.operator = createWindowOperator(opts.window);
    this.watermarks = new BoundedOutOfOrdernessWatermarks(opts.outOfOrdernessMs);
  }

  onRecord(message: KafkaMessage): Emitted[] {
    let parsed: ParseResult<E>;
    try {
      parsed = this.opts.parse(message);
    } catch (err) {
      parsed = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    if (!parsed.ok) return [this.deadLetter(message, parsed.reason)];
    let outputs: Emitted[];
    try {
      outputs = this.emit(this.operator.process(parsed.key, parsed.timestamp, parsed.value, parsed.sign ?? 1));
    } catch (err) {
      // One record the operator rejects (say, a timestamp out of range) must not stop the stage.
      return [this.deadLetter(message, err instanceof Error ? err.message : String(err))];
    }
    this.watermarks.onEvent(parsed.timestamp);
    // The watermark moves after every record, not per fetched batch, so what is late and when a
    // window fires depend only on the partition's record order: a replay emits exactly the same.
    for (const e of this.emit(this.operator.advanceWatermark(this.watermarks.currentWatermark()))) outputs.push(e);
    return outputs;
  }

  changes(): StateChange[] {
    const extra: ExtraState = { watermarks: this.watermarks.snapshot(), deadLetters: this.deadLetters };
    const next = encodeSnapshot(this.operator.snapshot(), extra);
    const out = diffRecords(this.written, next);
    this.written = next;
    return out;
  }

  restore(state: ReadonlyMap<string, string>): void {
    this.written = new Map(state);
    const decoded = decodeSnapshot<WindowOperatorSnapshot<Saved>>(state);
    if (decoded === undefined) return;
    const extra = decoded.extra as ExtraState;
    this.operator = restoreWindowOperator(this.opts.window, decoded.snapshot);
    this.watermarks = BoundedOutOfOrdernessWatermarks.restore(this.opts.outOfOrdernessMs, extra.watermarks);
    this.deadLetters = extra.deadLetters;
  }

  stats(): { stateKeys: number; watermark: number; late: number } {
    return { stateKeys: this.written.size, watermark: this.operator.currentWatermark, late: this.operator.lateCount };
  }

  private deadLetter(message: KafkaMessage, reason: string): Emitted {
    this.deadLetters += 1;
    return {
      topic: this.opts.deadLetterTopic,
      key: message.key?.toString() ?? null,
      value: toJson({ reason, offset: message.offset, value: message.value?.toString('base64') ?? null }),
    };
  }

  private emit(outputs: readonly WindowOutput<E, Out>[]): Emitted[] {
    const out: Emitted[] = [];
    for (const o of outputs) {
      if (o.kind === 'late') {
        // Flink's late-data side output, as a topic: never silently dropped.
        out.push({ topic: this.opts.lateTopic, key: o.key, value: toJson({ reason: o.reason, key: o.key, timestamp: o.timestamp, sign: o.sign, record: o.record }) });
      } else if (o.kind === 'retract') {
        out.push({ topic: this.opts.output.topic, key: JSON.stringify([o.key, o.window.start, o.window.end]), value: null });
      } else {
        const encoded = this.opts.output.encode(o);
        out.push({ topic: this.opts.output.topic, key: encoded.key, value: encoded.value });
      }
    }
    return out;
  }
}

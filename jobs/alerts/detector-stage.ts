/**
 * An alert detector (jobs/runtime/core/alerts) as a stage over an internal topic: each record is one input
 * of the detector, the combined upstream watermark advances it, and its state is checkpointed key by key
 * with the stage's offsets like every operator's, so a restart resumes the same thresholds and raises
 * exactly the alerts an uninterrupted run does. Alerts go to their sinks (alerts.ts), inputs the detector
 * finds too late to the late topic, records it cannot read to the dead-letter topic.
 */
import type { KafkaMessage } from 'kafkajs';
import type { AlertOutput, KeyedSnapshots, WindowOutput } from '../runtime/core/index.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../runtime/envelope.js';
import { EventTimeProcessor, type ProcessResult } from '../runtime/event-time-processor.js';
import { toJson } from '../runtime/json.js';
import type { Emitted, PartitionProcessor, StageContext } from '../runtime/stage.js';
import type { WindowChange } from '../runtime/upsert-window-stage.js';
import type { AdsContext } from '../ads/context.js';
import { alertRecords } from './alerts.js';

export interface Detector<In, Snapshot> extends KeyedSnapshots<Snapshot> {
  process(input: In): readonly AlertOutput[];
  advanceWatermark(watermark: number): readonly AlertOutput[];
  readonly lateCount: number;
}

export interface DetectorStageOptions<In, Snapshot> {
  create(): Detector<In, Snapshot>;
  restore(snapshot: Snapshot): Detector<In, Snapshot>;
  /** The detector's input from an internal record; throwing dead-letters the record. */
  input(key: string, envelope: Envelope): In;
  lateTopic: string;
}

export function detectorStage<In, Snapshot extends object>(ctx: AdsContext, opts: DetectorStageOptions<In, Snapshot>): (context: StageContext) => PartitionProcessor {
  return (context) => new DetectorProcessor(ctx, opts, context);
}

class DetectorProcessor<In, Snapshot extends object> extends EventTimeProcessor<Snapshot> {
  private detector: Detector<In, Snapshot>;

  constructor(private readonly ctx: AdsContext, private readonly opts: DetectorStageOptions<In, Snapshot>, context: StageContext) {
    super('upstream', ctx.topics.deadLetter, context);
    this.detector = opts.create();
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { key, envelope } = decodeEnvelope(message);
    return { outputs: this.emit(this.detector.process(this.opts.input(key, envelope))), timestamp: envelope.t };
  }

  protected advance(watermark: number): Emitted[] {
    return this.emit(this.detector.advanceWatermark(watermark));
  }

  protected keyedState(): Detector<In, Snapshot> {
    return this.detector;
  }

  protected restoreState(snapshot: Snapshot): void {
    this.detector = this.opts.restore(snapshot);
  }

  protected lateCount(): number {
    return this.detector.lateCount;
  }

  private emit(outputs: readonly AlertOutput[]): Emitted[] {
    return outputs.flatMap((o): Emitted[] =>
      o.kind === 'alert'
        ? alertRecords(this.ctx, o.alert)
        : [{ topic: this.opts.lateTopic, key: o.key, value: toJson({ reason: `alert input after its state was cleaned up (${o.reason})`, key: o.key, window: o.window ?? null, time: o.time }) }],
    );
  }
}

/**
 * A window's row change as a record for a detector (all under one key, so one task sees every window),
 * stamped with the window's max timestamp end − 1 as Flink stamps window results.
 */
export function windowChangeRecord<Out>(topic: string, key: string, change: WindowChange<Out>): Emitted {
  const { window } = change;
  const v = change.kind === 'upsert' ? { kind: 'update', key: change.key, start: window.start, end: window.end, value: change.value } : { kind: 'retract', key: change.key, start: window.start, end: window.end };
  return { topic, key, value: encodeEnvelope({ t: window.end - 1, v }) };
}

/** The window result a windowChangeRecord carries; `value` types its figures (throwing dead-letters the record). */
export function windowInput<Out>(envelope: Envelope, value: (v: unknown) => Out): WindowOutput<never, Out> {
  const r = envelope.v as { kind?: unknown; key?: unknown; start?: unknown; end?: unknown; value?: unknown } | null;
  if (r === null || typeof r !== 'object' || typeof r.key !== 'string' || !Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end)) {
    throw new Error('not a window result {kind, key, start, end, value}');
  }
  const window = { start: r.start as number, end: r.end as number };
  if (r.kind === 'retract') return { kind: 'retract', key: r.key, window };
  if (r.kind === 'update') return { kind: 'update', key: r.key, window, value: value(r.value) };
  throw new Error(`unknown window result kind ${JSON.stringify(r.kind)}`);
}

/**
 * Window rows gathered per window (core/window-gather.ts) as a stage: upstream window stages send each
 * row of a window they upsert or delete (gatherRecord) to an internal topic keyed by the window, so that
 * one task holds every row of a window. The job turns a complete window, and each later change of one
 * of its rows, into records: a screen's whole window written at once, a ranking over the window's rows.
 */
import type { KafkaMessage } from 'kafkajs';
import { WindowGather, type GatherOutput, type TimeWindow, type WindowGatherSnapshot } from './core/index.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import { toJson } from './json.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';
import { VersionedState, type Versioned } from './versioned-state.js';

/** What travels to the gather stage: a row of a table's window, or its removal (value null). */
interface GatherRecordValue {
  table: string;
  start: number;
  end: number;
  row: string;
  value: unknown;
}

/** The record that sets (or, with undefined, removes) a row of a window at the gather stage; stamped with the window's maxTimestamp. */
export function gatherRecord(topic: string, table: string, window: TimeWindow, row: string, value: unknown): Emitted {
  const v: GatherRecordValue = { table, start: window.start, end: window.end, row, value: value ?? null };
  return { topic, key: `${table}:${window.start}`, value: encodeEnvelope({ t: window.end - 1, v }) };
}

export interface GatherStageOptions<V> {
  latenessOf(table: string): number;
  /** A row's typed value; throwing dead-letters the record. */
  value(table: string, v: unknown): V;
  /** The records of an output; `version()` gives the version of each table row written. */
  emit(output: Exclude<GatherOutput<V>, { kind: 'late' }>, version: () => number): Emitted[];
  watermarks: WatermarkSource;
  lateTopic: string;
  deadLetterTopic: string;
}

export function gatherStage<V>(opts: GatherStageOptions<V>): (context: StageContext) => PartitionProcessor {
  return (context) => new GatherProcessor(opts, context);
}

class GatherProcessor<V> extends EventTimeProcessor<Versioned<WindowGatherSnapshot<V>>> {
  private gather: WindowGather<V>;
  private state: VersionedState<WindowGatherSnapshot<V>>;
  private readonly version = (): number => this.state.next();

  constructor(private readonly opts: GatherStageOptions<V>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.gather = new WindowGather({ latenessOf: opts.latenessOf });
    this.state = new VersionedState(this.gather);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { envelope } = decodeEnvelope(message);
    const r = envelope.v as Partial<GatherRecordValue> | null;
    if (r === null || typeof r !== 'object' || typeof r.table !== 'string' || typeof r.row !== 'string' || !Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end)) {
      throw new Error('not a gathered row {table, start, end, row, value}');
    }
    const value = r.value === null || r.value === undefined ? undefined : this.opts.value(r.table, r.value);
    return { outputs: this.emit(this.gather.process(r.table, { start: r.start as number, end: r.end as number }, r.row, value)), timestamp: envelope.t };
  }

  protected advance(watermark: number): Emitted[] {
    return this.emit(this.gather.advanceWatermark(watermark));
  }

  protected keyedState(): VersionedState<WindowGatherSnapshot<V>> {
    return this.state;
  }

  protected restoreState(snapshot: Versioned<WindowGatherSnapshot<V>>): void {
    const { operator, sequence } = VersionedState.split(snapshot);
    this.gather = WindowGather.restore({ latenessOf: this.opts.latenessOf }, operator);
    this.state = new VersionedState(this.gather, sequence);
  }

  protected lateCount(): number {
    return this.gather.lateCount;
  }

  private emit(outputs: readonly GatherOutput<V>[]): Emitted[] {
    const out: Emitted[] = [];
    for (const o of outputs) {
      if (o.kind === 'late') {
        out.push({ topic: this.opts.lateTopic, key: `${o.table}:${o.window.start}`, value: toJson({ reason: o.reason, table: o.table, window: o.window, row: o.row, value: o.value ?? null }) });
      } else {
        out.push(...this.opts.emit(o, this.version));
      }
    }
    return out;
  }
}

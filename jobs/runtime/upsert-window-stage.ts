/**
 * A keyed window aggregation over signed items (signed-items.ts) whose results are rows upserted by
 * (key, window): a window's row is written when the window fires, written again with a higher version
 * whenever a retraction or a late item within the lateness changes it, and deleted when its figures drop
 * to nothing (every row retracted, or a HAVING fails). The items of one record are applied together and
 * each window they touch comes out once, with its value after all of them (an update's retraction and
 * addition make one upsert). The job turns each change into the records of its sinks.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  SlicedWindowOperator,
  TumblingWindowOperator,
  type SlicedWindowOptions,
  type SlicedWindowSnapshot,
  type TimeWindow,
  type TumblingWindowOptions,
  type TumblingWindowSnapshot,
  type WindowOperator,
  type WindowOutput,
} from './core/index.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import { toJson } from './json.js';
import { decodeItems } from './signed-items.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';
import { VersionedState, type Versioned } from './versioned-state.js';

export interface WindowFactory<E, Out, S> {
  create(): WindowOperator<E, Out, S>;
  restore(snapshot: S): WindowOperator<E, Out, S>;
}

/** Sliding (or fixed tumbling) windows on shared slices. */
export function slicedWindows<E, Acc, Out, Saved>(options: SlicedWindowOptions<E, Acc, Out, Saved>): WindowFactory<E, Out, SlicedWindowSnapshot<Saved>> {
  return { create: () => new SlicedWindowOperator(options), restore: (s) => SlicedWindowOperator.restore(options, s) };
}

/** Tumbling windows with bounds from an assigner (calendar days), with an optional HAVING. */
export function tumblingWindowsOf<E, Acc, Out, Saved>(options: TumblingWindowOptions<E, Acc, Out, Saved>): WindowFactory<E, Out, TumblingWindowSnapshot<Saved>> {
  return { create: () => new TumblingWindowOperator(options), restore: (s) => TumblingWindowOperator.restore(options, s) };
}

export type WindowChange<Out> =
  | { readonly kind: 'upsert'; readonly key: string; readonly window: TimeWindow; readonly value: Out; readonly version: number }
  | { readonly kind: 'delete'; readonly key: string; readonly window: TimeWindow; readonly version: number };

export interface UpsertWindowStageOptions<E, Out, S> {
  window: WindowFactory<E, Out, S>;
  /** An item's value for the window; undefined: the item is not for this stage. Throwing dead-letters the record. */
  value(v: unknown): E | undefined;
  /** The records a change of a window's row makes (a table row, a screen record, a row for a gather stage). */
  emit(change: WindowChange<Out>): Emitted[];
  watermarks: WatermarkSource;
  lateTopic: string;
  deadLetterTopic: string;
}

export function upsertWindowStage<E, Out, S extends object>(opts: UpsertWindowStageOptions<E, Out, S>): (context: StageContext) => PartitionProcessor {
  return (context) => new UpsertWindowProcessor(opts, context);
}

type Result<Out> = Exclude<WindowOutput<unknown, Out>, { kind: 'late' }>;

class UpsertWindowProcessor<E, Out, S extends object> extends EventTimeProcessor<Versioned<S>> {
  private state: VersionedState<S>;
  private operator: WindowOperator<E, Out, S>;

  constructor(private readonly opts: UpsertWindowStageOptions<E, Out, S>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.operator = opts.window.create();
    this.state = new VersionedState(this.operator);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { key, items } = decodeItems(message);
    const values = items.map((item) => ({ item, value: this.opts.value(item.v) }));
    const late: Emitted[] = [];
    // per window: the first output (was the row there before?) and the last (what it is now)
    const touched = new Map<string, { first: Result<Out>; last: Result<Out> }>();
    for (const { item, value } of values) {
      if (value === undefined) continue;
      for (const o of this.operator.process(key, item.t, value, item.s)) {
        if (o.kind === 'late') {
          // Flink's late-data side output, as a topic: never silently dropped
          late.push({ topic: this.opts.lateTopic, key: o.key, value: toJson({ reason: o.reason, key: o.key, timestamp: o.timestamp, sign: o.sign, record: o.record }) });
          continue;
        }
        const id = `${o.window.start}/${o.window.end}`;
        const seen = touched.get(id);
        if (seen === undefined) touched.set(id, { first: o, last: o });
        else seen.last = o;
      }
    }
    const outputs = [...late];
    for (const { first, last } of touched.values()) {
      // a row that appeared and went again within the record was never written
      if (first.kind === 'result' && last.kind === 'retract') continue;
      outputs.push(...this.change(last));
    }
    return { outputs, timestamp: items[0]?.t };
  }

  protected advance(watermark: number): Emitted[] {
    const outputs: Emitted[] = [];
    for (const o of this.operator.advanceWatermark(watermark)) {
      // firings emit no late outputs
      if (o.kind !== 'late') outputs.push(...this.change(o));
    }
    return outputs;
  }

  protected keyedState(): VersionedState<S> {
    return this.state;
  }

  protected restoreState(snapshot: Versioned<S>): void {
    const { operator, sequence } = VersionedState.split(snapshot);
    this.operator = this.opts.window.restore(operator);
    this.state = new VersionedState(this.operator, sequence);
  }

  protected lateCount(): number {
    return this.operator.lateCount;
  }

  private change(o: Result<Out>): Emitted[] {
    const version = this.state.next();
    return this.opts.emit(o.kind === 'retract' ? { kind: 'delete', key: o.key, window: o.window, version } : { kind: 'upsert', key: o.key, window: o.window, value: o.value, version });
  }
}

/**
 * The first level of a windowed aggregation with exact distinct counts (core/windowed-measures.ts), with
 * an optional interval semi-join (core/interval-exists.ts) whose matches add to the measures: the job
 * says what each signed item of its input does (add to a sum, count a value once, feed a side of the
 * join) and what a match adds. The deltas gathered since the last upstream watermark are written, one
 * record per group and window keyed by the group, before that watermark is forwarded, so the second
 * level (an upsert window stage summing them) sees them on time.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  IntervalExists,
  WindowedMeasures,
  type IntervalExistsOptions,
  type IntervalExistsOutput,
  type IntervalExistsSnapshot,
  type KeyedSnapshots,
  type LateMeasure,
  type Sign,
  type WindowedMeasuresOptions,
  type WindowedMeasuresSnapshot,
} from './core/index.js';
import { EventTimeProcessor, type ProcessResult } from './event-time-processor.js';
import { decodeItems, itemsRecord } from './signed-items.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

type Match<L> = Extract<IntervalExistsOutput<L>, { kind: 'match' }>;
export type LateInput = LateMeasure | Extract<IntervalExistsOutput<unknown>, { kind: 'late' }>;

export interface MeasureOps<L> {
  add(group: string, field: string, timestamp: number, delta: bigint): void;
  distinct(group: string, field: string, value: string, timestamp: number, sign: Sign): void;
  /** the join's sides; their matches go to onMatch */
  left(key: string, id: string, timestamp: number, row: L, sign: Sign): void;
  right(key: string, group: string, timestamp: number, sign: Sign): void;
}

export interface MeasuresStageOptions<In, L> {
  measures: WindowedMeasuresOptions;
  join?: IntervalExistsOptions;
  /** An item's value, typed; throwing dead-letters the record (before any of its items is applied). */
  parse(v: unknown): In;
  /** What one item of a record keyed by `key` does. */
  apply(key: string, input: In, item: { t: number; s: Sign }, ops: MeasureOps<L>): void;
  /** What a match of the join (or its retraction) adds. */
  onMatch?(match: Match<L>, ops: Pick<MeasureOps<L>, 'add' | 'distinct'>): void;
  /** The deltas of a group's window, as one signed item {field: delta} keyed by the group. */
  outputTopic: string;
  late(late: LateInput): Emitted;
  deadLetterTopic: string;
}

export function measuresStage<In, L>(opts: MeasuresStageOptions<In, L>): (context: StageContext) => PartitionProcessor {
  return (context) => new MeasuresProcessor(opts, context);
}

type Unkeyed<S> = Omit<S, 'keys'>;

export interface MeasuresStageSnapshot<L> {
  readonly measures: Unkeyed<WindowedMeasuresSnapshot>;
  readonly join: Unkeyed<IntervalExistsSnapshot<L>> | null;
  /** 'm' + a measures key, 'j' + a join key; sorted */
  readonly keys: ReadonlyArray<readonly [key: string, state: unknown]>;
}

/** Both operators' state as one keyed snapshot, their keys told apart by a prefix. */
class MeasuresState<L> implements KeyedSnapshots<MeasuresStageSnapshot<L>> {
  readonly keyedField = 'keys';
  constructor(
    readonly measures: WindowedMeasures,
    readonly join: IntervalExists<L> | undefined,
  ) {}

  snapshot(only?: Iterable<string>): MeasuresStageSnapshot<L> {
    const m: string[] = [];
    const j: string[] = [];
    for (const key of only ?? []) (key.startsWith('m') ? m : j).push(key.slice(1));
    const measures = this.measures.snapshot(only === undefined ? undefined : m);
    const join = this.join?.snapshot(only === undefined ? undefined : j);
    const { keys: measureKeys, ...measuresRest } = measures;
    const keys: Array<readonly [string, unknown]> = measureKeys.map(([k, s]) => [`m${k}`, s] as const);
    let joinRest: Unkeyed<IntervalExistsSnapshot<L>> | null = null;
    if (join !== undefined) {
      const { keys: joinKeys, ...rest } = join;
      joinRest = rest;
      for (const [k, s] of joinKeys) keys.push([`j${k}`, s]);
    }
    keys.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { measures: measuresRest, join: joinRest, keys };
  }

  takeChangedKeys(): string[] {
    return [...this.measures.takeChangedKeys().map((k) => `m${k}`), ...(this.join?.takeChangedKeys() ?? []).map((k) => `j${k}`)];
  }
}

class MeasuresProcessor<In, L> extends EventTimeProcessor<MeasuresStageSnapshot<L>> {
  private state: MeasuresState<L>;
  private lateOutputs: Emitted[] = [];
  private readonly ops: MeasureOps<L>;

  constructor(private readonly opts: MeasuresStageOptions<In, L>, context: StageContext) {
    super('upstream', opts.deadLetterTopic, context);
    this.state = new MeasuresState(new WindowedMeasures(opts.measures), opts.join === undefined ? undefined : new IntervalExists<L>(opts.join));
    const collect = (late: LateInput | undefined): void => {
      if (late !== undefined) this.lateOutputs.push(opts.late(late));
    };
    const measureOps = {
      add: (group: string, field: string, t: number, delta: bigint) => collect(this.state.measures.add(group, field, t, delta)),
      distinct: (group: string, field: string, value: string, t: number, sign: Sign) => collect(this.state.measures.distinct(group, field, value, t, sign)),
    };
    const joined = (outputs: readonly IntervalExistsOutput<L>[]): void => {
      for (const o of outputs) {
        if (o.kind === 'late') collect(o);
        else opts.onMatch?.(o, measureOps);
      }
    };
    this.ops = {
      ...measureOps,
      left: (key, id, t, row, sign) => joined(this.joinOf().left(key, id, t, row, sign)),
      right: (key, group, t, sign) => joined(this.joinOf().right(key, group, t, sign)),
    };
  }

  /** Flushes the deltas of the records read since the upstream's last watermark, before this one moves on. */
  override onWatermark(producer: string, watermark: number | null): Emitted[] {
    const deltas = this.state.measures.flush().map((d) =>
      itemsRecord(this.opts.outputTopic, d.group, [{ t: d.window.start, s: 1, v: Object.fromEntries(d.deltas.map(([field, delta]) => [field, delta.toString()])) }]),
    );
    return [...deltas, ...super.onWatermark(producer, watermark)];
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { key, items } = decodeItems(message);
    // every item is parsed before any is applied: a bad record is dead-lettered whole
    const inputs = items.map((item) => this.opts.parse(item.v));
    items.forEach((item, i) => this.opts.apply(key, inputs[i] as In, item, this.ops));
    const late = this.lateOutputs;
    this.lateOutputs = [];
    return { outputs: late, timestamp: items[0]?.t };
  }

  protected advance(watermark: number): Emitted[] {
    this.state.measures.advanceWatermark(watermark);
    this.state.join?.advanceWatermark(watermark);
    return [];
  }

  protected keyedState(): MeasuresState<L> {
    return this.state;
  }

  protected restoreState(snapshot: MeasuresStageSnapshot<L>): void {
    const m: Array<readonly [string, WindowedMeasuresSnapshot['keys'][number][1]]> = [];
    const j: Array<readonly [string, IntervalExistsSnapshot<L>['keys'][number][1]]> = [];
    for (const [key, s] of snapshot.keys) {
      if (key.startsWith('m')) m.push([key.slice(1), s as WindowedMeasuresSnapshot['keys'][number][1]]);
      else j.push([key.slice(1), s as IntervalExistsSnapshot<L>['keys'][number][1]]);
    }
    const measures = WindowedMeasures.restore(this.opts.measures, { ...snapshot.measures, keys: m });
    const join = this.opts.join === undefined || snapshot.join === null ? this.state.join : IntervalExists.restore<L>(this.opts.join, { ...snapshot.join, keys: j });
    this.state = new MeasuresState(measures, join);
  }

  protected lateCount(): number {
    return this.state.measures.lateCount + (this.state.join?.lateCount ?? 0);
  }

  private joinOf(): IntervalExists<L> {
    if (this.state.join === undefined) throw new Error('this stage has no join: its job feeds no join side');
    return this.state.join;
  }
}

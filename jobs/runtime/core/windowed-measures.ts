/**
 * The partial aggregation of windowed sums and exact distinct counts, before a final aggregation per
 * group (Flink SQL's split distinct aggregation: a first level keyed by the distinct value, a second by
 * the group, summing the first level's partial counts; here with local pre-aggregation of what goes to
 * the second level).
 *
 * - `add`: a delta of a field's sum, per group and window (e.g. page views of a day).
 * - `distinct`: a value's multiplicity per group, field and window; the field's count changes by +1 when
 *   the multiplicity becomes positive and by -1 when it drops back to zero (COUNT(DISTINCT) with retraction).
 *   This operator must see every occurrence of a value (its input keyed by the value).
 * - `flush`: the net deltas since the last flush, per group and window, for the second level; zero
 *   deltas are left out.
 *
 * A contribution to a window past its cleanup time (end - 1 + the field's lateness <= watermark) goes to
 * the late output; multiplicities are dropped at that time.
 */
import { takeAll } from './keyed-snapshots.js';
import type { Sign } from './aggregates.js';
import { TimerService } from './timers.js';
import type { TumblingAssigner } from './tumbling-window.js';
import { MIN_TIMESTAMP } from './watermark.js';
import type { TimeWindow } from './windows.js';

export interface WindowedMeasuresOptions {
  readonly assigner: TumblingAssigner;
  /** allowed lateness of a field's windows, ms */
  latenessOf(field: string): number;
}

export interface MeasureDeltas {
  readonly group: string;
  readonly window: TimeWindow;
  /** per field, sorted by field */
  readonly deltas: ReadonlyArray<readonly [field: string, delta: bigint]>;
}

export interface LateMeasure {
  readonly kind: 'late';
  readonly reason: 'window-expired';
  readonly group: string;
  readonly field: string;
  readonly timestamp: number;
  readonly watermark: number;
}

/** A value's multiplicity in one window. */
interface Multiplicity {
  readonly end: number;
  count: number;
}

export type SavedMultiplicities = ReadonlyArray<readonly [start: number, end: number, count: number]>;
export type SavedPending = ReadonlyArray<readonly [group: string, start: number, end: number, deltas: ReadonlyArray<readonly [field: string, delta: string]>]>;

export interface WindowedMeasuresSnapshot {
  readonly assigner: string;
  readonly watermark: number;
  readonly lateCount: number;
  /** deltas not flushed yet */
  readonly pending: SavedPending;
  /** per distinct value (JSON [group, field, value]), its multiplicities by window start; sorted */
  readonly keys: ReadonlyArray<readonly [key: string, multiplicities: SavedMultiplicities]>;
}

const SEP = '\u0001';

export class WindowedMeasures {
  static restore(options: WindowedMeasuresOptions, snapshot: WindowedMeasuresSnapshot): WindowedMeasures {
    const measures = new WindowedMeasures(options);
    if (snapshot.assigner !== options.assigner.id) throw new RangeError('snapshot was taken with a different window assigner');
    measures.watermark = snapshot.watermark;
    measures.late = snapshot.lateCount;
    measures.timers = new TimerService(snapshot.watermark);
    for (const [group, start, end, deltas] of snapshot.pending) {
      measures.pending.set(`${group}${SEP}${start}`, { group, window: { start, end }, deltas: new Map(deltas.map(([f, d]) => [f, BigInt(d)])) });
    }
    for (const [key, saved] of snapshot.keys) {
      const [, field] = JSON.parse(key) as [string, string, string];
      const windows = new Map<number, Multiplicity>();
      for (const [start, end, count] of saved) {
        windows.set(start, { end, count });
        measures.timers.registerEventTimeTimer(key, end - 1 + measures.lateness(field));
      }
      measures.values.set(key, windows);
    }
    return measures;
  }

  readonly keyedField = 'keys';
  private readonly options: WindowedMeasuresOptions;
  /** distinct value key -> window start -> multiplicity */
  private readonly values = new Map<string, Map<number, Multiplicity>>();
  private readonly pending = new Map<string, { group: string; window: TimeWindow; deltas: Map<string, bigint> }>();
  private readonly changed = new Set<string>();
  private timers = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: WindowedMeasuresOptions) {
    this.options = options;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  /** Distinct values holding multiplicities, for state-size metrics. */
  get valueCount(): number {
    return this.values.size;
  }

  add(group: string, field: string, timestamp: number, delta: bigint): LateMeasure | undefined {
    const window = this.windowOf(group, field, timestamp);
    if (window === undefined) return this.lateOutput(group, field, timestamp);
    if (delta !== 0n) this.addPending(group, window, field, delta);
    return undefined;
  }

  distinct(group: string, field: string, value: string, timestamp: number, sign: Sign): LateMeasure | undefined {
    const window = this.windowOf(group, field, timestamp);
    if (window === undefined) return this.lateOutput(group, field, timestamp);
    const key = JSON.stringify([group, field, value]);
    let windows = this.values.get(key);
    if (windows === undefined) {
      windows = new Map();
      this.values.set(key, windows);
    }
    let m = windows.get(window.start);
    if (m === undefined) {
      m = { end: window.end, count: 0 };
      windows.set(window.start, m);
      this.timers.registerEventTimeTimer(key, window.end - 1 + this.lateness(field));
    }
    const before = m.count;
    m.count += sign;
    // a value counts while its multiplicity is positive (a retraction may run ahead of its insert)
    if (before <= 0 && m.count > 0) this.addPending(group, window, field, 1n);
    else if (before > 0 && m.count <= 0) this.addPending(group, window, field, -1n);
    if (m.count === 0) windows.delete(window.start);
    if (windows.size === 0) this.values.delete(key);
    this.changed.add(key);
    return undefined;
  }

  /** The net deltas since the last call, by window start then group. */
  flush(): MeasureDeltas[] {
    if (this.pending.size === 0) return [];
    const out: MeasureDeltas[] = [];
    for (const { group, window, deltas } of this.pending.values()) {
      const nonZero = [...deltas].filter(([, d]) => d !== 0n).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (nonZero.length > 0) out.push({ group, window, deltas: nonZero });
    }
    this.pending.clear();
    return out.sort((a, b) => a.window.start - b.window.start || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }

  /** Drops multiplicities past their window's cleanup time; emits nothing. */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    this.timers.advanceWatermark(watermark, (key) => {
      const windows = this.values.get(key);
      if (windows === undefined) return;
      const [, field] = JSON.parse(key) as [string, string, string];
      for (const [start, m] of windows) if (m.end - 1 + this.lateness(field) <= watermark) windows.delete(start);
      if (windows.size === 0) this.values.delete(key);
      this.changed.add(key);
    });
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): WindowedMeasuresSnapshot {
    const keys = (only === undefined ? [...this.values.keys()] : [...only].filter((k) => this.values.has(k))).sort();
    return {
      assigner: this.options.assigner.id,
      watermark: this.watermark,
      lateCount: this.late,
      pending: [...this.pending.values()].map(({ group, window, deltas }) => [group, window.start, window.end, [...deltas].map(([f, d]) => [f, d.toString()] as const)] as const),
      keys: keys.map((key) => [key, [...(this.values.get(key) as Map<number, Multiplicity>)].sort(([a], [b]) => a - b).map(([start, m]) => [start, m.end, m.count] as const)] as const),
    };
  }

  private lateness(field: string): number {
    const lateness = this.options.latenessOf(field);
    if (!Number.isSafeInteger(lateness) || lateness < 0) throw new RangeError(`allowed lateness of ${field} must be a non-negative integer of ms, got ${lateness}`);
    return lateness;
  }

  /** The window of a contribution, undefined when it is past its cleanup time (Flink isWindowLate). */
  private windowOf(group: string, field: string, timestamp: number): TimeWindow | undefined {
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`event timestamp ${timestamp} is not a safe integer of ms`);
    if (group.includes(SEP)) throw new RangeError(`group ${JSON.stringify(group)} holds the separator U+0001`);
    const window = this.options.assigner.windowOf(timestamp);
    return window.end - 1 + this.lateness(field) <= this.watermark ? undefined : window;
  }

  private lateOutput(group: string, field: string, timestamp: number): LateMeasure {
    this.late += 1;
    return { kind: 'late', reason: 'window-expired', group, field, timestamp, watermark: this.watermark };
  }

  private addPending(group: string, window: TimeWindow, field: string, delta: bigint): void {
    const id = `${group}${SEP}${window.start}`;
    let p = this.pending.get(id);
    if (p === undefined) {
      p = { group, window, deltas: new Map() };
      this.pending.set(id, p);
    }
    p.deltas.set(field, (p.deltas.get(field) ?? 0n) + delta);
  }
}

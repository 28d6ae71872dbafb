/**
 * Tumbling event-time windows whose bounds come from an assigner: fixed sizes, or calendar days in a
 * zone, which are 23 or 25 hours long across a DST change (no fixed offset, as in Flink's
 * TumblingEventTimeWindows.of(days(1), offset), expresses them). Flink's WindowOperator with
 * EventTimeTrigger and allowed lateness, over changelog input:
 * - an element goes into its window unless the window is past its cleanup time (end - 1 + lateness <=
 *   watermark, Flink isWindowLate), when it goes to the late output;
 * - a window fires when the watermark reaches end - 1, and fires again on every element that reaches it
 *   later within the lateness (EventTimeTrigger.onElement);
 * - a window is present while its net rows (inserts minus retractions) are not zero and `isEmpty` (a
 *   HAVING clause over the result) does not hold; a fired window that stops being present is retracted,
 *   one that becomes present again is emitted again.
 * State is per key, its windows by start; a snapshot holds one entry per key.
 */
import type { AggregateSpec, Sign } from './aggregates.js';
import { entriesOf, takeAll } from './keyed-snapshots.js';
import type { TimeZone } from './time-zone.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';
import { type LateElement, type TimeWindow, type WindowOperator, type WindowOutput, cleanupTime, maxTimestamp, windowStart } from './windows.js';

export interface TumblingAssigner {
  /** names the assigner in snapshots, so a restore with other bounds is refused */
  readonly id: string;
  /** the window holding `timestamp`: start <= timestamp < end */
  windowOf(timestamp: number): TimeWindow;
}

/** Windows of `size` ms aligned to the epoch plus `offset` (Flink TumblingEventTimeWindows.of(size, offset)). */
export function fixedWindows(size: number, offset = 0): TumblingAssigner {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`window size must be a positive integer of ms, got ${size}`);
  if (!Number.isSafeInteger(offset) || Math.abs(offset) >= size) throw new RangeError(`window offset must satisfy |offset| < size, got ${offset}`);
  return {
    id: `fixed:${size}:${offset}`,
    windowOf(timestamp) {
      const start = windowStart(timestamp, offset, size);
      return { start, end: start + size };
    },
  };
}

/** Calendar days in `zone`: from one local midnight to the next, whatever the day's length. */
export function calendarDays(zone: TimeZone): TumblingAssigner {
  return {
    id: `days:${zone.name}`,
    windowOf(timestamp) {
      const { start, end } = zone.dayOf(timestamp);
      return { start, end };
    },
  };
}

export interface TumblingWindowOptions<In, Acc, Out, Saved> {
  readonly assigner: TumblingAssigner;
  readonly aggregate: AggregateSpec<In, Acc, Out, Saved>;
  /** Flink allowedLateness in ms; 0 by default. */
  readonly allowedLateness?: number;
  /** A result that counts as no row (a HAVING clause that fails), e.g. a join side without rows. */
  readonly isEmpty?: (result: Out) => boolean;
}

interface WindowState<Acc> {
  readonly end: number;
  acc: Acc;
  rows: number;
  emitted: boolean;
}

export type SavedTumblingWindow<Saved> = readonly [start: number, end: number, acc: Saved, rows: number, emitted: boolean];

export interface TumblingWindowSnapshot<Saved> {
  readonly kind: 'tumbling';
  readonly assigner: string;
  readonly allowedLateness: number;
  readonly watermark: number;
  readonly lateCount: number;
  /** per key, sorted by key; its windows by start */
  readonly keys: ReadonlyArray<readonly [key: string, windows: ReadonlyArray<SavedTumblingWindow<Saved>>]>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);

export class TumblingWindowOperator<In, Acc, Out, Saved> implements WindowOperator<In, Out, TumblingWindowSnapshot<Saved>> {
  static restore<In, Acc, Out, Saved>(options: TumblingWindowOptions<In, Acc, Out, Saved>, snapshot: TumblingWindowSnapshot<Saved>): TumblingWindowOperator<In, Acc, Out, Saved> {
    const operator = new TumblingWindowOperator(options);
    if (snapshot.kind !== 'tumbling' || snapshot.assigner !== options.assigner.id || snapshot.allowedLateness !== operator.lateness) {
      throw new RangeError('snapshot was taken with a different window assigner or allowed lateness');
    }
    operator.watermark = snapshot.watermark;
    operator.late = snapshot.lateCount;
    operator.timers = new TimerService(snapshot.watermark);
    for (const [key, windows] of snapshot.keys) {
      const states = new Map<number, WindowState<Acc>>();
      for (const [start, end, acc, rows, emitted] of windows) {
        states.set(start, { end, acc: operator.aggregate.load(acc), rows, emitted });
        operator.registerTimers(key, end);
      }
      operator.keys.set(key, states);
    }
    return operator;
  }

  readonly keyedField = 'keys';
  private readonly assigner: TumblingAssigner;
  private readonly aggregate: AggregateSpec<In, Acc, Out, Saved>;
  private readonly lateness: number;
  private readonly isEmpty: (result: Out) => boolean;
  /** key -> window start -> state */
  private readonly keys = new Map<string, Map<number, WindowState<Acc>>>();
  private readonly changed = new Set<string>();
  /** per key: a timer at each window's maxTimestamp (firing) and one at its cleanup time */
  private timers = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: TumblingWindowOptions<In, Acc, Out, Saved>) {
    const { allowedLateness = 0 } = options;
    if (!Number.isSafeInteger(allowedLateness) || allowedLateness < 0) throw new RangeError(`allowed lateness must be a non-negative integer of ms, got ${allowedLateness}`);
    this.assigner = options.assigner;
    this.aggregate = options.aggregate;
    this.lateness = allowedLateness;
    this.isEmpty = options.isEmpty ?? (() => false);
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  /** Keys holding state, for state-size metrics. */
  get keyCount(): number {
    return this.keys.size;
  }

  process(key: string, timestamp: number, value: In, sign: Sign = 1): readonly WindowOutput<In, Out>[] {
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`event timestamp ${timestamp} is not a safe integer of ms`);
    const window = this.assigner.windowOf(timestamp);
    // Flink WindowOperator: an element whose every window is late (cleanupTime <= watermark) is side-output
    if (cleanupTime(window, this.lateness) <= this.watermark) {
      this.late += 1;
      const late: LateElement<In> = { kind: 'late', reason: 'window-expired', key, timestamp, record: value, sign };
      return [late];
    }
    let windows = this.keys.get(key);
    if (windows === undefined) {
      windows = new Map();
      this.keys.set(key, windows);
    }
    let state = windows.get(window.start);
    if (state === undefined) {
      state = { end: window.end, acc: this.aggregate.create(), rows: 0, emitted: false };
      windows.set(window.start, state);
      this.registerTimers(key, window.end);
    }
    state.acc = this.aggregate.add(state.acc, value, sign);
    state.rows += sign;
    this.changed.add(key);
    // Flink EventTimeTrigger.onElement: FIRE at once when window.maxTimestamp() <= currentWatermark
    if (maxTimestamp(window) > this.watermark) return NO_OUTPUT;
    const output = this.fire(key, window.start, state);
    return output === undefined ? NO_OUTPUT : [output];
  }

  advanceWatermark(watermark: number): readonly WindowOutput<In, Out>[] {
    if (watermark <= this.watermark) return NO_OUTPUT;
    this.watermark = watermark;
    let outputs: WindowOutput<In, Out>[] | undefined;
    // Flink InternalTimerServiceImpl.advanceWatermark: timers in timestamp order (keys sorted within one)
    this.timers.advanceWatermark(watermark, (key, time) => {
      const windows = this.keys.get(key);
      if (windows === undefined) return;
      for (const [start, state] of [...windows].sort(([a], [b]) => a - b)) {
        if (state.end - 1 === time) {
          const output = this.fire(key, start, state);
          if (output !== undefined) (outputs ??= []).push(output);
          this.changed.add(key);
        }
        // Flink WindowOperator.clearAllState at the cleanup timer, after the firing of the same time
        if (state.end - 1 + this.lateness === time) {
          windows.delete(start);
          this.changed.add(key);
        }
      }
      if (windows.size === 0) this.keys.delete(key);
    });
    return outputs ?? NO_OUTPUT;
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): TumblingWindowSnapshot<Saved> {
    return {
      kind: 'tumbling',
      assigner: this.assigner.id,
      allowedLateness: this.lateness,
      watermark: this.watermark,
      lateCount: this.late,
      keys: entriesOf(this.keys, only).map(([key, windows]) => [
        key,
        [...windows]
          .sort(([a], [b]) => a - b)
          .map(([start, s]): SavedTumblingWindow<Saved> => [start, s.end, this.aggregate.save(s.acc), s.rows, s.emitted]),
      ] as const),
    };
  }

  private registerTimers(key: string, end: number): void {
    // Flink EventTimeTrigger.onElement registers the firing timer unless the window already fired
    if (end - 1 > this.watermark) this.timers.registerEventTimeTimer(key, end - 1);
    this.timers.registerEventTimeTimer(key, end - 1 + this.lateness);
  }

  /** The window's current result: its value when present, a retraction when it was emitted and no longer is. */
  private fire(key: string, start: number, state: WindowState<Acc>): WindowOutput<In, Out> | undefined {
    const window = { start, end: state.end };
    const value = state.rows === 0 ? undefined : this.aggregate.result(state.acc);
    if (value !== undefined && !this.isEmpty(value)) {
      const kind = state.emitted ? 'update' : 'result';
      state.emitted = true;
      return { kind, key, window, value };
    }
    if (!state.emitted) return undefined;
    state.emitted = false;
    return { kind: 'retract', key, window };
  }
}

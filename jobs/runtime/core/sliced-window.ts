/**
 * Tumbling, sliding and daily windows on shared panes: each element updates one pane of its key, and a window's result
 * is the merge of its panes. Panes are gcd(size, slide) long, so any size/slide works; with size a multiple of slide a
 * pane is one slide. State is key-major (per key, its panes in order), so a window fires in one pass over the keys
 * with cache-local merges, and a snapshot holds one entry per key.
 */
import type { AggregateSpec, Sign } from './aggregates.js';
import { entriesOf, takeAll } from './keyed-snapshots.js';
import { firstAtOrAfter } from './sorted.js';
import { TimestampQueue } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';
import { type AlignedWindows, type LateElement, type TimeWindow, type WindowOperator, type WindowOutput, windowStart } from './windows.js';

export interface SlicedWindowOptions<In, Acc, Out, Saved> {
  readonly assigner: AlignedWindows;
  readonly aggregate: AggregateSpec<In, Acc, Out, Saved>;
  /** Flink allowedLateness in ms; 0 by default. */
  readonly allowedLateness?: number;
}

/** One key's panes: ascending starts, with accumulators and net rows (inserts minus retractions) at the same index. */
interface KeyPanes<Acc> {
  readonly starts: number[];
  readonly accs: Acc[];
  readonly rows: number[];
  /** Ends of fired windows (kept until the next pass after their cleanup) with a result out for this key. */
  emitted: number[] | undefined;
}

export interface SlicedKeyState<Saved> {
  readonly panes: ReadonlyArray<readonly [paneStart: number, acc: Saved, rows: number]>;
  readonly emittedWindowEnds: readonly number[];
}

export interface SlicedWindowSnapshot<Saved> {
  readonly kind: 'sliced';
  readonly size: number;
  readonly slide: number;
  readonly offset: number;
  readonly allowedLateness: number;
  readonly watermark: number;
  readonly lateCount: number;
  /** One entry per key, sorted by key (firings emit keys in sorted order, so a restore reproduces outputs exactly). */
  readonly keys: ReadonlyArray<readonly [key: string, state: SlicedKeyState<Saved>]>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export class SlicedWindowOperator<In, Acc, Out, Saved> implements WindowOperator<In, Out, SlicedWindowSnapshot<Saved>> {
  static restore<In, Acc, Out, Saved>(
    options: SlicedWindowOptions<In, Acc, Out, Saved>,
    snapshot: SlicedWindowSnapshot<Saved>,
  ): SlicedWindowOperator<In, Acc, Out, Saved> {
    const operator = new SlicedWindowOperator(options);
    const { size, slide, offset, lateness } = operator;
    if (snapshot.size !== size || snapshot.slide !== slide || snapshot.offset !== offset || snapshot.allowedLateness !== lateness) {
      throw new RangeError('snapshot was taken with a different window assigner or allowed lateness');
    }
    operator.late = snapshot.lateCount;
    operator.setWatermark(snapshot.watermark);
    for (const [key, saved] of snapshot.keys) {
      const state: KeyPanes<Acc> = { starts: [], accs: [], rows: [], emitted: saved.emittedWindowEnds.length > 0 ? [...saved.emittedWindowEnds] : undefined };
      for (const [start, acc, rows] of saved.panes) {
        if (start < operator.expiredBefore) throw new RangeError(`snapshot holds pane ${start}, which no window still needs`);
        state.starts.push(start);
        state.accs.push(operator.aggregate.load(acc));
        state.rows.push(rows);
        operator.registerPane(start);
      }
      operator.keys.set(key, state);
    }
    return operator;
  }

  private readonly aggregate: AggregateSpec<In, Acc, Out, Saved>;
  private readonly size: number;
  private readonly slide: number;
  private readonly offset: number;
  private readonly pane: number;
  private readonly lateness: number;
  private readonly keys = new Map<string, KeyPanes<Acc>>();
  private readonly changed = new Set<string>();
  readonly keyedField = 'keys';
  /** Starts of panes that hold data for some key, until they expire. */
  private readonly livePanes = new TimestampQueue();
  /** maxTimestamps of windows that hold data and have not fired yet. */
  private readonly fireTimes = new TimestampQueue();
  private watermark = MIN_TIMESTAMP;
  /** The latest window end whose window has fired: a pane re-fires once its first window ends at or before it. */
  private lastFiredEnd = MIN_TIMESTAMP;
  /** Panes starting before this are past the cleanup time of every window holding them. */
  private expiredBefore = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: SlicedWindowOptions<In, Acc, Out, Saved>) {
    const { assigner, allowedLateness = 0 } = options;
    if (!Number.isSafeInteger(allowedLateness) || allowedLateness < 0) {
      throw new RangeError(`allowed lateness must be a non-negative integer of ms, got ${allowedLateness}`);
    }
    this.aggregate = options.aggregate;
    this.size = assigner.size;
    this.slide = assigner.kind === 'sliding' ? assigner.slide : assigner.size;
    this.offset = assigner.offset;
    this.pane = gcd(this.size, this.slide);
    this.lateness = allowedLateness;
    this.setWatermark(MIN_TIMESTAMP);
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  /** Panes holding data for at least one key, for state-size metrics. */
  get paneCount(): number {
    return this.livePanes.size;
  }

  /** Keys holding state, for state-size metrics. */
  get keyCount(): number {
    return this.keys.size;
  }

  process(key: string, timestamp: number, value: In, sign: Sign = 1): readonly WindowOutput<In, Out>[] {
    const start = windowStart(timestamp, this.offset, this.pane);
    // Flink WindowOperator.isWindowLate (cleanupTime <= watermark) holds for every window of an expired pane
    if (start < this.expiredBefore) return this.skip(key, timestamp, value, sign);
    let state = this.keys.get(key);
    let index = state === undefined ? -1 : state.starts.length - 1;
    if (state === undefined || state.starts[index] !== start) {
      if (!this.inSomeWindow(start)) return this.skip(key, timestamp, value, sign);
      if (state === undefined) {
        state = { starts: [], accs: [], rows: [], emitted: undefined };
        this.keys.set(key, state);
      }
      index = this.paneIndex(state, start);
    }
    state.accs[index] = this.aggregate.add(state.accs[index] as Acc, value, sign);
    state.rows[index] = (state.rows[index] as number) + sign;
    this.changed.add(key);
    // Flink EventTimeTrigger.onElement: FIRE at once when window.maxTimestamp() <= currentWatermark (late, within lateness)
    return start + this.pane <= this.lastFiredEnd ? this.refire(key, state, start) : NO_OUTPUT;
  }

  advanceWatermark(watermark: number): readonly WindowOutput<In, Out>[] {
    if (watermark <= this.watermark) return NO_OUTPUT;
    this.setWatermark(watermark);
    // Flink InternalTimerServiceImpl.advanceWatermark: every timer with timestamp <= watermark fires, in timestamp order
    const due: number[] = [];
    for (let time = this.fireTimes.peek(); time !== undefined && time <= watermark; time = this.fireTimes.peek()) {
      this.fireTimes.poll();
      due.push(time + 1);
    }
    let expired = false;
    for (let start = this.livePanes.peek(); start !== undefined && start < this.expiredBefore; start = this.livePanes.peek()) {
      this.livePanes.poll();
      expired = true;
    }
    return due.length > 0 || expired ? this.pass(due) : NO_OUTPUT;
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): SlicedWindowSnapshot<Saved> {
    return {
      kind: 'sliced',
      size: this.size,
      slide: this.slide,
      offset: this.offset,
      allowedLateness: this.lateness,
      watermark: this.watermark,
      lateCount: this.late,
      keys: entriesOf(this.keys, only).map(([key, state]) => [
        key,
        {
          panes: state.starts.map((start, i) => [start, this.aggregate.save(state.accs[i] as Acc), state.rows[i] as number] as const),
          emittedWindowEnds: state.emitted?.slice() ?? [],
        },
      ] as const),
    };
  }

  private setWatermark(watermark: number): void {
    this.watermark = watermark;
    // Window ends are offset + size + k * slide; the latest one with end - 1 <= watermark
    this.lastFiredEnd = windowStart(watermark + 1, this.offset + this.size, this.slide);
    // A pane lives while its last window does: windowStart(p) + size - 1 + lateness > watermark
    this.expiredBefore = windowStart(watermark - this.size - this.lateness + this.slide + 1, this.offset, this.slide);
  }

  /** False only in the gaps between windows when size < slide. */
  private inSomeWindow(paneStart: number): boolean {
    if (!Number.isSafeInteger(paneStart)) throw new RangeError(`pane start ${paneStart} is not a safe integer: event timestamps must be finite ms`);
    return windowStart(paneStart, this.offset, this.slide) + this.size > paneStart;
  }

  /** Index of the key's pane at `start`, created if needed. */
  private paneIndex(state: KeyPanes<Acc>, start: number): number {
    const index = firstAtOrAfter(state.starts, start);
    if (state.starts[index] === start) return index;
    state.starts.splice(index, 0, start);
    state.accs.splice(index, 0, this.aggregate.create());
    state.rows.splice(index, 0, 0);
    this.registerPane(start);
    return index;
  }

  private registerPane(start: number): void {
    if (this.livePanes.has(start)) return;
    this.livePanes.add(start);
    // Flink SlidingEventTimeWindows.assignWindows: the windows holding t start at windowStart(t), then every slide back while > t - size
    for (let begin = windowStart(start, this.offset, this.slide); begin > start - this.size; begin -= this.slide) {
      // Flink EventTimeTrigger.onElement registers a timer at maxTimestamp unless the window already fired
      if (begin + this.size - 1 > this.watermark) this.fireTimes.add(begin + this.size - 1);
    }
  }

  /** An element no window took: Flink WindowOperator side-outputs it only if isElementLate (timestamp + lateness <= watermark). */
  private skip(key: string, timestamp: number, record: In, sign: Sign): readonly LateElement<In>[] {
    if (timestamp + this.lateness > this.watermark) return NO_OUTPUT;
    this.late += 1;
    return [{ kind: 'late', reason: 'window-expired', key, timestamp, record, sign }];
  }

  /** The key's accumulator over [start, end): a pane's own when it is the only one, else a fresh merge. */
  private windowValue(state: KeyPanes<Acc>, start: number, end: number): { acc: Acc; rows: number } | undefined {
    let acc: Acc | undefined;
    let copied = false;
    let rows = 0;
    for (let i = firstAtOrAfter(state.starts, start); i < state.starts.length && (state.starts[i] as number) < end; i++) {
      const paneAcc = state.accs[i] as Acc;
      if (acc === undefined) {
        // Used as is while it is the only pane: result() does not mutate an accumulator
        acc = paneAcc;
      } else {
        if (!copied) {
          acc = this.aggregate.merge(this.aggregate.create(), acc);
          copied = true;
        }
        acc = this.aggregate.merge(acc, paneAcc);
      }
      rows += state.rows[i] as number;
    }
    return acc === undefined ? undefined : { acc, rows };
  }

  /** Re-fires, for one key, the fired windows still within lateness that contain the pane at `paneStart`. */
  private refire(key: string, state: KeyPanes<Acc>, paneStart: number): WindowOutput<In, Out>[] {
    const outputs: WindowOutput<In, Out>[] = [];
    // Flink SlidingEventTimeWindows.assignWindows order: latest window start first
    for (let start = windowStart(paneStart, this.offset, this.slide); start > paneStart - this.size; start -= this.slide) {
      const end = start + this.size;
      // Windows not fired yet wait for their timer; late ones are cleaned up (Flink isWindowLate)
      if (end - 1 > this.watermark || end - 1 + this.lateness <= this.watermark) continue;
      const value = this.windowValue(state, start, end);
      const window = { start, end };
      const wasEmitted = state.emitted?.includes(end) === true;
      if (value !== undefined && value.rows !== 0) {
        if (!wasEmitted) (state.emitted ??= []).push(end);
        outputs.push({ kind: wasEmitted ? 'update' : 'result', key, window, value: this.aggregate.result(value.acc) });
      } else if (wasEmitted) {
        state.emitted = state.emitted?.filter((e) => e !== end);
        outputs.push({ kind: 'retract', key, window });
      }
    }
    return outputs;
  }

  /**
   * One pass over the keys: first firings of the windows ending at `ends` (ascending), emitted window by window with
   * keys in sorted order (so a restored operator emits in the same order as an uninterrupted one); then panes and
   * emitted marks past cleanup are dropped (Flink WindowOperator.clearAllState).
   */
  private pass(ends: readonly number[]): WindowOutput<In, Out>[] {
    const byWindow = ends.map((): WindowOutput<In, Out>[] => []);
    const windows = ends.map((end): TimeWindow => ({ start: end - this.size, end }));
    const retained = ends.map((end) => end - 1 + this.lateness > this.watermark);
    for (const [key, state] of this.keys) {
      for (let w = 0; w < windows.length; w++) {
        const window = windows[w] as TimeWindow;
        const value = this.windowValue(state, window.start, window.end);
        if (value === undefined || value.rows === 0) continue;
        (byWindow[w] as WindowOutput<In, Out>[]).push({ kind: 'result', key, window, value: this.aggregate.result(value.acc) });
        if (retained[w] === true) {
          (state.emitted ??= []).push(window.end);
          this.changed.add(key);
        }
      }
      const expired = firstAtOrAfter(state.starts, this.expiredBefore);
      if (expired > 0) {
        state.starts.splice(0, expired);
        state.accs.splice(0, expired);
        state.rows.splice(0, expired);
        this.changed.add(key);
      }
      if (state.emitted !== undefined) {
        const live = state.emitted.filter((end) => end - 1 + this.lateness > this.watermark);
        if (live.length !== state.emitted.length) this.changed.add(key);
        state.emitted = live.length > 0 ? live : undefined;
      }
      if (state.starts.length === 0 && state.emitted === undefined) this.keys.delete(key);
    }
    for (const results of byWindow) results.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return byWindow.length === 1 ? (byWindow[0] as WindowOutput<In, Out>[]) : byWindow.flat();
  }
}

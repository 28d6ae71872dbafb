/** Keyed event-time interval join (Flink IntervalJoinOperator): left.ts + lower <= right.ts <= left.ts + upper. */
import { entriesOf, takeAll } from './keyed-snapshots.js';
import { firstAtOrAfter } from './sorted.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';

export interface IntervalJoinOptions {
  readonly lowerBound: number;
  readonly upperBound: number;
  /** Flink's bounds are inclusive unless lowerBoundExclusive() / upperBoundExclusive() is called. */
  readonly lowerBoundExclusive?: boolean;
  readonly upperBoundExclusive?: boolean;
}

export interface JoinedPair<L, R> {
  readonly kind: 'joined';
  readonly key: string;
  readonly left: L;
  readonly right: R;
  /** max(left timestamp, right timestamp), as Flink sets on the output record. */
  readonly timestamp: number;
}

/** Flink drops an input whose timestamp is below the watermark; here it goes to the late output. */
export type LateJoinInput<L, R> = { readonly kind: 'late'; readonly reason: 'behind-watermark'; readonly key: string; readonly timestamp: number } & (
  | { readonly side: 'left'; readonly record: L }
  | { readonly side: 'right'; readonly record: R }
);

export type IntervalJoinOutput<L, R> = JoinedPair<L, R> | LateJoinInput<L, R>;

/** Records by timestamp, timestamps kept sorted for range scans. */
interface SideBuffer<T> {
  readonly times: number[];
  readonly byTime: Map<number, T[]>;
}

interface KeyBuffers<L, R> {
  readonly left: SideBuffer<L>;
  readonly right: SideBuffer<R>;
}

export type SavedBuffer<T> = ReadonlyArray<readonly [timestamp: number, records: readonly T[]]>;

export interface IntervalJoinSnapshot<L, R> {
  readonly lowerBound: number;
  readonly upperBound: number;
  readonly watermark: number;
  readonly lateCount: number;
  /** Per key, sorted by key. Records must be JSON-serialisable. */
  readonly keys: ReadonlyArray<readonly [key: string, buffers: { readonly left: SavedBuffer<L>; readonly right: SavedBuffer<R> }]>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);

function emptyBuffer<T>(): SideBuffer<T> {
  return { times: [], byTime: new Map() };
}

function addToBuffer<T>(buffer: SideBuffer<T>, timestamp: number, record: T): void {
  const records = buffer.byTime.get(timestamp);
  if (records !== undefined) {
    records.push(record);
    return;
  }
  buffer.byTime.set(timestamp, [record]);
  buffer.times.splice(firstAtOrAfter(buffer.times, timestamp), 0, timestamp);
}

function removeFromBuffer<T>(buffer: SideBuffer<T>, timestamp: number): void {
  if (!buffer.byTime.delete(timestamp)) return;
  buffer.times.splice(firstAtOrAfter(buffer.times, timestamp), 1);
}

function saveBuffer<T>(buffer: SideBuffer<T>): SavedBuffer<T> {
  return buffer.times.map((time) => [time, (buffer.byTime.get(time) ?? []).slice()] as const);
}

export class IntervalJoin<L, R> {
  static restore<L, R>(options: IntervalJoinOptions, snapshot: IntervalJoinSnapshot<L, R>): IntervalJoin<L, R> {
    const join = new IntervalJoin<L, R>(options);
    if (snapshot.lowerBound !== join.lower || snapshot.upperBound !== join.upper) {
      throw new RangeError('snapshot was taken with different join bounds');
    }
    join.watermark = snapshot.watermark;
    join.late = snapshot.lateCount;
    join.leftCleanup = new TimerService(snapshot.watermark);
    join.rightCleanup = new TimerService(snapshot.watermark);
    for (const [key, saved] of snapshot.keys) {
      const buffers = join.buffersOf(key);
      for (const [time, records] of saved.left) {
        for (const record of records) addToBuffer(buffers.left, time, record);
        join.leftCleanup.registerEventTimeTimer(key, join.leftCleanupTime(time));
      }
      for (const [time, records] of saved.right) {
        for (const record of records) addToBuffer(buffers.right, time, record);
        join.rightCleanup.registerEventTimeTimer(key, join.rightCleanupTime(time));
      }
    }
    return join;
  }

  /** Bounds after inclusivity is folded in, so every comparison below is inclusive. */
  private readonly lower: number;
  private readonly upper: number;
  private readonly buffers = new Map<string, KeyBuffers<L, R>>();
  private readonly changed = new Set<string>();
  readonly keyedField = 'keys';
  private leftCleanup = new TimerService();
  private rightCleanup = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: IntervalJoinOptions) {
    const { lowerBound, upperBound } = options;
    if (!Number.isSafeInteger(lowerBound) || !Number.isSafeInteger(upperBound)) throw new RangeError('join bounds must be integers of ms');
    // Flink IntervalJoinOperator: requires lowerBound <= upperBound
    if (lowerBound > upperBound) throw new RangeError(`join lower bound ${lowerBound} is above upper bound ${upperBound}`);
    // Flink IntervalJoinOperator: an exclusive bound moves by one ms so that comparisons stay inclusive
    this.lower = options.lowerBoundExclusive === true ? lowerBound + 1 : lowerBound;
    this.upper = options.upperBoundExclusive === true ? upperBound - 1 : upperBound;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  processLeft(key: string, timestamp: number, record: L): readonly IntervalJoinOutput<L, R>[] {
    if (this.isLate(timestamp)) {
      this.late += 1;
      return [{ kind: 'late', reason: 'behind-watermark', side: 'left', key, timestamp, record }];
    }
    const buffers = this.buffersOf(key);
    addToBuffer(buffers.left, timestamp, record);
    this.changed.add(key);
    const outputs = this.pairs(buffers.right, timestamp + this.lower, timestamp + this.upper, (right, rightTime) => ({
      kind: 'joined',
      key,
      left: record,
      right,
      timestamp: Math.max(timestamp, rightTime),
    }));
    this.leftCleanup.registerEventTimeTimer(key, this.leftCleanupTime(timestamp));
    return outputs;
  }

  processRight(key: string, timestamp: number, record: R): readonly IntervalJoinOutput<L, R>[] {
    if (this.isLate(timestamp)) {
      this.late += 1;
      return [{ kind: 'late', reason: 'behind-watermark', side: 'right', key, timestamp, record }];
    }
    const buffers = this.buffersOf(key);
    addToBuffer(buffers.right, timestamp, record);
    this.changed.add(key);
    // Flink IntervalJoinOperator.processElement2: the right side joins over [ts - upper, ts - lower]
    const outputs = this.pairs(buffers.left, timestamp - this.upper, timestamp - this.lower, (left, leftTime) => ({
      kind: 'joined',
      key,
      left,
      right: record,
      timestamp: Math.max(leftTime, timestamp),
    }));
    this.rightCleanup.registerEventTimeTimer(key, this.rightCleanupTime(timestamp));
    return outputs;
  }

  /** The watermark of the join: the min of both inputs' watermarks (see WatermarkCombiner). Only evicts; emits nothing. */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    this.leftCleanup.advanceWatermark(watermark, (key, time) => {
      // Flink IntervalJoinOperator.onEventTime, left namespace: timestamp = upperBound <= 0 ? time : time - upperBound
      this.evict(key, 'left', this.upper <= 0 ? time : time - this.upper);
    });
    this.rightCleanup.advanceWatermark(watermark, (key, time) => {
      // Flink IntervalJoinOperator.onEventTime, right namespace: timestamp = lowerBound <= 0 ? time + lowerBound : time
      this.evict(key, 'right', this.lower <= 0 ? time + this.lower : time);
    });
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): IntervalJoinSnapshot<L, R> {
    return {
      lowerBound: this.lower,
      upperBound: this.upper,
      watermark: this.watermark,
      lateCount: this.late,
      keys: entriesOf(this.buffers, only).map(([key, buffers]) => [key, { left: saveBuffer(buffers.left), right: saveBuffer(buffers.right) }] as const),
    };
  }

  private isLate(timestamp: number): boolean {
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`event timestamp ${timestamp} is not a safe integer of ms`);
    // Flink IntervalJoinOperator.isLate: timestamp < currentWatermark
    return timestamp < this.watermark;
  }

  private leftCleanupTime(timestamp: number): number {
    // Flink IntervalJoinOperator: left cleanup timer at ts + upperBound (at ts when upperBound <= 0)
    return this.upper > 0 ? timestamp + this.upper : timestamp;
  }

  private rightCleanupTime(timestamp: number): number {
    // Flink IntervalJoinOperator: right cleanup timer at ts - lowerBound (at ts when lowerBound >= 0)
    return -this.lower > 0 ? timestamp - this.lower : timestamp;
  }

  private buffersOf(key: string): KeyBuffers<L, R> {
    let buffers = this.buffers.get(key);
    if (buffers === undefined) {
      buffers = { left: emptyBuffer(), right: emptyBuffer() };
      this.buffers.set(key, buffers);
    }
    return buffers;
  }

  /** Pairs with every buffered record in [from, to], in timestamp then arrival order. */
  private pairs<T>(buffer: SideBuffer<T>, from: number, to: number, pair: (other: T, otherTime: number) => JoinedPair<L, R>): readonly JoinedPair<L, R>[] {
    let outputs: JoinedPair<L, R>[] | undefined;
    for (let i = firstAtOrAfter(buffer.times, from); i < buffer.times.length; i++) {
      const time = buffer.times[i] as number;
      if (time > to) break;
      for (const other of buffer.byTime.get(time) ?? []) (outputs ??= []).push(pair(other, time));
    }
    return outputs ?? NO_OUTPUT;
  }

  private evict(key: string, side: 'left' | 'right', timestamp: number): void {
    const buffers = this.buffers.get(key);
    if (buffers === undefined) return;
    this.changed.add(key);
    if (side === 'left') removeFromBuffer(buffers.left, timestamp);
    else removeFromBuffer(buffers.right, timestamp);
    if (buffers.left.times.length === 0 && buffers.right.times.length === 0) this.buffers.delete(key);
  }
}

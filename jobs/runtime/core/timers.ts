/** Event-time and processing-time timers per key (Flink InternalTimerService), plus the heap they run on. */
import { MIN_TIMESTAMP } from './watermark.js';

/** A min-heap of distinct timestamps. */
export class TimestampQueue {
  private readonly heap: number[] = [];
  private readonly queued = new Set<number>();

  get size(): number {
    return this.heap.length;
  }

  add(timestamp: number): void {
    if (this.queued.has(timestamp)) return;
    this.queued.add(timestamp);
    const heap = this.heap;
    let i = heap.push(timestamp) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as number;
      if (above <= timestamp) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = timestamp;
  }

  has(timestamp: number): boolean {
    return this.queued.has(timestamp);
  }

  peek(): number | undefined {
    return this.heap[0];
  }

  poll(): number | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    this.queued.delete(top);
    const last = heap.pop() as number;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
        const below = heap[child] as number;
        if (below >= last) break;
        heap[i] = below;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

export type TimerCallback = (key: string, timestamp: number) => void;

/** Timers of one time domain: at most one per (key, timestamp). */
class KeyedTimers {
  private readonly keysByTime = new Map<number, Set<string>>();
  private readonly times = new TimestampQueue();

  register(key: string, timestamp: number): void {
    let keys = this.keysByTime.get(timestamp);
    if (keys === undefined) {
      keys = new Set();
      this.keysByTime.set(timestamp, keys);
    }
    keys.add(key);
    this.times.add(timestamp);
  }

  delete(key: string, timestamp: number): void {
    const keys = this.keysByTime.get(timestamp);
    if (keys === undefined) return;
    keys.delete(key);
    // The heap keeps the timestamp; fireUpTo skips timestamps that have no timers left.
    if (keys.size === 0) this.keysByTime.delete(timestamp);
  }

  /** Fires timers with timestamp <= limit in (timestamp, key) order, including ones the callbacks register. */
  fireUpTo(limit: number, onTimer: TimerCallback): void {
    for (let time = this.times.peek(); time !== undefined && time <= limit; time = this.times.peek()) {
      this.times.poll();
      const keys = this.keysByTime.get(time);
      if (keys === undefined) continue;
      // Keys in sorted order so that firing order does not depend on registration order (or on a restore).
      for (const key of Array.from(keys).sort()) {
        if (keys.delete(key)) onTimer(key, time);
      }
      // A callback may have registered (key, time) again: register() queued the time anew, so it fires next round.
      if (keys.size === 0 && this.keysByTime.get(time) === keys) this.keysByTime.delete(time);
    }
  }

  /** Timestamps per key, for snapshots. */
  collect(into: Map<string, number[]>): void {
    for (const [time, keys] of this.keysByTime) {
      for (const key of keys) {
        let times = into.get(key);
        if (times === undefined) {
          times = [];
          into.set(key, times);
        }
        times.push(time);
      }
    }
  }
}

export interface TimerServiceSnapshot {
  readonly watermark: number;
  readonly processingTime: number;
  readonly keys: ReadonlyArray<readonly [key: string, timers: { readonly eventTime: readonly number[]; readonly processingTime: readonly number[] }]>;
}

/** Flink's InternalTimerService without namespaces: timers are (key, timestamp), deduplicated. */
export class TimerService {
  static restore(snapshot: TimerServiceSnapshot): TimerService {
    const service = new TimerService(snapshot.watermark, snapshot.processingTime);
    for (const [key, timers] of snapshot.keys) {
      for (const time of timers.eventTime) service.registerEventTimeTimer(key, time);
      for (const time of timers.processingTime) service.registerProcessingTimeTimer(key, time);
    }
    return service;
  }

  private readonly eventTimers = new KeyedTimers();
  private readonly processingTimers = new KeyedTimers();
  private watermark: number;
  private processingTime: number;

  constructor(watermark = MIN_TIMESTAMP, processingTime = MIN_TIMESTAMP) {
    this.watermark = watermark;
    this.processingTime = processingTime;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get currentProcessingTime(): number {
    return this.processingTime;
  }

  registerEventTimeTimer(key: string, timestamp: number): void {
    this.eventTimers.register(key, timestamp);
  }

  deleteEventTimeTimer(key: string, timestamp: number): void {
    this.eventTimers.delete(key, timestamp);
  }

  registerProcessingTimeTimer(key: string, timestamp: number): void {
    this.processingTimers.register(key, timestamp);
  }

  deleteProcessingTimeTimer(key: string, timestamp: number): void {
    this.processingTimers.delete(key, timestamp);
  }

  /** Ignores a watermark that does not advance; a timer registered at or before the watermark fires on the next advance. */
  advanceWatermark(watermark: number, onTimer: TimerCallback): void {
    if (watermark <= this.watermark) return;
    // Flink InternalTimerServiceImpl.advanceWatermark: set the watermark, then fire every timer with timestamp <= watermark
    this.watermark = watermark;
    this.eventTimers.fireUpTo(watermark, onTimer);
  }

  advanceProcessingTime(nowMs: number, onTimer: TimerCallback): void {
    if (nowMs <= this.processingTime) return;
    // Flink InternalTimerServiceImpl.onProcessingTime: fire every timer with timestamp <= current processing time
    this.processingTime = nowMs;
    this.processingTimers.fireUpTo(nowMs, onTimer);
  }

  snapshot(): TimerServiceSnapshot {
    const eventTime = new Map<string, number[]>();
    const processingTime = new Map<string, number[]>();
    this.eventTimers.collect(eventTime);
    this.processingTimers.collect(processingTime);
    const keys = Array.from(new Set([...eventTime.keys(), ...processingTime.keys()])).sort();
    return {
      watermark: this.watermark,
      processingTime: this.processingTime,
      keys: keys.map((key) => [key, { eventTime: eventTime.get(key) ?? [], processingTime: processingTime.get(key) ?? [] }] as const),
    };
  }
}

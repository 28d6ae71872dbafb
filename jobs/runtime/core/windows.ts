/** Event-time windows: assigners, Flink's window arithmetic, and the records window operators emit. */
import type { KeyedSnapshots } from './keyed-snapshots.js';
import type { Sign } from './aggregates.js';

/** [start, end): holds timestamps start <= t <= end - 1. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export interface TumblingWindows {
  readonly kind: 'tumbling';
  readonly size: number;
  readonly offset: number;
}

export interface SlidingWindows {
  readonly kind: 'sliding';
  readonly size: number;
  readonly slide: number;
  readonly offset: number;
}

export interface SessionWindows {
  readonly kind: 'session';
  readonly gap: number;
}

/** Windows whose bounds depend only on time, not on the data: they can share panes. */
export type AlignedWindows = TumblingWindows | SlidingWindows;
export type WindowAssigner = AlignedWindows | SessionWindows;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

function requirePositiveInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${what} must be a positive integer of ms, got ${value}`);
}

export function tumblingWindows(size: number, offset = 0): TumblingWindows {
  requirePositiveInteger('window size', size);
  // Flink TumblingEventTimeWindows.of: requires abs(offset) < size
  if (!Number.isSafeInteger(offset) || Math.abs(offset) >= size) throw new RangeError(`window offset must satisfy |offset| < size, got ${offset}`);
  return { kind: 'tumbling', size, offset };
}

export function slidingWindows(size: number, slide: number, offset = 0): SlidingWindows {
  requirePositiveInteger('window size', size);
  requirePositiveInteger('window slide', slide);
  // Flink SlidingEventTimeWindows.of: requires abs(offset) < slide and size > 0
  if (!Number.isSafeInteger(offset) || Math.abs(offset) >= slide) throw new RangeError(`window offset must satisfy |offset| < slide, got ${offset}`);
  return { kind: 'sliding', size, slide, offset };
}

export function sessionWindows(gap: number): SessionWindows {
  // Flink EventTimeSessionWindows.withGap: requires 0 < gap
  requirePositiveInteger('session gap', gap);
  return { kind: 'session', gap };
}

/**
 * Calendar days in a zone `utcOffsetMs` ahead of UTC. For UTC+8 this is Flink's
 * TumblingEventTimeWindows.of(Time.days(1), Time.hours(-8)): windows start at local midnight.
 */
export function dailyWindows(utcOffsetMs: number): TumblingWindows {
  return tumblingWindows(DAY_MS, -utcOffsetMs);
}

/** Flink TimeWindow.getWindowStartWithOffset: timestamp - ((timestamp - offset) mod size), negatives included. */
export function windowStart(timestamp: number, offset: number, size: number): number {
  const remainder = (timestamp - offset) % size;
  return remainder < 0 ? timestamp - (remainder + size) : timestamp - remainder;
}

/** Flink TimeWindow.maxTimestamp: the last timestamp in the window, end - 1. */
export function maxTimestamp(window: TimeWindow): number {
  return window.end - 1;
}

/** Flink WindowOperator.cleanupTime: state of an event-time window is kept until watermark >= maxTimestamp + lateness. */
export function cleanupTime(window: TimeWindow, allowedLateness: number): number {
  return window.end - 1 + allowedLateness;
}

/** Flink WindowOperator.isWindowLate: cleanupTime <= currentWatermark. */
export function isWindowLate(window: TimeWindow, allowedLateness: number, watermark: number): boolean {
  return cleanupTime(window, allowedLateness) <= watermark;
}

/** The windows an element belongs to, in Flink's order (sliding: latest start first). */
export function assignWindows(assigner: WindowAssigner, timestamp: number): TimeWindow[] {
  switch (assigner.kind) {
    case 'tumbling': {
      const start = windowStart(timestamp, assigner.offset, assigner.size);
      return [{ start, end: start + assigner.size }];
    }
    case 'sliding': {
      const windows: TimeWindow[] = [];
      // Flink SlidingEventTimeWindows.assignWindows
      for (let start = windowStart(timestamp, assigner.offset, assigner.slide); start > timestamp - assigner.size; start -= assigner.slide) {
        windows.push({ start, end: start + assigner.size });
      }
      return windows;
    }
    case 'session':
      // Flink EventTimeSessionWindows.assignWindows: [timestamp, timestamp + gap), merged later
      return [{ start: timestamp, end: timestamp + assigner.gap }];
  }
}

/** A window's value for a key: `result` on its first firing, `update` when a late element re-fires it. */
export interface WindowResult<Out> {
  readonly kind: 'result' | 'update';
  readonly key: string;
  readonly window: TimeWindow;
  readonly value: Out;
}

/** An earlier result no longer holds: retractions emptied the window, or a session was merged into a larger one. */
export interface WindowRetraction {
  readonly kind: 'retract';
  readonly key: string;
  readonly window: TimeWindow;
}

/** An element dropped because every window it belongs to is past its cleanup time (Flink's late-data side output). */
export interface LateElement<In> {
  readonly kind: 'late';
  readonly reason: 'window-expired';
  readonly key: string;
  readonly timestamp: number;
  readonly record: In;
  readonly sign: Sign;
}

export type WindowOutput<In, Out> = WindowResult<Out> | WindowRetraction | LateElement<In>;

/** A keyed event-time window aggregation with Flink's EventTimeTrigger and allowed lateness. */
export interface WindowOperator<In, Out, Snapshot> extends KeyedSnapshots<Snapshot> {
  readonly currentWatermark: number;
  /** Elements sent to the late output so far. */
  readonly lateCount: number;
  process(key: string, timestamp: number, value: In, sign?: Sign): readonly WindowOutput<In, Out>[];
  /** Fires and cleans up windows; a watermark that does not advance is ignored. */
  advanceWatermark(watermark: number): readonly WindowOutput<In, Out>[];
}

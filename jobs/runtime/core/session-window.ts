/** Event-time session windows with Flink's merging semantics (MergingWindowSet + EventTimeTrigger + allowed lateness). */
import type { AggregateSpec, Sign } from './aggregates.js';
import { entriesOf, takeAll } from './keyed-snapshots.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';
import type { SessionWindows, WindowOperator, WindowOutput } from './windows.js';

export interface SessionWindowOptions<In, Acc, Out, Saved> {
  readonly assigner: SessionWindows;
  readonly aggregate: AggregateSpec<In, Acc, Out, Saved>;
  /** Flink allowedLateness in ms; 0 by default. */
  readonly allowedLateness?: number;
}

interface Session<Acc> {
  start: number;
  end: number;
  acc: Acc;
  rows: number;
  /** A result for exactly [start, end) has been emitted and not retracted. */
  emitted: boolean;
}

export type SavedSession<Saved> = readonly [start: number, end: number, acc: Saved, rows: number, emitted: boolean];

export interface SessionWindowSnapshot<Saved> {
  readonly kind: 'session';
  readonly gap: number;
  readonly allowedLateness: number;
  readonly watermark: number;
  readonly lateCount: number;
  /** Per key, sorted by key; each key's sessions sorted by start. */
  readonly keys: ReadonlyArray<readonly [key: string, sessions: ReadonlyArray<SavedSession<Saved>>]>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);

/**
 * Per key, sessions are kept sorted, disjoint and not touching: Flink TimeWindow.intersects is inclusive
 * (start <= other.end && end >= other.start), so [0, 10) and [10, 20) merge. Retractions are applied to the session
 * their timestamp falls in (they extend it like any element): a session never splits.
 */
export class SessionWindowOperator<In, Acc, Out, Saved> implements WindowOperator<In, Out, SessionWindowSnapshot<Saved>> {
  static restore<In, Acc, Out, Saved>(
    options: SessionWindowOptions<In, Acc, Out, Saved>,
    snapshot: SessionWindowSnapshot<Saved>,
  ): SessionWindowOperator<In, Acc, Out, Saved> {
    const operator = new SessionWindowOperator(options);
    if (snapshot.gap !== operator.gap || snapshot.allowedLateness !== operator.lateness) {
      throw new RangeError('snapshot was taken with a different session gap or allowed lateness');
    }
    operator.timers = new TimerService(snapshot.watermark);
    operator.late = snapshot.lateCount;
    for (const [key, saved] of snapshot.keys) {
      const sessions = saved.map(([start, end, acc, rows, emitted]) => ({ start, end, acc: operator.aggregate.load(acc), rows, emitted }));
      operator.sessionsByKey.set(key, sessions);
      for (const session of sessions) operator.registerTimers(key, session);
    }
    return operator;
  }

  private readonly aggregate: AggregateSpec<In, Acc, Out, Saved>;
  private readonly gap: number;
  private readonly lateness: number;
  private readonly sessionsByKey = new Map<string, Session<Acc>[]>();
  private readonly changed = new Set<string>();
  readonly keyedField = 'keys';
  /**
   * Fire timers at maxTimestamp and cleanup timers at maxTimestamp + lateness, per (key, time). Timers of sessions
   * merged away are not deleted: when one fires, the key's current sessions decide what it does, so a stale one is
   * a no-op.
   */
  private timers = new TimerService();
  private late = 0;

  constructor(options: SessionWindowOptions<In, Acc, Out, Saved>) {
    const { allowedLateness = 0 } = options;
    if (!Number.isSafeInteger(allowedLateness) || allowedLateness < 0) {
      throw new RangeError(`allowed lateness must be a non-negative integer of ms, got ${allowedLateness}`);
    }
    this.aggregate = options.aggregate;
    this.gap = options.assigner.gap;
    this.lateness = allowedLateness;
  }

  get currentWatermark(): number {
    return this.timers.currentWatermark;
  }

  get lateCount(): number {
    return this.late;
  }

  process(key: string, timestamp: number, value: In, sign: Sign = 1): readonly WindowOutput<In, Out>[] {
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`event timestamp ${timestamp} is not a safe integer of ms`);
    const watermark = this.currentWatermark;
    const start = timestamp;
    const end = timestamp + this.gap;
    let sessions = this.sessionsByKey.get(key);
    if (sessions === undefined) {
      sessions = [];
      this.sessionsByKey.set(key, sessions);
    }
    // The sessions that intersect [start, end) form one run [first, last) of the sorted list.
    let last = sessions.length;
    while (last > 0 && (sessions[last - 1] as Session<Acc>).start > end) last -= 1;
    let first = last;
    while (first > 0 && (sessions[first - 1] as Session<Acc>).end >= start) first -= 1;

    let outputs: WindowOutput<In, Out>[] | undefined;
    let session: Session<Acc>;
    if (first === last) {
      // Flink WindowOperator.isWindowLate on the new, unmerged window: cleanupTime <= watermark
      if (end - 1 + this.lateness <= watermark) {
        if (sessions.length === 0) this.sessionsByKey.delete(key);
        // Flink side-outputs a skipped element if isElementLate: always so here, as timestamp <= end - 1
        this.late += 1;
        return [{ kind: 'late', reason: 'window-expired', key, timestamp, record: value, sign }];
      }
      session = { start, end, acc: this.aggregate.create(), rows: 0, emitted: false };
      sessions.splice(first, 0, session);
    } else {
      session = sessions[first] as Session<Acc>;
      const mergedStart = Math.min(session.start, start);
      const mergedEnd = Math.max((sessions[last - 1] as Session<Acc>).end, end);
      // Flink MergingWindowSet.addWindow: a new window inside one existing window merges nothing
      if (last - first > 1 || mergedStart !== session.start || mergedEnd !== session.end) {
        outputs = [];
        for (let i = first; i < last; i++) {
          const merged = sessions[i] as Session<Acc>;
          if (merged.emitted) outputs.push({ kind: 'retract', key, window: { start: merged.start, end: merged.end } });
          if (i > first) {
            session.acc = this.aggregate.merge(session.acc, merged.acc);
            session.rows += merged.rows;
          }
        }
        sessions.splice(first + 1, last - first - 1);
        session.start = mergedStart;
        session.end = mergedEnd;
        session.emitted = false;
        // Merging only grows windows, and every existing one is within lateness, so the merged one is too.
      }
    }
    session.acc = this.aggregate.add(session.acc, value, sign);
    session.rows += sign;
    this.changed.add(key);
    // Flink EventTimeTrigger.onElement: FIRE at once when maxTimestamp <= watermark, else a timer at maxTimestamp
    if (session.end - 1 <= watermark) {
      const fired = this.emit(key, session);
      if (fired !== undefined) (outputs ??= []).push(fired);
    }
    this.registerTimers(key, session);
    return outputs ?? NO_OUTPUT;
  }

  advanceWatermark(watermark: number): readonly WindowOutput<In, Out>[] {
    let outputs: WindowOutput<In, Out>[] | undefined;
    this.timers.advanceWatermark(watermark, (key, time) => {
      const sessions = this.sessionsByKey.get(key);
      if (sessions === undefined) return;
      // A firing marks emitted, a cleanup removes: either changes the key (a stale timer rewrites it unchanged).
      this.changed.add(key);
      for (let i = 0; i < sessions.length; ) {
        const session = sessions[i] as Session<Acc>;
        // Flink EventTimeTrigger.onEventTime: FIRE when time == window.maxTimestamp()
        if (session.end - 1 === time) {
          const fired = this.emit(key, session);
          if (fired !== undefined) (outputs ??= []).push(fired);
        }
        // Flink WindowOperator.onEventTime: clear the window's state at its cleanup time, after firing
        if (session.end - 1 + this.lateness === time) sessions.splice(i, 1);
        else i += 1;
      }
      if (sessions.length === 0) this.sessionsByKey.delete(key);
    });
    return outputs ?? NO_OUTPUT;
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): SessionWindowSnapshot<Saved> {
    return {
      kind: 'session',
      gap: this.gap,
      allowedLateness: this.lateness,
      watermark: this.currentWatermark,
      lateCount: this.late,
      keys: entriesOf(this.sessionsByKey, only).map(([key, sessions]) => [key, sessions.map((s) => [s.start, s.end, this.aggregate.save(s.acc), s.rows, s.emitted] as const)] as const),
    };
  }

  /** The session's current value for its key: result or update, or a retraction once retractions emptied it. */
  private emit(key: string, session: Session<Acc>): WindowOutput<In, Out> | undefined {
    const window = { start: session.start, end: session.end };
    if (session.rows !== 0) {
      const kind = session.emitted ? 'update' : 'result';
      session.emitted = true;
      return { kind, key, window, value: this.aggregate.result(session.acc) };
    }
    if (!session.emitted) return undefined;
    session.emitted = false;
    return { kind: 'retract', key, window };
  }

  private registerTimers(key: string, session: Session<Acc>): void {
    const maxTimestamp = session.end - 1;
    // Flink EventTimeTrigger.onMerge/onElement: a fire timer only while the watermark is before maxTimestamp
    if (maxTimestamp > this.currentWatermark) this.timers.registerEventTimeTimer(key, maxTimestamp);
    // Flink WindowOperator.registerCleanupTimer: at maxTimestamp + allowedLateness
    this.timers.registerEventTimeTimer(key, maxTimestamp + this.lateness);
  }
}

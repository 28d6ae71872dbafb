/**
 * A keyed interval semi-join over changelog inputs, per group of the right side:
 *
 *   SELECT l.*, r.grp FROM left l
 *   WHERE EXISTS (SELECT 1 FROM right r WHERE r.key = l.key AND r.grp = grp
 *                 AND r.time BETWEEN l.time + lowerBound AND l.time + upperBound)
 *
 * i.e. each left row matches each group once, however many right rows of the group are in its interval
 * (both bounds inclusive, as Flink's interval join). Left rows (by id) and right rows (by group and
 * time, with multiplicities) are inserted (+1) and retracted (-1) in any order; every change emits the
 * matches it makes or unmakes (+1/-1 per left row and group), so a consumer's figures follow the current
 * rows.
 *
 * State retention is by event time: a left row is kept while time + retention >= watermark, a right row
 * while a left row it can match may still come (time - lowerBound + retention >= watermark). A row older
 * than that goes to the late output. A dropped left row's matches stand.
 */
import { entriesOf, takeAll } from './keyed-snapshots.js';
import type { Sign } from './aggregates.js';
import { firstAtOrAfter } from './sorted.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';

export interface IntervalExistsOptions {
  /** right.time - left.time must lie in [lowerBound, upperBound] */
  readonly lowerBound: number;
  readonly upperBound: number;
  /** event-time retention of left rows, ms */
  readonly retentionMs: number;
}

export type IntervalExistsOutput<L> =
  | { readonly kind: 'match'; readonly key: string; readonly id: string; readonly time: number; readonly row: L; readonly group: string; readonly sign: Sign }
  | { readonly kind: 'late'; readonly reason: 'older-than-retention'; readonly side: 'left' | 'right'; readonly key: string; readonly time: number; readonly watermark: number };

interface LeftRow<L> {
  readonly time: number;
  readonly row: L;
  /** groups it matches, as emitted */
  readonly groups: Set<string>;
}

/** A group's right rows: sorted distinct times and their multiplicities. */
interface RightTimes {
  readonly times: number[];
  readonly counts: Map<number, number>;
}

interface KeyState<L> {
  readonly lefts: Map<string, LeftRow<L>>;
  readonly rights: Map<string, RightTimes>;
}

export interface SavedExistsKey<L> {
  readonly lefts: ReadonlyArray<readonly [id: string, time: number, row: L, groups: readonly string[]]>;
  readonly rights: ReadonlyArray<readonly [group: string, times: ReadonlyArray<readonly [time: number, count: number]>]>;
}

export interface IntervalExistsSnapshot<L> {
  readonly lowerBound: number;
  readonly upperBound: number;
  readonly retentionMs: number;
  readonly watermark: number;
  readonly lateCount: number;
  readonly keys: ReadonlyArray<readonly [key: string, state: SavedExistsKey<L>]>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);

export class IntervalExists<L> {
  static restore<L>(options: IntervalExistsOptions, snapshot: IntervalExistsSnapshot<L>): IntervalExists<L> {
    const join = new IntervalExists<L>(options);
    if (snapshot.lowerBound !== join.lower || snapshot.upperBound !== join.upper || snapshot.retentionMs !== join.retention) {
      throw new RangeError('snapshot was taken with different join bounds or retention');
    }
    join.watermark = snapshot.watermark;
    join.late = snapshot.lateCount;
    join.timers = new TimerService(snapshot.watermark);
    for (const [key, saved] of snapshot.keys) {
      const state = join.stateOf(key);
      for (const [id, time, row, groups] of saved.lefts) {
        state.lefts.set(id, { time, row, groups: new Set(groups) });
        join.timers.registerEventTimeTimer(key, join.leftExpiry(time));
      }
      for (const [group, times] of saved.rights) {
        const right: RightTimes = { times: times.map(([t]) => t), counts: new Map(times) };
        state.rights.set(group, right);
        for (const [t] of times) join.timers.registerEventTimeTimer(key, join.rightExpiry(t));
      }
    }
    return join;
  }

  readonly keyedField = 'keys';
  private readonly lower: number;
  private readonly upper: number;
  private readonly retention: number;
  private readonly keys = new Map<string, KeyState<L>>();
  private readonly changed = new Set<string>();
  private timers = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: IntervalExistsOptions) {
    const { lowerBound, upperBound, retentionMs } = options;
    if (!Number.isSafeInteger(lowerBound) || !Number.isSafeInteger(upperBound)) throw new RangeError('join bounds must be integers of ms');
    if (lowerBound > upperBound) throw new RangeError(`join lower bound ${lowerBound} is above upper bound ${upperBound}`);
    if (!Number.isSafeInteger(retentionMs) || retentionMs <= 0) throw new RangeError(`state retention must be a positive integer of ms, got ${retentionMs}`);
    this.lower = lowerBound;
    this.upper = upperBound;
    this.retention = retentionMs;
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

  /** Inserts (+1) or retracts (-1) the left row `id`; a retraction must name a row present, an insert one absent. */
  left(key: string, id: string, time: number, row: L, sign: Sign): readonly IntervalExistsOutput<L>[] {
    if (!Number.isSafeInteger(time)) throw new RangeError(`event time ${time} is not a safe integer of ms`);
    const state = this.keys.get(key);
    const present = state?.lefts.get(id);
    if (present === undefined && this.leftExpiry(time) <= this.watermark) return this.lateOutput('left', key, time);
    if (sign === -1) {
      if (present === undefined) throw new RangeError(`key ${key}: left row ${id} is retracted but not present`);
      (state as KeyState<L>).lefts.delete(id);
      this.changed.add(key);
      this.dropIfEmpty(key);
      return [...present.groups].sort().map((group) => ({ kind: 'match', key, id, time: present.time, row: present.row, group, sign: -1 }));
    }
    if (present !== undefined) throw new RangeError(`key ${key}: left row ${id} is inserted twice`);
    const s = this.stateOf(key);
    const groups = new Set<string>();
    for (const [group, right] of s.rights) if (this.exists(right, time)) groups.add(group);
    s.lefts.set(id, { time, row, groups });
    this.timers.registerEventTimeTimer(key, this.leftExpiry(time));
    this.changed.add(key);
    return [...groups].sort().map((group) => ({ kind: 'match', key, id, time, row, group, sign: 1 }));
  }

  /** Adds (+1) or takes back (-1) one right row of `group` at `time`. */
  right(key: string, group: string, time: number, sign: Sign): readonly IntervalExistsOutput<L>[] {
    if (!Number.isSafeInteger(time)) throw new RangeError(`event time ${time} is not a safe integer of ms`);
    const known = this.keys.get(key)?.rights.get(group)?.counts.has(time) === true;
    if (!known && this.rightExpiry(time) <= this.watermark) return this.lateOutput('right', key, time);
    const state = this.stateOf(key);
    let right = state.rights.get(group);
    if (right === undefined) {
      right = { times: [], counts: new Map() };
      state.rights.set(group, right);
    }
    const count = (right.counts.get(time) ?? 0) + sign;
    if (!right.counts.has(time)) {
      right.times.splice(firstAtOrAfter(right.times, time), 0, time);
      this.timers.registerEventTimeTimer(key, this.rightExpiry(time));
    }
    if (count === 0) {
      right.counts.delete(time);
      right.times.splice(firstAtOrAfter(right.times, time), 1);
      if (right.times.length === 0) state.rights.delete(group);
    } else {
      right.counts.set(time, count);
    }
    this.changed.add(key);
    // the left rows whose interval holds `time`: left.time in [time - upper, time - lower]
    let outputs: IntervalExistsOutput<L>[] | undefined;
    const lefts = [...state.lefts].filter(([, l]) => l.time >= time - this.upper && l.time <= time - this.lower).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [id, l] of lefts) {
      const now = this.exists(right, l.time);
      if (now === l.groups.has(group)) continue;
      if (now) l.groups.add(group);
      else l.groups.delete(group);
      (outputs ??= []).push({ kind: 'match', key, id, time: l.time, row: l.row, group, sign: now ? 1 : -1 });
    }
    this.dropIfEmpty(key);
    return outputs ?? NO_OUTPUT;
  }

  /** Drops rows the retention no longer keeps; emits nothing (the matches of dropped left rows stand). */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    this.timers.advanceWatermark(watermark, (key) => {
      const state = this.keys.get(key);
      if (state === undefined) return;
      for (const [id, l] of state.lefts) if (this.leftExpiry(l.time) <= watermark) state.lefts.delete(id);
      for (const [group, right] of state.rights) {
        const keep = right.times.filter((t) => this.rightExpiry(t) > watermark);
        if (keep.length === right.times.length) continue;
        for (const t of right.times) if (this.rightExpiry(t) <= watermark) right.counts.delete(t);
        right.times.splice(0, right.times.length, ...keep);
        if (keep.length === 0) state.rights.delete(group);
      }
      this.changed.add(key);
      this.dropIfEmpty(key);
    });
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): IntervalExistsSnapshot<L> {
    return {
      lowerBound: this.lower,
      upperBound: this.upper,
      retentionMs: this.retention,
      watermark: this.watermark,
      lateCount: this.late,
      keys: entriesOf(this.keys, only).map(([key, s]) => [
        key,
        {
          lefts: [...s.lefts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, l]) => [id, l.time, l.row, [...l.groups].sort()] as const),
          rights: [...s.rights].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, r]) => [group, r.times.map((t) => [t, r.counts.get(t) as number] as const)] as const),
        },
      ] as const),
    };
  }

  /** A right row of positive multiplicity in [leftTime + lower, leftTime + upper]. */
  private exists(right: RightTimes, leftTime: number): boolean {
    for (let i = firstAtOrAfter(right.times, leftTime + this.lower); i < right.times.length; i++) {
      const t = right.times[i] as number;
      if (t > leftTime + this.upper) return false;
      if ((right.counts.get(t) ?? 0) > 0) return true;
    }
    return false;
  }

  /** The watermark at which a left row is no longer kept: time + retention < watermark. */
  private leftExpiry(time: number): number {
    return time + this.retention + 1;
  }

  /** A right row is kept while a left row it can match (left.time <= time - lower) may still come. */
  private rightExpiry(time: number): number {
    return time - this.lower + this.retention + 1;
  }

  private stateOf(key: string): KeyState<L> {
    let state = this.keys.get(key);
    if (state === undefined) {
      state = { lefts: new Map(), rights: new Map() };
      this.keys.set(key, state);
    }
    return state;
  }

  private dropIfEmpty(key: string): void {
    const state = this.keys.get(key);
    if (state !== undefined && state.lefts.size === 0 && state.rights.size === 0) this.keys.delete(key);
  }

  private lateOutput(side: 'left' | 'right', key: string, time: number): IntervalExistsOutput<L>[] {
    this.late += 1;
    return [{ kind: 'late', reason: 'older-than-retention', side, key, time, watermark: this.watermark }];
  }
}

/**
 * A user's event stream, deduplicated, enriched with a broadcast dimension, with the clicks a click-count
 * blacklist removes flagged (keyed by user: every click of a user is in one task).
 *
 * - Late: an event with time + allowedLateness <= watermark (Flink's WindowOperator.isElementLate) goes
 *   to the late output. Dedupe: an event id seen before is dropped and counted; ids are kept until the
 *   event would be late, so a duplicate is either dropped here or late.
 * - Blacklist: a user whose clicks on one ad within one calendar day (in `timeZone`) exceed `threshold`
 *   is blacklisted from the click that exceeds it, taking clicks in (time, id) order; that click and
 *   every later click of the user, on any ad, are not counted. Clicks are buffered until the watermark
 *   passes them and released in (time, id) order (Flink's event-time sort of ordered processing), so a
 *   decision depends on the set of clicks, not on their arrival order. A click within the allowed
 *   lateness is applied at once; when it moves a decision earlier, the blacklist row and the clicks it
 *   now removes are emitted again (a higher version replaces them). Such a click cannot move a decision
 *   before itself, so only clicks within the lateness need to be kept for corrections.
 * - Enrichment: every event is emitted with its dimension row. An event whose row is not known yet (the
 *   dimension arrives from another stream, and may come later) is held until the row arrives or the
 *   watermark passes time + allowedLateness, and is then emitted as unresolved. Whether a dimension row
 *   arrives in time depends on arrival order; the blacklist does not (held clicks count).
 */
import {
  BroadcastDimension,
  type PrefixedEntry,
  DIMENSION_PREFIX,
  KEYED_PREFIX,
  prefixedEntries,
  splitPrefixed,
} from './broadcast-dimension.js';
import { type ClickCount, type Mark, before, countClick, trimTail } from './click-count.js';
import { takeAll } from './keyed-snapshots.js';
import type { TimeZone } from './time-zone.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';

export interface TrackedEvent<P> {
  readonly id: string;
  /** event time, epoch ms */
  readonly time: number;
  /** id of the dimension row the event is enriched with */
  readonly dimensionId: string;
  /** the ad of a click (which counts toward the blacklist); null for other events */
  readonly clickOn: string | null;
  readonly payload: P;
}

export interface ClickBlacklistOptions {
  readonly allowedLateness: number;
  /** clicks per (user, ad, day) a user may make; the next one blacklists */
  readonly threshold: number;
  /** the zone of calendar days */
  readonly timeZone: TimeZone;
}

export type ClickBlacklistOutput<P, D> =
  /** an event with its dimension row; versions grow with every output, and a click emitted again replaces the earlier row */
  | { readonly kind: 'event'; readonly key: string; readonly event: TrackedEvent<P>; readonly dimension: D; readonly counted: boolean; readonly version: number }
  /** the user crossed the threshold on this (ad, day) at `since` (emitted again, earlier, when a late click moves it) */
  | { readonly kind: 'blacklisted'; readonly key: string; readonly adId: string; readonly day: string; readonly since: number; readonly version: number }
  | { readonly kind: 'late'; readonly key: string; readonly event: TrackedEvent<P>; readonly watermark: number }
  /** no dimension row by the time the event would be late */
  | { readonly kind: 'unresolved'; readonly key: string; readonly event: TrackedEvent<P>; readonly watermark: number };

/** A user's state; collections a user does not need (most users only view) are not created. */
interface UserState<P, D> {
  /** event id -> time, until the event would be late */
  readonly seen: Map<string, number>;
  /** clicks after the watermark */
  pending?: TrackedEvent<P>[];
  /** emitted counted clicks within the lateness: a late click may still remove them */
  flagged?: Map<string, { readonly event: TrackedEvent<P>; readonly dimension: D }>;
  /** events waiting for their dimension row, with their counted flag */
  awaiting?: Map<string, { readonly event: TrackedEvent<P>; counted: boolean }>;
  /** (ad | day) -> group */
  groups?: Map<string, ClickCount>;
  /** the first click not counted: the user is blacklisted from it on */
  since: Mark | null;
  /** no part of the state expires before this (it may be earlier than needed, never later) */
  nextExpiry: number;
}

export interface SavedUser<P, D> {
  readonly seen: ReadonlyArray<readonly [id: string, time: number]>;
  readonly pending: readonly TrackedEvent<P>[];
  readonly flagged: ReadonlyArray<readonly [event: TrackedEvent<P>, dimension: D]>;
  readonly awaiting: ReadonlyArray<readonly [event: TrackedEvent<P>, counted: boolean]>;
  readonly groups: ReadonlyArray<{ readonly adId: string; readonly day: string; readonly end: number; readonly n: number; readonly tail: readonly Mark[]; readonly crossed: Mark | null }>;
  readonly since: Mark | null;
}

export interface ClickBlacklistSnapshot<P, D> {
  readonly allowedLateness: number;
  readonly threshold: number;
  readonly timeZone: string;
  readonly watermark: number;
  readonly lateCount: number;
  readonly duplicateCount: number;
  readonly unresolvedCount: number;
  /** version of the last output */
  readonly sequence: number;
  /** users' state ('k' + key) and dimension rows ('d' + id), sorted */
  readonly keys: ReadonlyArray<PrefixedEntry<SavedUser<P, D>, D>>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);
/** Expiry timers are rounded up to this, so that a busy user has one per second rather than one per event. */
const EXPIRY_GRAIN_MS = 1000;

const markOf = (event: TrackedEvent<unknown>): Mark => [event.time, event.id];
const byMark = (a: TrackedEvent<unknown>, b: TrackedEvent<unknown>): number => (before(markOf(a), markOf(b)) ? -1 : before(markOf(b), markOf(a)) ? 1 : 0);

export class ClickBlacklist<P, D> {
  static restore<P, D>(options: ClickBlacklistOptions, snapshot: ClickBlacklistSnapshot<P, D>): ClickBlacklist<P, D> {
    const op = new ClickBlacklist<P, D>(options);
    if (snapshot.allowedLateness !== op.lateness || snapshot.threshold !== op.threshold || snapshot.timeZone !== options.timeZone.name) {
      throw new RangeError('snapshot was taken with a different allowed lateness, threshold or time zone');
    }
    op.watermark = snapshot.watermark;
    op.late = snapshot.lateCount;
    op.duplicates = snapshot.duplicateCount;
    op.unresolved = snapshot.unresolvedCount;
    op.sequence = snapshot.sequence;
    op.timers = new TimerService(snapshot.watermark);
    for (const [prefixed, entry] of snapshot.keys) {
      if ('dimension' in entry) {
        op.dimension.set(prefixed.slice(DIMENSION_PREFIX.length), entry.dimension);
        continue;
      }
      const key = prefixed.slice(KEYED_PREFIX.length);
      const saved = entry.state;
      const state = op.stateOf(key);
      for (const [id, time] of saved.seen) op.remember(key, state, id, time);
      for (const event of saved.pending) op.hold(key, state, event);
      for (const [event, dimension] of saved.flagged) op.flag(key, state, event, dimension);
      for (const [event, counted] of saved.awaiting) op.await(key, state, event, counted);
      for (const g of saved.groups) {
        const group: ClickCount = { adId: g.adId, day: g.day, end: g.end, n: g.n, tail: [...g.tail], crossed: g.crossed };
        (state.groups ??= new Map()).set(`${g.adId}|${g.day}`, group);
        op.registerExpiry(key, state, g.end - 1 + op.lateness);
        for (const [time] of g.tail) op.registerExpiry(key, state, time + op.lateness);
      }
      state.since = saved.since;
    }
    op.dimension.takeChangedIds();
    op.changed.clear();
    return op;
  }

  readonly keyedField = 'keys';
  private readonly lateness: number;
  private readonly threshold: number;
  private readonly users = new Map<string, UserState<P, D>>();
  private readonly dimension = new BroadcastDimension<D>();
  /** dimension id -> users with events awaiting that row */
  private readonly awaitingBy = new Map<string, Set<string>>();
  private readonly changed = new Set<string>();
  private timers = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;
  private duplicates = 0;
  private unresolved = 0;
  private sequence = 0;

  constructor(private readonly options: ClickBlacklistOptions) {
    const { allowedLateness, threshold } = options;
    if (!Number.isSafeInteger(allowedLateness) || allowedLateness < 0) throw new RangeError(`allowed lateness must be a non-negative integer of ms, got ${allowedLateness}`);
    if (!Number.isSafeInteger(threshold) || threshold < 0) throw new RangeError(`blacklist threshold must be a non-negative integer, got ${threshold}`);
    this.lateness = allowedLateness;
    this.threshold = threshold;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  get duplicateCount(): number {
    return this.duplicates;
  }

  get unresolvedCount(): number {
    return this.unresolved;
  }

  /** Keys holding state, for state-size metrics. */
  get keyCount(): number {
    return this.users.size;
  }

  process(key: string, event: TrackedEvent<P>): readonly ClickBlacklistOutput<P, D>[] {
    if (!Number.isSafeInteger(event.time)) throw new RangeError(`event time ${event.time} is not a safe integer of ms`);
    if (event.time + this.lateness <= this.watermark) {
      this.late += 1;
      return [{ kind: 'late', key, event, watermark: this.watermark }];
    }
    const state = this.stateOf(key);
    if (state.seen.has(event.id)) {
      this.duplicates += 1;
      return NO_OUTPUT;
    }
    this.changed.add(key);
    this.remember(key, state, event.id, event.time);
    if (event.clickOn === null) return this.emit(key, state, event, true);
    if (event.time > this.watermark) {
      this.hold(key, state, event);
      return NO_OUTPUT;
    }
    // within the allowed lateness: its place in the order is among released clicks
    return this.release(key, state, event);
  }

  changeDimension(id: string, row: D | undefined): readonly ClickBlacklistOutput<P, D>[] {
    this.dimension.set(id, row);
    const users = this.awaitingBy.get(id);
    if (row === undefined || users === undefined) return NO_OUTPUT;
    this.awaitingBy.delete(id);
    const outputs: ClickBlacklistOutput<P, D>[] = [];
    for (const key of Array.from(users).sort()) {
      const state = this.users.get(key);
      const awaiting = state?.awaiting;
      if (state === undefined || awaiting === undefined) continue;
      const ready = Array.from(awaiting.values()).filter((a) => a.event.dimensionId === id).sort((a, b) => byMark(a.event, b.event));
      for (const { event, counted } of ready) {
        awaiting.delete(event.id);
        outputs.push(this.output(key, state, event, row, counted));
      }
      this.changed.add(key);
    }
    return outputs;
  }

  advanceWatermark(watermark: number): readonly ClickBlacklistOutput<P, D>[] {
    if (watermark <= this.watermark) return NO_OUTPUT;
    this.watermark = watermark;
    const outputs: ClickBlacklistOutput<P, D>[] = [];
    this.timers.advanceWatermark(watermark, (key, time) => {
      for (const o of this.onTimer(key, time)) outputs.push(o);
    });
    return outputs;
  }

  takeChangedKeys(): string[] {
    const keys = takeAll(this.changed).map((key) => KEYED_PREFIX + key);
    for (const id of this.dimension.takeChangedIds()) keys.push(DIMENSION_PREFIX + id);
    return keys;
  }

  snapshot(only?: Iterable<string>): ClickBlacklistSnapshot<P, D> {
    const { keys, ids } = splitPrefixed(only);
    const selected = keys === undefined ? Array.from(this.users.keys()) : keys.filter((key) => this.users.has(key));
    const users = selected.sort().map((key): [string, SavedUser<P, D>] => {
      const s = this.users.get(key) as UserState<P, D>;
      const flagged = Array.from(s.flagged?.values() ?? []).sort((a, b) => byMark(a.event, b.event));
      const awaiting = Array.from(s.awaiting?.values() ?? []).sort((a, b) => byMark(a.event, b.event));
      const groups = s.groups ?? new Map<string, ClickCount>();
      return [
        key,
        {
          seen: Array.from(s.seen).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
          pending: [...(s.pending ?? [])].sort(byMark),
          flagged: flagged.map((f) => [f.event, f.dimension] as const),
          awaiting: awaiting.map((a) => [a.event, a.counted] as const),
          groups: Array.from(groups.keys())
            .sort()
            .map((g) => {
              const group = groups.get(g) as ClickCount;
              return { adId: group.adId, day: group.day, end: group.end, n: group.n, tail: [...group.tail], crossed: group.crossed };
            }),
          since: s.since,
        },
      ];
    });
    return {
      allowedLateness: this.lateness,
      threshold: this.threshold,
      timeZone: this.options.timeZone.name,
      watermark: this.watermark,
      lateCount: this.late,
      duplicateCount: this.duplicates,
      unresolvedCount: this.unresolved,
      sequence: this.sequence,
      keys: prefixedEntries(users, this.dimension.entries(ids)),
    };
  }

  private stateOf(key: string): UserState<P, D> {
    let state = this.users.get(key);
    if (state === undefined) {
      state = { seen: new Map(), since: null, nextExpiry: Number.POSITIVE_INFINITY };
      this.users.set(key, state);
    }
    return state;
  }

  /** Something of the user's state expires at `time`: a timer then (rounded up), and the user's next expiry. */
  private registerExpiry(key: string, state: UserState<P, D>, time: number): void {
    if (time < state.nextExpiry) state.nextExpiry = time;
    this.timers.registerEventTimeTimer(key, Math.ceil(time / EXPIRY_GRAIN_MS) * EXPIRY_GRAIN_MS);
  }

  private remember(key: string, state: UserState<P, D>, id: string, time: number): void {
    state.seen.set(id, time);
    this.registerExpiry(key, state, time + this.lateness);
  }

  private hold(key: string, state: UserState<P, D>, click: TrackedEvent<P>): void {
    (state.pending ??= []).push(click);
    this.timers.registerEventTimeTimer(key, click.time);
  }

  private flag(key: string, state: UserState<P, D>, click: TrackedEvent<P>, dimension: D): void {
    (state.flagged ??= new Map()).set(click.id, { event: click, dimension });
    this.registerExpiry(key, state, click.time + this.lateness);
  }

  private await(key: string, state: UserState<P, D>, event: TrackedEvent<P>, counted: boolean): void {
    (state.awaiting ??= new Map()).set(event.id, { event, counted });
    const expiry = event.time + this.lateness;
    if (expiry < state.nextExpiry) state.nextExpiry = expiry;
    let users = this.awaitingBy.get(event.dimensionId);
    if (users === undefined) {
      users = new Set();
      this.awaitingBy.set(event.dimensionId, users);
    }
    users.add(key);
    // exact: the event is unresolved once it would be late
    this.timers.registerEventTimeTimer(key, expiry);
  }

  /** Emits the event with its dimension row, or holds it until the row is known. */
  private emit(key: string, state: UserState<P, D>, event: TrackedEvent<P>, counted: boolean): ClickBlacklistOutput<P, D>[] {
    const dimension = this.dimension.get(event.dimensionId);
    if (dimension === undefined) {
      this.await(key, state, event, counted);
      return [];
    }
    return [this.output(key, state, event, dimension, counted)];
  }

  private output(key: string, state: UserState<P, D>, event: TrackedEvent<P>, dimension: D, counted: boolean): ClickBlacklistOutput<P, D> {
    // a counted click may still be removed by a late click, while one can come
    if (event.clickOn !== null && counted && event.time + this.lateness > this.watermark) this.flag(key, state, event, dimension);
    return { kind: 'event', key, event, dimension, counted, version: ++this.sequence };
  }

  /** Takes a released click (all earlier clicks of the user are released): counts it, decides, emits. */
  private release(key: string, state: UserState<P, D>, click: TrackedEvent<P>): ClickBlacklistOutput<P, D>[] {
    const outputs: ClickBlacklistOutput<P, D>[] = [];
    const mark = markOf(click);
    const { day, end } = this.options.timeZone.dayOf(click.time);
    const adId = click.clickOn as string;
    const groupKey = `${adId}|${day}`;
    const groups = (state.groups ??= new Map());
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { adId, day, end, n: 0, tail: [], crossed: null };
      groups.set(groupKey, group);
      this.registerExpiry(key, state, end - 1 + this.lateness);
    }
    const previousCrossing = group.crossed;
    const crossed = countClick(group, mark, this.threshold);
    this.registerExpiry(key, state, click.time + this.lateness);
    if (crossed !== null) {
      // the row is (user, ad, day, time): a crossing moved to another click of the same time changes nothing in it
      if (previousCrossing === null || previousCrossing[0] !== crossed[0]) outputs.push({ kind: 'blacklisted', key, adId, day, since: crossed[0], version: ++this.sequence });
      if (state.since === null || before(crossed, state.since)) {
        const previous = state.since;
        state.since = crossed;
        for (const o of this.uncount(key, state, crossed, previous)) outputs.push(o);
      }
    }
    const counted = state.since === null || before(mark, state.since);
    for (const o of this.emit(key, state, click, counted)) outputs.push(o);
    return outputs;
  }

  /** Clicks in [from, to) that were counted are not any more: emitted ones again, held ones in place. */
  private uncount(key: string, state: UserState<P, D>, from: Mark, to: Mark | null): ClickBlacklistOutput<P, D>[] {
    const inRange = (e: TrackedEvent<P>): boolean => !before(markOf(e), from) && (to === null || before(markOf(e), to));
    for (const held of state.awaiting?.values() ?? []) if (held.event.clickOn !== null && inRange(held.event)) held.counted = false;
    const flagged = state.flagged;
    if (flagged === undefined) return [];
    const removed = Array.from(flagged.values()).filter((f) => inRange(f.event)).sort((a, b) => byMark(a.event, b.event));
    return removed.map((f) => {
      flagged.delete(f.event.id);
      return { kind: 'event', key, event: f.event, dimension: f.dimension, counted: false, version: ++this.sequence };
    });
  }

  /**
   * A timer of the user at `time`: releases the clicks up to `time`, makes unresolved the events late from
   * `time` on, and drops what no click from `time` on can use. It all goes by the timer's time, not the
   * watermark: timers fire in (time, key) order, so the user's later clicks, due in the same advance, are
   * released at their own timers with the state they need, and outputs come in the same order whatever
   * other timers exist (a restore re-registers only the timers the state needs).
   */
  private onTimer(key: string, time: number): ClickBlacklistOutput<P, D>[] {
    const state = this.users.get(key);
    if (state === undefined) return [];
    const outputs: ClickBlacklistOutput<P, D>[] = [];
    const pending = state.pending;
    if (pending !== undefined && pending.some((e) => e.time <= time)) {
      const due = pending.filter((e) => e.time <= time).sort(byMark);
      state.pending = pending.length === due.length ? undefined : pending.filter((e) => e.time > time);
      for (const click of due) for (const o of this.release(key, state, click)) outputs.push(o);
      this.changed.add(key);
    }
    if (time >= state.nextExpiry) {
      for (const o of this.expire(key, state, time)) outputs.push(o);
      this.changed.add(key);
    }
    if (state.seen.size === 0 && state.pending === undefined && state.flagged === undefined && state.awaiting === undefined && state.groups === undefined && state.since === null) {
      this.users.delete(key);
      this.changed.add(key);
    }
    return outputs;
  }

  /** Drops what no click from `time` on can use, and makes unresolved the events late from `time` on. */
  private expire(key: string, state: UserState<P, D>, time: number): ClickBlacklistOutput<P, D>[] {
    let next = Number.POSITIVE_INFINITY;
    /** true when gone; else keeps the expiry in `next` */
    const gone = (expiry: number): boolean => {
      if (expiry <= time) return true;
      if (expiry < next) next = expiry;
      return false;
    };
    for (const [id, t] of state.seen) if (gone(t + this.lateness)) state.seen.delete(id);
    if (state.flagged !== undefined) {
      for (const [id, f] of state.flagged) if (gone(f.event.time + this.lateness)) state.flagged.delete(id);
      if (state.flagged.size === 0) state.flagged = undefined;
    }
    const outputs: ClickBlacklistOutput<P, D>[] = [];
    if (state.awaiting !== undefined) {
      const unresolved = Array.from(state.awaiting.values()).filter((a) => gone(a.event.time + this.lateness)).sort((a, b) => byMark(a.event, b.event));
      for (const { event } of unresolved) {
        state.awaiting.delete(event.id);
        this.unresolved += 1;
        outputs.push({ kind: 'unresolved', key, event, watermark: this.watermark });
      }
      if (state.awaiting.size === 0) state.awaiting = undefined;
    }
    if (state.groups !== undefined) {
      for (const [g, group] of state.groups) {
        if (gone(group.end - 1 + this.lateness)) {
          state.groups.delete(g);
          continue;
        }
        const tailExpiry = trimTail(group, time, this.lateness);
        if (tailExpiry !== undefined) gone(tailExpiry);
      }
      if (state.groups.size === 0) state.groups = undefined;
    }
    state.nextExpiry = next;
    return outputs;
  }
}

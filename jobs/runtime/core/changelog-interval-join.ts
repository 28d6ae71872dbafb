/**
 * An interval join over changelog inputs (upserts and deletes of source rows), emitting the current
 * result per key: one left row per key (an order), any number of right rows per key by id (its
 * payments), and a broadcast dimension the left row is enriched with (its area). The result pairs the
 * left row with its first matching right row (by time, ties by id) whose time lies in
 * [left.time + lowerBound, left.time + upperBound], both inclusive, or with none.
 *
 * Unlike Flink's IntervalJoinOperator (append-only inputs, one output per pair), every change of either
 * side or of the dimension re-evaluates the key, and the key's new result is emitted when it differs
 * from the previous one (Flink SQL's updating join: the old result is replaced, here by an upsert with
 * a higher version), or its deletion when the left row is gone. Dimension changes re-emit the keys whose
 * left row refers to the changed row (KeyedBroadcastProcessFunction.processBroadcastElement over
 * applyToKeyedState).
 *
 * State retention is by event time: a key whose left row is older than watermark - retention is dropped
 * with its right rows; right rows without a left row are held until they are that old. A change that
 * reaches a key without a live left row and is itself older than that goes to the late output.
 */
import {
  BroadcastDimension,
  type PrefixedEntry,
  DIMENSION_PREFIX,
  KEYED_PREFIX,
  prefixedEntries,
  splitPrefixed,
} from './broadcast-dimension.js';
import { takeAll } from './keyed-snapshots.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';

export interface TimedRow<T> {
  readonly time: number;
  readonly row: T;
}

export interface IdentifiedRow<T> extends TimedRow<T> {
  readonly id: string;
}

export interface ChangelogIntervalJoinOptions<L, R, D, Out> {
  /** right.time - left.time must lie in [lowerBound, upperBound], both bounds inclusive */
  readonly lowerBound: number;
  readonly upperBound: number;
  /** event-time state retention, ms */
  readonly retentionMs: number;
  /** Right rows that may be the match (e.g. successful payments). */
  matches(right: R): boolean;
  /** Orders right rows of equal time by id: negative when `a` comes first. */
  compareIds(a: string, b: string): number;
  /** The dimension row id a left row is enriched with. */
  dimensionOf(left: L): string;
  result(left: TimedRow<L>, first: IdentifiedRow<R> | undefined, dimension: D | undefined): Out;
}

export type ChangelogJoinInput<L, R, D> =
  | { readonly side: 'left'; readonly op: 'upsert' | 'delete'; readonly key: string; readonly time: number; readonly row: L }
  | { readonly side: 'right'; readonly op: 'upsert' | 'delete'; readonly key: string; readonly id: string; readonly time: number; readonly row: R }
  | { readonly side: 'dimension'; readonly op: 'upsert'; readonly id: string; readonly row: D }
  | { readonly side: 'dimension'; readonly op: 'delete'; readonly id: string };

export type LateChange<L, R> = Extract<ChangelogJoinInput<L, R, never>, { side: 'left' | 'right' }>;

export type ChangelogJoinOutput<L, R, Out> =
  /** the key's result, new or changed; versions grow with every output of the operator */
  | { readonly kind: 'upsert'; readonly key: string; readonly value: Out; readonly version: number }
  /** the key's left row is gone: its last result, withdrawn */
  | { readonly kind: 'delete'; readonly key: string; readonly value: Out; readonly version: number }
  | { readonly kind: 'late'; readonly reason: 'older-than-retention'; readonly watermark: number; readonly change: LateChange<L, R> };

interface KeyState<L, R> {
  left: TimedRow<L> | undefined;
  readonly rights: Map<string, TimedRow<R>>;
}

export interface SavedJoinKey<L, R> {
  readonly left: readonly [time: number, row: L] | null;
  /** sorted by id */
  readonly rights: ReadonlyArray<readonly [id: string, time: number, row: R]>;
}

export interface ChangelogIntervalJoinSnapshot<L, R, D> {
  readonly lowerBound: number;
  readonly upperBound: number;
  readonly retentionMs: number;
  readonly watermark: number;
  readonly lateCount: number;
  /** version of the last output */
  readonly sequence: number;
  /** keyed state ('k' + key) and dimension rows ('d' + id), sorted */
  readonly keys: ReadonlyArray<PrefixedEntry<SavedJoinKey<L, R>, D>>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);

export class ChangelogIntervalJoin<L, R, D, Out> {
  static restore<L, R, D, Out>(options: ChangelogIntervalJoinOptions<L, R, D, Out>, snapshot: ChangelogIntervalJoinSnapshot<L, R, D>): ChangelogIntervalJoin<L, R, D, Out> {
    const join = new ChangelogIntervalJoin(options);
    if (snapshot.lowerBound !== join.lower || snapshot.upperBound !== join.upper || snapshot.retentionMs !== join.retention) {
      throw new RangeError('snapshot was taken with different join bounds or retention');
    }
    join.watermark = snapshot.watermark;
    join.late = snapshot.lateCount;
    join.sequence = snapshot.sequence;
    join.timers = new TimerService(snapshot.watermark);
    for (const [prefixed, entry] of snapshot.keys) {
      if ('dimension' in entry) {
        join.dimension.set(prefixed.slice(DIMENSION_PREFIX.length), entry.dimension);
        continue;
      }
      const key = prefixed.slice(KEYED_PREFIX.length);
      const state: KeyState<L, R> = { left: undefined, rights: new Map() };
      for (const [id, time, row] of entry.state.rights) {
        state.rights.set(id, { time, row });
        join.registerCleanup(key, time);
      }
      join.keys.set(key, state);
      if (entry.state.left !== null) join.setLeft(key, state, { time: entry.state.left[0], row: entry.state.left[1] });
    }
    // Restoring is not a change.
    join.dimension.takeChangedIds();
    join.changed.clear();
    return join;
  }

  readonly keyedField = 'keys';
  private readonly lower: number;
  private readonly upper: number;
  private readonly retention: number;
  private readonly keys = new Map<string, KeyState<L, R>>();
  private readonly dimension = new BroadcastDimension<D>();
  /** dimension id -> keys whose left row refers to it */
  private readonly byDimension = new Map<string, Set<string>>();
  private readonly changed = new Set<string>();
  private timers = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;
  private sequence = 0;

  constructor(private readonly options: ChangelogIntervalJoinOptions<L, R, D, Out>) {
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

  process(input: ChangelogJoinInput<L, R, D>): readonly ChangelogJoinOutput<L, R, Out>[] {
    if (input.side === 'dimension') return this.changeDimension(input.id, input.op === 'upsert' ? input.row : undefined);
    if (!Number.isSafeInteger(input.time)) throw new RangeError(`event time ${input.time} is not a safe integer of ms`);
    const state = this.keys.get(input.key);
    // A live left row takes every change of its key; elsewhere a change older than the retention comes too late.
    if (state?.left === undefined && this.isExpired(input.time)) {
      this.late += 1;
      return [{ kind: 'late', reason: 'older-than-retention', watermark: this.watermark, change: input }];
    }
    const key = input.key;
    const before = this.resultOf(state);
    const current = state ?? { left: undefined, rights: new Map<string, TimedRow<R>>() };
    if (state === undefined) this.keys.set(key, current);
    if (input.side === 'left') {
      this.setLeft(key, current, input.op === 'upsert' ? { time: input.time, row: input.row } : undefined);
    } else if (input.op === 'upsert') {
      current.rights.set(input.id, { time: input.time, row: input.row });
    } else {
      current.rights.delete(input.id);
    }
    this.registerCleanup(key, input.time);
    this.changed.add(key);
    const output = this.difference(key, before, this.resultOf(current));
    this.cleanup(key);
    return output === undefined ? NO_OUTPUT : [output];
  }

  /** Drops the state the retention no longer keeps; emits nothing (the last results stay current). */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    this.timers.advanceWatermark(watermark, (key) => this.cleanup(key));
  }

  takeChangedKeys(): string[] {
    const keys = takeAll(this.changed).map((key) => KEYED_PREFIX + key);
    for (const id of this.dimension.takeChangedIds()) keys.push(DIMENSION_PREFIX + id);
    return keys;
  }

  snapshot(only?: Iterable<string>): ChangelogIntervalJoinSnapshot<L, R, D> {
    const { keys, ids } = splitPrefixed(only);
    const selected = keys === undefined ? Array.from(this.keys.keys()) : keys.filter((key) => this.keys.has(key));
    const keyed = selected.sort().map((key): [string, SavedJoinKey<L, R>] => {
      const state = this.keys.get(key) as KeyState<L, R>;
      const rights = Array.from(state.rights, ([id, r]) => [id, r.time, r.row] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return [key, { left: state.left === undefined ? null : [state.left.time, state.left.row], rights }];
    });
    return {
      lowerBound: this.lower,
      upperBound: this.upper,
      retentionMs: this.retention,
      watermark: this.watermark,
      lateCount: this.late,
      sequence: this.sequence,
      keys: prefixedEntries(keyed, this.dimension.entries(ids)),
    };
  }

  private isExpired(time: number): boolean {
    // kept while time >= watermark - retention
    return time + this.retention < this.watermark;
  }

  private registerCleanup(key: string, time: number): void {
    // fires once the watermark reaches time + retention + 1, i.e. once isExpired(time)
    this.timers.registerEventTimeTimer(key, time + this.retention + 1);
  }

  private setLeft(key: string, state: KeyState<L, R>, left: TimedRow<L> | undefined): void {
    if (state.left !== undefined) {
      const id = this.options.dimensionOf(state.left.row);
      const keys = this.byDimension.get(id);
      keys?.delete(key);
      if (keys?.size === 0) this.byDimension.delete(id);
    }
    state.left = left;
    if (left === undefined) return;
    const id = this.options.dimensionOf(left.row);
    let keys = this.byDimension.get(id);
    if (keys === undefined) {
      keys = new Set();
      this.byDimension.set(id, keys);
    }
    keys.add(key);
    this.registerCleanup(key, left.time);
  }

  /** The key's current result: its left row with its first matching right row and its dimension row. */
  private resultOf(state: KeyState<L, R> | undefined): Out | undefined {
    const left = state?.left;
    if (state === undefined || left === undefined) return undefined;
    let first: IdentifiedRow<R> | undefined;
    for (const [id, right] of state.rights) {
      const offset = right.time - left.time;
      if (offset < this.lower || offset > this.upper || !this.options.matches(right.row)) continue;
      if (first === undefined || right.time < first.time || (right.time === first.time && this.options.compareIds(id, first.id) < 0)) {
        first = { id, time: right.time, row: right.row };
      }
    }
    return this.options.result(left, first, this.dimension.get(this.options.dimensionOf(left.row)));
  }

  private difference(key: string, before: Out | undefined, after: Out | undefined): ChangelogJoinOutput<L, R, Out> | undefined {
    if (after === undefined) return before === undefined ? undefined : { kind: 'delete', key, value: before, version: ++this.sequence };
    if (before !== undefined && JSON.stringify(before) === JSON.stringify(after)) return undefined;
    return { kind: 'upsert', key, value: after, version: ++this.sequence };
  }

  private changeDimension(id: string, row: D | undefined): ChangelogJoinOutput<L, R, Out>[] {
    const keys = Array.from(this.byDimension.get(id) ?? []).sort();
    const before = keys.map((key) => this.resultOf(this.keys.get(key)));
    this.dimension.set(id, row);
    const outputs: ChangelogJoinOutput<L, R, Out>[] = [];
    keys.forEach((key, i) => {
      const output = this.difference(key, before[i], this.resultOf(this.keys.get(key)));
      if (output !== undefined) outputs.push(output);
    });
    return outputs;
  }

  /** Drops what the retention no longer keeps: the whole key once its left row is expired, else expired right rows. */
  private cleanup(key: string): void {
    const state = this.keys.get(key);
    if (state === undefined) return;
    if (state.left !== undefined) {
      if (!this.isExpired(state.left.time)) return;
      this.setLeft(key, state, undefined);
      state.rights.clear();
      this.changed.add(key);
    } else {
      for (const [id, right] of state.rights) {
        if (!this.isExpired(right.time)) continue;
        state.rights.delete(id);
        this.changed.add(key);
      }
    }
    if (state.left === undefined && state.rights.size === 0) {
      this.keys.delete(key);
      this.changed.add(key);
    }
  }
}

/** Incremental aggregates over changelog input (+1 insert, -1 retract) that stay exact under retraction. */
import { assertDecimalScale, formatDecimal } from './decimal.js';

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** +1 inserts a row, -1 retracts it; an update is a retraction of the old row plus an insert of the new one. */
export type Sign = 1 | -1;

/**
 * An aggregate in Flink's AggregateFunction shape plus retraction and serialisation.
 * `add` and `merge` may mutate and return their first argument; `merge` never mutates `source`.
 * `merge` is what lets panes (slices) be combined into windows and session windows be merged.
 */
export interface AggregateSpec<In, Acc, Out, Saved = Json> {
  create(): Acc;
  add(acc: Acc, value: In, sign: Sign): Acc;
  merge(target: Acc, source: Acc): Acc;
  result(acc: Acc): Out;
  /** A JSON-able copy of the accumulator, for snapshots and changelogs. */
  save(acc: Acc): Saved;
  load(saved: Saved): Acc;
}

/** Net row count: COUNT(*) with retraction. */
export function count(): AggregateSpec<unknown, number, number, number> {
  return {
    create: () => 0,
    add: (acc, _value, sign) => acc + sign,
    merge: (target, source) => target + source,
    result: (acc) => acc,
    save: (acc) => acc,
    load: (saved) => saved,
  };
}

export interface DecimalSumAcc {
  sum: bigint;
  rows: number;
}
/** A type alias, not an interface, so that it is assignable to Json. */
export type SavedDecimalSum = { readonly sum: string; readonly rows: number };

/**
 * SUM over decimals, exact: inputs are unscaled bigints at `scale` (see parseDecimal), the result is a decimal
 * string with exactly `scale` fractional digits.
 */
export function sumDecimal(scale: number): AggregateSpec<bigint, DecimalSumAcc, string | null, SavedDecimalSum> {
  assertDecimalScale(scale);
  return {
    create: () => ({ sum: 0n, rows: 0 }),
    add(acc, value, sign) {
      acc.sum += sign === 1 ? value : -value;
      acc.rows += sign;
      return acc;
    },
    merge(target, source) {
      target.sum += source.sum;
      target.rows += source.rows;
      return target;
    },
    // Flink SumWithRetractAggFunction: SUM is NULL once every row has been retracted
    result: (acc) => (acc.rows === 0 ? null : formatDecimal(acc.sum, scale)),
    save: (acc) => ({ sum: acc.sum.toString(), rows: acc.rows }),
    load: (saved) => ({ sum: BigInt(saved.sum), rows: saved.rows }),
  };
}

/** Values with a native total order (`<`) that are equal as Map keys exactly when equal as values. */
export type Ordered = number | bigint | string;

/** How values of one ordered type are written into a snapshot. */
export interface OrderedCodec<T extends Ordered> {
  encode(value: T): number | string;
  decode(saved: number | string): T;
}

export const numberValues: OrderedCodec<number> = { encode: (value) => value, decode: (saved) => Number(saved) };
export const bigintValues: OrderedCodec<bigint> = { encode: (value) => value.toString(), decode: (saved) => BigInt(saved) };
export const stringValues: OrderedCodec<string> = { encode: (value) => value, decode: (saved) => String(saved) };

export type SavedMultiset = ReadonlyArray<readonly [value: number | string, multiplicity: number]>;

function applyDelta<T>(multiset: Map<T, number>, value: T, delta: number): number {
  const next = (multiset.get(value) ?? 0) + delta;
  if (next === 0) multiset.delete(value);
  else multiset.set(value, next);
  return next;
}

function saveMultiset<T extends Ordered>(multiset: Map<T, number>, codec: OrderedCodec<T>): SavedMultiset {
  return Array.from(multiset, ([value, multiplicity]) => [codec.encode(value), multiplicity] as const);
}

function loadMultiset<T extends Ordered>(saved: SavedMultiset, codec: OrderedCodec<T>): Map<T, number> {
  return new Map(saved.map(([value, multiplicity]) => [codec.decode(value), multiplicity]));
}

/** Multiplicities may go negative while a retraction runs ahead of its insert; only positive ones are present. */
export interface ExtremeAcc<T> {
  readonly multiset: Map<T, number>;
  extreme: T | undefined;
}

function extremeWithRetraction<T extends Ordered>(
  codec: OrderedCodec<T>,
  prefers: (candidate: T, current: T) => boolean,
): AggregateSpec<T, ExtremeAcc<T>, T | null, SavedMultiset> {
  const recompute = (acc: ExtremeAcc<T>): ExtremeAcc<T> => {
    let best: T | undefined;
    for (const [value, multiplicity] of acc.multiset) {
      if (multiplicity > 0 && (best === undefined || prefers(value, best))) best = value;
    }
    acc.extreme = best;
    return acc;
  };
  return {
    create: () => ({ multiset: new Map(), extreme: undefined }),
    add(acc, value, sign) {
      const multiplicity = applyDelta(acc.multiset, value, sign);
      if (multiplicity > 0) {
        if (acc.extreme === undefined || prefers(value, acc.extreme)) acc.extreme = value;
      } else if (value === acc.extreme) {
        // Flink MinWithRetractAggFunction.retract: rescan the multiset once the current extreme is gone
        recompute(acc);
      }
      return acc;
    },
    merge(target, source) {
      for (const [value, multiplicity] of source.multiset) applyDelta(target.multiset, value, multiplicity);
      return recompute(target);
    },
    result: (acc) => acc.extreme ?? null,
    save: (acc) => saveMultiset(acc.multiset, codec),
    load: (saved) => recompute({ multiset: loadMultiset(saved, codec), extreme: undefined }),
  };
}

/** MIN with retraction (Flink MinWithRetractAggFunction): keeps a multiset of values with counts. */
export function minWithRetraction<T extends Ordered>(codec: OrderedCodec<T>): AggregateSpec<T, ExtremeAcc<T>, T | null, SavedMultiset> {
  return extremeWithRetraction(codec, (candidate, current) => candidate < current);
}

/** MAX with retraction (Flink MaxWithRetractAggFunction): keeps a multiset of values with counts. */
export function maxWithRetraction<T extends Ordered>(codec: OrderedCodec<T>): AggregateSpec<T, ExtremeAcc<T>, T | null, SavedMultiset> {
  return extremeWithRetraction(codec, (candidate, current) => candidate > current);
}

export interface DistinctAcc<T> {
  readonly multiset: Map<T, number>;
  distinct: number;
}

/** COUNT(DISTINCT value) with retraction: a value counts while its multiplicity is positive. */
export function distinctCount<T extends Ordered>(codec: OrderedCodec<T>): AggregateSpec<T, DistinctAcc<T>, number, SavedMultiset> {
  const apply = (acc: DistinctAcc<T>, value: T, delta: number): void => {
    const before = acc.multiset.get(value) ?? 0;
    const after = applyDelta(acc.multiset, value, delta);
    if (before <= 0 && after > 0) acc.distinct += 1;
    else if (before > 0 && after <= 0) acc.distinct -= 1;
  };
  return {
    create: () => ({ multiset: new Map(), distinct: 0 }),
    add(acc, value, sign) {
      apply(acc, value, sign);
      return acc;
    },
    merge(target, source) {
      for (const [value, multiplicity] of source.multiset) apply(target, value, multiplicity);
      return target;
    },
    result: (acc) => acc.distinct,
    save: (acc) => saveMultiset(acc.multiset, codec),
    load(saved) {
      const multiset = loadMultiset(saved, codec);
      let distinct = 0;
      for (const multiplicity of multiset.values()) if (multiplicity > 0) distinct += 1;
      return { multiset, distinct };
    },
  };
}

/** One component of aggregateFields: an aggregate fed from a projection of the input, its accumulator type hidden. */
export interface FieldAggregate<In, Out> {
  create(): unknown;
  add(acc: unknown, input: In, sign: Sign): unknown;
  merge(target: unknown, source: unknown): unknown;
  result(acc: unknown): Out;
  save(acc: unknown): Json;
  load(saved: Json): unknown;
}

/** Feeds `spec` with `select(input)`; the accumulator only ever comes from this spec, hence the casts. */
export function field<In, V, Acc, Out, Saved extends Json>(
  spec: AggregateSpec<V, Acc, Out, Saved>,
  select: (input: In) => V,
): FieldAggregate<In, Out> {
  return {
    create: () => spec.create(),
    add: (acc, input, sign) => spec.add(acc as Acc, select(input), sign),
    merge: (target, source) => spec.merge(target as Acc, source as Acc),
    result: (acc) => spec.result(acc as Acc),
    save: (acc) => spec.save(acc as Acc),
    load: (saved) => spec.load(saved as Saved),
  };
}

export type FieldResults<F> = { [K in keyof F]: F[K] extends FieldAggregate<never, infer Out> ? Out : never };

/** The input every field accepts: the intersection of the fields' inputs. */
export type FieldInput<F> = {
  [K in keyof F]: F[K] extends FieldAggregate<infer In, unknown> ? (input: In) => void : never;
}[keyof F] extends (input: infer In) => void
  ? In
  : never;

/** Several aggregates over one input as a single aggregate whose result is a record, e.g. { orders, revenue }. */
export function aggregateFields<F extends Record<string, FieldAggregate<never, unknown>>>(
  fields: F,
): AggregateSpec<FieldInput<F>, unknown[], FieldResults<F>, Json[]> {
  const names = Object.keys(fields);
  const parts = names.map((name) => fields[name] as FieldAggregate<FieldInput<F>, unknown>);
  return {
    create: () => parts.map((part) => part.create()),
    add(acc, value, sign) {
      parts.forEach((part, i) => {
        acc[i] = part.add(acc[i], value, sign);
      });
      return acc;
    },
    merge(target, source) {
      parts.forEach((part, i) => {
        target[i] = part.merge(target[i], source[i]);
      });
      return target;
    },
    result(acc) {
      const out: Record<string, unknown> = {};
      parts.forEach((part, i) => {
        out[names[i] as string] = part.result(acc[i]);
      });
      return out as FieldResults<F>;
    },
    save: (acc) => parts.map((part, i) => part.save(acc[i])),
    load: (saved) => parts.map((part, i) => part.load(saved[i] ?? null)),
  };
}

/**
 * Broadcast state (Flink's BroadcastState of a KeyedBroadcastProcessFunction): a small dimension table
 * that every task holds whole, because its changes are broadcast to every partition. Keyed operators
 * snapshot it next to their keyed state, in the same keyed field under a prefix (see prefixedEntries).
 */
import { takeAll } from './keyed-snapshots.js';

export class BroadcastDimension<V> {
  private readonly rows = new Map<string, V>();
  private readonly changed = new Set<string>();

  get(id: string): V | undefined {
    return this.rows.get(id);
  }

  /** Sets (row) or removes (undefined) a row; returns the previous one. */
  set(id: string, row: V | undefined): V | undefined {
    const previous = this.rows.get(id);
    if (row === undefined) this.rows.delete(id);
    else this.rows.set(id, row);
    this.changed.add(id);
    return previous;
  }

  entries(only?: Iterable<string>): Array<[string, V]> {
    const ids = only === undefined ? Array.from(this.rows.keys()) : Array.from(only).filter((id) => this.rows.has(id));
    return ids.sort().map((id) => [id, this.rows.get(id) as V]);
  }

  takeChangedIds(): string[] {
    return takeAll(this.changed);
  }
}

/**
 * Keyed state and a broadcast dimension in one keyed snapshot field: keyed state under 'k', dimension rows
 * under 'd' (the changelog holds one record per entry either way).
 */
export const KEYED_PREFIX = 'k';
export const DIMENSION_PREFIX = 'd';

/** Splits prefixed snapshot keys (from takeChangedKeys) into keyed-state keys and dimension ids. */
export function splitPrefixed(only: Iterable<string> | undefined): { keys: string[] | undefined; ids: string[] | undefined } {
  if (only === undefined) return { keys: undefined, ids: undefined };
  const keys: string[] = [];
  const ids: string[] = [];
  for (const key of only) {
    if (key.startsWith(KEYED_PREFIX)) keys.push(key.slice(KEYED_PREFIX.length));
    else if (key.startsWith(DIMENSION_PREFIX)) ids.push(key.slice(DIMENSION_PREFIX.length));
  }
  return { keys, ids };
}

export type PrefixedEntry<S, V> = readonly [key: string, entry: { readonly state: S } | { readonly dimension: V }];

/** Entries of both, prefixed and sorted by their prefixed key. */
export function prefixedEntries<S, V>(keyed: ReadonlyArray<readonly [string, S]>, dimension: ReadonlyArray<readonly [string, V]>): Array<PrefixedEntry<S, V>> {
  const out: Array<PrefixedEntry<S, V>> = [];
  for (const [id, row] of dimension) out.push([DIMENSION_PREFIX + id, { dimension: row }]);
  for (const [key, state] of keyed) out.push([KEYED_PREFIX + key, { state }]);
  // 'd' sorts before 'k': dimension entries first, each group already sorted
  return out;
}

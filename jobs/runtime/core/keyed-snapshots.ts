/**
 * Operator state snapshotted key by key, so that a checkpoint writes only the keys whose state changed
 * since the previous one (incremental, like Flink's RocksDB checkpoints, at the grain of a key), not
 * the whole state.
 */
export interface KeyedSnapshots<Snapshot> {
  /** Name of the snapshot field holding one [key, state] entry per key. */
  readonly keyedField: string;
  /** The whole state, or with only these keys' entries (keys that hold no state are left out). */
  snapshot(only?: Iterable<string>): Snapshot;
  /** Keys whose state was created, changed or removed since the last call; the call forgets them. */
  takeChangedKeys(): string[];
}

/** The entries of `state` for `only` (all when undefined), sorted by key. */
export function entriesOf<V>(state: ReadonlyMap<string, V>, only: Iterable<string> | undefined): Array<[string, V]> {
  const keys = only === undefined ? Array.from(state.keys()) : Array.from(only).filter((key) => state.has(key));
  return keys.sort().map((key) => [key, state.get(key) as V]);
}

/** Returns the set's keys and empties it. */
export function takeAll(changed: Set<string>): string[] {
  const keys = Array.from(changed);
  changed.clear();
  return keys;
}

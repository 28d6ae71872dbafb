/**
 * Operator state as changelog records: one record per key of the snapshot's keyed field (see
 * core/keyed-snapshots.ts), written when that key's state changes and tombstoned when it goes, and
 * one meta record with the other, small fields. A checkpoint so costs what changed, not the state size.
 */

/** Changelog key of the meta record; keyed records are `<field>\u0001s<key>`. */
export const META_KEY = '\u0000meta';
const SEP = '\u0001';

interface Meta {
  fields: Record<string, unknown>;
  /** names of the fields stored as one record per key */
  split: string[];
  extra: unknown;
}

export type ChangelogRecord = readonly [key: string, value: string | null];

export const keyedRecordKey = (field: string, key: string): string => `${field}${SEP}s${key}`;

/**
 * The records of a checkpoint: the meta record (every field of `partial` but `field`, and `extra`),
 * then for each key of `changed` its entry in `partial[field]` or, when it has none, a tombstone.
 * `partial` is the operator's snapshot restricted to the changed keys.
 */
export function encodeChanges(partial: object, field: string, changed: Iterable<string>, extra: unknown): ChangelogRecord[] {
  const meta: Meta = { fields: {}, split: [field], extra };
  let entries: ReadonlyArray<readonly [string, unknown]> = [];
  for (const [name, value] of Object.entries(partial)) {
    if (name === field) entries = value as ReadonlyArray<readonly [string, unknown]>;
    else meta.fields[name] = value;
  }
  const records: ChangelogRecord[] = [[META_KEY, JSON.stringify(meta)]];
  const present = new Map(entries);
  for (const key of changed) {
    const state = present.get(key);
    records.push([keyedRecordKey(field, key), state === undefined ? null : JSON.stringify(state)]);
  }
  return records;
}

/** The snapshot the records describe (keyed entries sorted by key), or undefined for an empty changelog. */
export function decodeSnapshot<S>(records: ReadonlyMap<string, string>): { snapshot: S; extra: unknown } | undefined {
  const metaJson = records.get(META_KEY);
  if (metaJson === undefined) return undefined;
  const meta = JSON.parse(metaJson) as Meta;
  const snapshot: Record<string, unknown> = { ...meta.fields };
  const pairs = new Map<string, Array<[string, unknown]>>(meta.split.map((f) => [f, []]));
  for (const [key, json] of records) {
    const sep = key.indexOf(SEP);
    if (key === META_KEY || sep < 0) continue;
    const list = pairs.get(key.slice(0, sep));
    if (list === undefined) continue;
    // after the separator: 's', then the key
    list.push([key.slice(sep + 2), JSON.parse(json) as unknown]);
  }
  for (const [field, list] of pairs) {
    list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    snapshot[field] = list;
  }
  return { snapshot: snapshot as S, extra: meta.extra };
}

/**
 * Turns an operator snapshot into changelog records and back, whatever the operator: every
 * top-level array of [id, payload] pairs (panes by start, keys, fired windows) becomes one record
 * per id, so a checkpoint writes only the panes or keys that changed; the other fields form one
 * meta record. Such arrays are kept sorted by id by the operators, and are rebuilt sorted.
 */

/** Changelog key of the meta record; split records are `<field>\u0001<n|s><id>`. */
export const META_KEY = '\u0000meta';
const SEP = '\u0001';

type Id = string | number;
type Pair = readonly [Id, unknown];

interface Meta {
  fields: Record<string, unknown>;
  /** names of the fields stored as split records */
  split: string[];
  extra: unknown;
}

function isPairArray(value: unknown): value is Pair[] {
  return Array.isArray(value) && value.every((e) => Array.isArray(e) && e.length === 2 && (typeof e[0] === 'string' || typeof e[0] === 'number'));
}

/** Records for a snapshot; `extra` is stored in the meta record alongside (e.g. watermark generator state). */
export function encodeSnapshot(snapshot: object, extra: unknown): Map<string, string> {
  const records = new Map<string, string>();
  const meta: Meta = { fields: {}, split: [], extra };
  for (const [field, value] of Object.entries(snapshot)) {
    if (isPairArray(value) && value.length > 0) {
      meta.split.push(field);
      for (const [id, payload] of value) records.set(`${field}${SEP}${typeof id === 'number' ? 'n' : 's'}${id}`, JSON.stringify(payload));
    } else {
      meta.fields[field] = value;
    }
  }
  records.set(META_KEY, JSON.stringify(meta));
  return records;
}

export function decodeSnapshot<S>(records: ReadonlyMap<string, string>): { snapshot: S; extra: unknown } | undefined {
  const metaJson = records.get(META_KEY);
  if (metaJson === undefined) return undefined;
  const meta = JSON.parse(metaJson) as Meta;
  const snapshot: Record<string, unknown> = { ...meta.fields };
  const pairs = new Map<string, Array<[Id, unknown]>>(meta.split.map((f) => [f, []]));
  for (const [key, json] of records) {
    const sep = key.indexOf(SEP);
    if (key === META_KEY || sep < 0) continue;
    const list = pairs.get(key.slice(0, sep));
    if (list === undefined) continue;
    const tagged = key.slice(sep + 1);
    const id: Id = tagged.startsWith('n') ? Number(tagged.slice(1)) : tagged.slice(1);
    list.push([id, JSON.parse(json) as unknown]);
  }
  for (const [field, list] of pairs) {
    list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    snapshot[field] = list;
  }
  return { snapshot: snapshot as S, extra: meta.extra };
}

/** What to append to the changelog to go from `previous` to `next`: changed records, and tombstones for removed ones. */
export function diffRecords(previous: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): Array<readonly [string, string | null]> {
  const out: Array<readonly [string, string | null]> = [];
  for (const [key, json] of next) if (previous.get(key) !== json) out.push([key, json]);
  for (const key of previous.keys()) if (!next.has(key)) out.push([key, null]);
  return out;
}

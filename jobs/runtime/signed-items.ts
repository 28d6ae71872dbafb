/**
 * Changelog records between stages that aggregate with retraction: a record on an internal topic
 * carries, under the next stage's key, a list of signed items (+1 adds a contribution, -1 takes one
 * back), each with its event time. A changed source row becomes one record per key it touches, its
 * retractions before its additions (Flink's -U before +U), so the next stage applies an update at once.
 */
import type { KafkaMessage } from 'kafkajs';
import type { Sign } from './core/index.js';
import { decodeEnvelope, type Envelope } from './envelope.js';
import type { Emitted } from './stage.js';

export interface SignedItem {
  /** event time, epoch ms */
  readonly t: number;
  readonly s: Sign;
  readonly v: unknown;
}

/** What a row contributes to one downstream stage: its topic, key, event time and value. */
export interface Contribution {
  readonly topic: string;
  readonly key: string;
  readonly t: number;
  readonly v: unknown;
}

/** Item values are JSON (amounts as text, never bigints), so the envelope is plain JSON.stringify. */
export function itemsRecord(topic: string, key: string, items: readonly SignedItem[]): Emitted {
  const first = items[0];
  if (first === undefined) throw new Error('a record of signed items needs at least one item');
  const envelope: Envelope = { t: first.t, v: items };
  return { topic, key, value: JSON.stringify(envelope) };
}

/** The key and items of a record; throws with the reason when it is not one. */
export function decodeItems(message: KafkaMessage): { key: string; items: SignedItem[] } {
  const { key, envelope } = decodeEnvelope(message);
  const items = envelope.v;
  if (!Array.isArray(items) || items.length === 0) throw new Error('not a record of signed items: its value must be a non-empty array');
  for (const item of items as Array<Partial<SignedItem> | null>) {
    if (item === null || typeof item !== 'object' || !Number.isSafeInteger(item.t) || (item.s !== 1 && item.s !== -1) || !('v' in item)) {
      throw new Error('not a signed item {t: epoch ms, s: 1 | -1, v}');
    }
  }
  return { key, items: items as SignedItem[] };
}

/**
 * The records that turn what `before` contributed into what `after` does: per topic and key, the
 * contributions only `before` has, retracted, then those only `after` has, added (equal ones cancel).
 */
export function contributionChanges(before: readonly Contribution[], after: readonly Contribution[]): Emitted[] {
  const groups = new Map<string, { topic: string; key: string; items: SignedItem[] }>();
  const push = (c: Contribution, s: 1 | -1): void => {
    const id = `${c.topic}\u0000${c.key}`;
    let group = groups.get(id);
    if (group === undefined) {
      group = { topic: c.topic, key: c.key, items: [] };
      groups.set(id, group);
    }
    group.items.push({ t: c.t, s, v: c.v });
  };
  // an insert or a deletion (most rows): nothing cancels
  if (before.length === 0 || after.length === 0) {
    for (const c of before) push(c, -1);
    for (const c of after) push(c, 1);
    return [...groups.values()].map((g) => itemsRecord(g.topic, g.key, g.items));
  }
  const identity = (c: Contribution): string => JSON.stringify([c.topic, c.key, c.t, c.v]);
  const remaining = new Map<string, number>();
  for (const c of after) remaining.set(identity(c), (remaining.get(identity(c)) ?? 0) + 1);
  for (const c of before) {
    const id = identity(c);
    const left = remaining.get(id) ?? 0;
    if (left > 0) remaining.set(id, left - 1);
    else push(c, -1);
  }
  for (const c of after) {
    const id = identity(c);
    const left = remaining.get(id) ?? 0;
    if (left === 0) continue;
    remaining.set(id, left - 1);
    push(c, 1);
  }
  return [...groups.values()].map((g) => itemsRecord(g.topic, g.key, g.items));
}

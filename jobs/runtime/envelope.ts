/**
 * Records on internal topics between stages: the Kafka key is the next stage's key; the value
 * carries the event time (and, into a join, the side) so the next stage needs no parsing rules.
 */
import type { KafkaMessage } from 'kafkajs';
import { toJson } from './json.js';

export type JoinSide = 'left' | 'right';

export interface Envelope {
  /** event time, epoch ms */
  t: number;
  /** which input of a two-input stage the record belongs to */
  s?: JoinSide;
  v: unknown;
}

export function encodeEnvelope(envelope: Envelope): string {
  return toJson(envelope);
}

/** The key and envelope of an internal-topic record; throws with the reason when it is not one. */
export function decodeEnvelope(message: KafkaMessage): { key: string; envelope: Envelope } {
  if (message.key === null) throw new Error('internal record without a key');
  if (message.value === null) throw new Error('internal record without a value');
  const parsed = JSON.parse(message.value.toString()) as Partial<Envelope> | null;
  if (parsed === null || typeof parsed !== 'object' || typeof parsed.t !== 'number' || !Number.isSafeInteger(parsed.t) || !('v' in parsed)) {
    throw new Error('internal record is not an envelope {t, v}');
  }
  if (parsed.s !== undefined && parsed.s !== 'left' && parsed.s !== 'right') throw new Error(`unknown join side ${JSON.stringify(parsed.s)}`);
  return { key: message.key.toString(), envelope: parsed as Envelope };
}

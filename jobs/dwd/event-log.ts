/**
 * Records of the event log `<ns>.ods_events` (schemas/events.ts), validated: a record that is not an
 * event throws with the reason (and goes to the dead-letter topic).
 */
import { EVENT_TYPES, type AdEvent, type EventType } from '../../schemas/events.js';

/** Instants DateTime64(3) text can show: years 1970-9999. */
const MAX_TS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

function requireString(e: Record<string, unknown>, field: string): string {
  const value = e[field];
  if (typeof value !== 'string') throw new Error(`event ${field} must be a string`);
  return value;
}

function requireId(e: Record<string, unknown>, field: string): number {
  const value = e[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`event ${field} must be a non-negative integer`);
  return value;
}

export function parseEvent(value: Buffer | null): AdEvent {
  if (value === null) throw new Error('event: empty record');
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(value.toString()) as Record<string, unknown>;
  } catch {
    throw new Error('event: not JSON');
  }
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new Error('event: not a JSON object');
  const eventId = requireString(e, 'event_id');
  if (eventId.length === 0) throw new Error('event event_id must not be empty');
  if (!isEventType(e.type)) throw new Error(`unknown event type ${JSON.stringify(e.type)}`);
  const ts = e.ts;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TS) throw new Error('event ts must be epoch ms between 1970 and 9999');
  const userId = e.user_id === null || e.user_id === undefined ? null : requireId(e, 'user_id');
  const adEvent = e.type !== 'page_view';
  if (adEvent && userId === null) throw new Error(`an ${e.type} needs a user_id`);
  const adId = adEvent ? requireId(e, 'ad_id') : undefined;
  const page = e.page === undefined || e.page === null ? undefined : requireString(e, 'page');
  return {
    event_id: eventId,
    type: e.type,
    ts,
    user_id: userId,
    device_id: requireString(e, 'device_id'),
    session_id: requireString(e, 'session_id'),
    ip: requireString(e, 'ip'),
    area_id: requireId(e, 'area_id'),
    channel: requireString(e, 'channel'),
    ...(adId === undefined ? {} : { ad_id: adId }),
    ...(page === undefined ? {} : { page }),
  };
}

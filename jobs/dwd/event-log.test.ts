import { describe, expect, it } from 'vitest';
import { parseEvent } from './event-log.js';

const base = { event_id: 'e1', type: 'ad_click', ts: 1767225600000, user_id: 7, device_id: 'd', session_id: 's', ip: '1.2.3.4', area_id: 3, channel: 'app', ad_id: 9 };
const parse = (e: unknown) => parseEvent(Buffer.from(typeof e === 'string' ? e : JSON.stringify(e)));

describe('parseEvent', () => {
  it('reads a click and an anonymous page view, keeping ad_id only on ad events', () => {
    expect(parse(base)).toEqual(base);
    expect(parse({ ...base, type: 'page_view', user_id: null, ad_id: 4, page: '/p' })).toEqual({ ...base, type: 'page_view', user_id: null, ad_id: undefined, page: '/p' });
  });

  it.each([
    ['not JSON', '{"event_id":', 'event: not JSON'],
    ['an array', [1], 'event: not a JSON object'],
    ['a number id', { ...base, event_id: 5 }, 'event event_id must be a string'],
    ['an empty event_id', { ...base, event_id: '' }, 'event event_id must not be empty'],
    ['an unknown type', { ...base, type: 'purchase' }, 'unknown event type "purchase"'],
    ['a ts in seconds as text', { ...base, ts: '1767225600' }, 'event ts must be epoch ms between 1970 and 9999'],
    ['a fractional ts', { ...base, ts: 1.5 }, 'event ts must be epoch ms between 1970 and 9999'],
    ['an anonymous click', { ...base, user_id: null }, 'an ad_click needs a user_id'],
    ['an impression without ad', { ...base, type: 'ad_impression', ad_id: undefined }, 'event ad_id must be a non-negative integer'],
    ['a negative area', { ...base, area_id: -1 }, 'event area_id must be a non-negative integer'],
    ['a missing ip', { ...base, ip: undefined }, 'event ip must be a string'],
  ])('rejects %s', (_name, input, reason) => {
    expect(() => parse(input)).toThrow(reason);
  });

  it('rejects an empty record', () => {
    expect(() => parseEvent(null)).toThrow('event: empty record');
  });
});

/** The dwd_ad_event job's stages in memory: events from ods_events, areas from the binlog topic. */
import { describe, expect, it } from 'vitest';
import type { AdEvent } from '../../schemas/events.js';
import { canalMessage } from '../../test/support/canal-messages.js';
import { InMemoryJob } from '../../test/support/in-memory-job.js';
import { adEventJob } from './ad-event.js';
import { PIPELINE_DEFAULTS, dwdTopics, type DwdJobOptions } from './options.js';

const ns = 'tst';
const topics = dwdTopics(ns);
const T = Date.UTC(2026, 0, 1, 15, 59, 0);

function job(options: Partial<DwdJobOptions> = {}): InMemoryJob {
  return new InMemoryJob(adEventJob({ ...PIPELINE_DEFAULTS, namespace: ns, partitions: 2, outOfOrdernessMs: 0, allowedLatenessMs: 10_000, ...options }), { [topics.odsEvents]: 1, [topics.odsBinlog]: 1 });
}

const event = (id: string, ts: number, more: Partial<AdEvent> = {}): AdEvent => ({
  event_id: id,
  type: 'ad_click',
  ts,
  user_id: 42,
  device_id: 'dev1',
  session_id: 's1',
  ip: '10.0.0.1',
  area_id: 1,
  channel: 'app',
  ad_id: 3,
  ...more,
});

const sendEvent = (j: InMemoryJob, e: AdEvent | string) => j.send(topics.odsEvents, 0, null, typeof e === 'string' ? e : JSON.stringify(e));
const sendArea = (j: InMemoryJob, id: number, city: string) => {
  const { key, value } = canalMessage({ table: 'areas', type: 'INSERT', row: { id: String(id), province: '浙江', city }, es: T });
  return j.send(topics.odsBinlog, 0, key, value);
};

describe('dwd_ad_event job', () => {
  it('writes every event once with its area; clicks wait for the watermark and the one over the threshold and later ones are not counted', () => {
    const j = job({ blacklistClicks: 1, timeZone: 'Asia/Shanghai' });
    sendArea(j, 1, '杭州');
    sendEvent(j, event('v1', T, { type: 'page_view', user_id: null, ad_id: undefined, page: '/home' }));
    expect(j.values(topics.dwdAdEvent)).toEqual([
      { event_id: 'v1', type: 'page_view', ts: '2026-01-01 15:59:00.000', user_id: null, ad_id: null, province: '浙江', city: '杭州', channel: 'app', device_id: 'dev1', session_id: 's1', ip: '10.0.0.1', counted: 1, _version: 1 },
    ]);
    sendEvent(j, event('c2', T + 1000));
    sendEvent(j, event('c1', T + 1000));
    sendEvent(j, event('c1', T + 1000));
    // 16:00 UTC is midnight in Shanghai: a new day, counted again, but the user is blacklisted since c2
    sendEvent(j, event('c3', T + 60_000, { ad_id: 4 }));
    sendEvent(j, event('v2', T + 70_000, { type: 'ad_impression' }));
    const rows = j.values(topics.dwdAdEvent) as Array<{ event_id: string; counted: number }>;
    expect(rows.map((r) => `${r.event_id}:${r.counted}`)).toEqual(['v1:1', 'c1:1', 'c2:0', 'v2:1', 'c3:0']);
    // versions count per task: the anonymous page view is keyed by device, in another partition
    expect(j.values(topics.dimBlacklist)).toEqual([{ user_id: 42, ad_id: 3, day: '2026-01-01', blacklisted_at: '2026-01-01 15:59:01.000', _version: 2 }]);
  });

  it('routes late events, malformed ones and unknown areas, with their reason and source position', () => {
    const j = job();
    sendArea(j, 1, '杭州');
    sendEvent(j, event('a', T + 100_000));
    // watermark T + 99 999: ts + lateness <= watermark is late, one ms later is not
    expect(sendEvent(j, event('on-time', T + 90_000, { type: 'page_view' }))).toEqual([expect.objectContaining({ topic: topics.dwdAdEvent, key: 'on-time' })]);
    expect(sendEvent(j, event('late', T + 89_999, { type: 'page_view' }))).toEqual([
      expect.objectContaining({ topic: topics.lateEvents, key: 'late' }),
    ]);
    expect(j.values(topics.lateEvents)).toEqual([
      { reason: 'ts is at or before the watermark minus the allowed lateness', watermark: '2026-01-01 16:00:39.999', topic: topics.odsEvents, partition: 0, offset: '2', event: event('late', T + 89_999, { type: 'page_view', ad_id: undefined }) },
    ]);
    sendEvent(j, '{"event_id":"x","type":"purchase"}');
    sendEvent(j, JSON.stringify({ ...event('anon', T + 100_000), user_id: null }));
    sendEvent(j, event('nowhere', T + 100_000, { type: 'page_view', area_id: 99 }));
    // dead-lettered once the watermark reaches ts + lateness (the watermark is the max ts - 1)
    sendEvent(j, event('b', T + 110_000, { type: 'page_view' }));
    expect(j.values(topics.deadLetter)).toHaveLength(2);
    sendEvent(j, event('c', T + 110_001, { type: 'page_view' }));
    const dead = j.values(topics.deadLetter) as Array<{ reason: string; offset: string; value: string }>;
    expect(dead.map((d) => d.reason)).toEqual(['unknown event type "purchase"', 'an ad_click needs a user_id', 'dwd_ad_event: unknown area_id 99 (no areas row by the time the event would be late)']);
    expect(JSON.parse(Buffer.from(dead[2]?.value ?? '', 'base64').toString())).toEqual(event('nowhere', T + 100_000, { type: 'page_view', area_id: 99, ad_id: undefined }));
    expect(dead[2]).toMatchObject({ topic: topics.odsEvents, partition: 0 });
  });

  it('holds an event until its area arrives from the binlog, and does not let the binlog hold the watermark back', () => {
    const j = job();
    sendEvent(j, event('v', T, { type: 'page_view', area_id: 5 }));
    expect(j.values(topics.dwdAdEvent)).toEqual([]);
    sendArea(j, 5, '宁波');
    expect(j.values(topics.dwdAdEvent)).toEqual([expect.objectContaining({ event_id: 'v', city: '宁波' })]);
    // no binlog traffic at all, yet clicks are released by the events' watermark
    sendEvent(j, event('c', T + 1, { area_id: 5 }));
    sendEvent(j, event('later', T + 2, { type: 'page_view', area_id: 5 }));
    // the page view at once, the click once the watermark passes it
    expect((j.values(topics.dwdAdEvent) as Array<{ event_id: string }>).map((r) => r.event_id)).toEqual(['v', 'later', 'c']);
  });
});

/**
 * dwd_ad_event and dim_blacklist: every event once, with its area, clicks flagged by the blacklist.
 * With `events` = ods_events, one row per event_id, and `clicks` = its ad_clicks numbered per user, ad
 * and calendar day (in the pipeline's zone) in (ts, event_id) order:
 *
 *   clicks        = SELECT *, toDate(ts, tz) AS day,
 *                          row_number() OVER (PARTITION BY user_id, ad_id, day ORDER BY ts, event_id) AS n
 *                   FROM events WHERE type = 'ad_click'
 *   dim_blacklist = SELECT user_id, ad_id, day, ts AS blacklisted_at FROM clicks WHERE n = blacklistClicks + 1
 *   dwd_ad_event  = SELECT e.*, a.province, a.city,
 *                          NOT (e.type = 'ad_click' AND (e.ts, e.event_id) >= (the user's first click with n = blacklistClicks + 1)) AS counted
 *                   FROM events e JOIN areas a ON a.id = e.area_id
 *
 * Events are re-keyed by user (anonymous page views by device), areas broadcast to every task. The
 * watermark is the events' (bounded out-of-orderness per ods_events partition, with idleness); the
 * areas stream does not hold it back. Clicks are decided once the watermark passes them, in (ts,
 * event_id) order; a click within the allowed lateness that moves a decision re-emits what it changes
 * with a higher _version. Later events go to late_events. An event whose area is not in areas yet is
 * held until the watermark passes ts + allowed lateness, then dead-lettered: that depends on when the
 * areas row arrives, the blacklist does not (such clicks count). Its dead letter carries the event as
 * parsed; the original bytes are at its source partition and offset.
 */
import type { KafkaMessage } from 'kafkajs';
import type { AdEvent } from '../../schemas/events.js';
import { TimeZone, formatUtc } from '../runtime/core/index.js';
import { clickBlacklistStage } from '../runtime/click-blacklist-stage.js';
import type { JobSpec } from '../runtime/job.js';
import { repartitionStage, type Rekeyed, type RekeyedRecord } from '../runtime/repartition-stage.js';
import { parseBinlogMessage } from './canal.js';
import { parseEvent } from './event-log.js';
import { DEFAULT_PARTITIONS, dwdTopics, type DwdJobOptions } from './options.js';
import { areaRow, type AreaRow } from './source-rows.js';

/** An event and where it came from, as it travels to the blacklist stage and sits in its state. */
interface SourcedEvent {
  readonly e: AdEvent;
  readonly p: number;
  readonly o: string;
}

type ByUser = { readonly c: 'event'; readonly event: SourcedEvent } | { readonly c: 'area'; readonly op: 'upsert' | 'delete'; readonly row: AreaRow };

/** Every event of a user is in one task; anonymous page views are keyed by device. */
const userKey = (e: AdEvent): string => (e.user_id === null ? `d${e.device_id}` : `u${e.user_id}`);

function byUser(message: KafkaMessage, partition: number): Rekeyed {
  const e = parseEvent(message.value);
  return { timestamp: e.ts, records: [{ key: userKey(e), value: { c: 'event', event: { e, p: partition, o: message.offset } } satisfies ByUser }] };
}

function areasOf(message: KafkaMessage, database: string | undefined): Rekeyed {
  const { es, ddl, changes } = parseBinlogMessage(message.value);
  if (ddl !== null && (ddl.type === 'TRUNCATE' || ddl.type === 'ERASE') && ddl.table === 'areas' && (database === undefined || ddl.database === database)) {
    throw new Error(`dwd_ad_event: ${ddl.type} of ${ddl.database}.areas removes rows without row events; the areas are kept`);
  }
  const records: RekeyedRecord[] = [];
  for (const change of changes) {
    if (change.table !== 'areas' || (database !== undefined && change.database !== database)) continue;
    const before = change.before === null ? undefined : areaRow(change.before);
    const after = change.after === null ? undefined : areaRow(change.after);
    if (before !== undefined && before.id !== after?.id) records.push({ key: String(before.id), broadcast: true, value: { c: 'area', op: 'delete', row: before } satisfies ByUser });
    if (after !== undefined) records.push({ key: String(after.id), broadcast: true, value: { c: 'area', op: 'upsert', row: after } satisfies ByUser });
  }
  return { timestamp: es, records };
}

export function adEventJob(o: DwdJobOptions): JobSpec {
  const topics = dwdTopics(o.namespace);
  const partitions = o.partitions ?? DEFAULT_PARTITIONS;
  const name = `${o.namespace}.dwd_ad_event`;
  const byUserTopic = `${name}.by_user`;
  const common = { checkpointIntervalMs: o.checkpointIntervalMs ?? 1000 };
  return {
    name,
    stages: [
      {
        ...common,
        name: `${name}.events`,
        input: topics.odsEvents,
        idleTimeoutMs: o.idleTimeoutMs,
        outputs: [
          { topic: byUserTopic, partitions, forwardWatermarks: true },
          { topic: topics.deadLetter, partitions },
        ],
        createProcessor: repartitionStage({ parse: byUser, output: byUserTopic, watermarks: { outOfOrdernessMs: o.outOfOrdernessMs }, deadLetterTopic: topics.deadLetter }),
      },
      {
        ...common,
        // broadcast state: its records join the events' topic, its watermark does not
        name: `${name}.areas`,
        input: topics.odsBinlog,
        outputs: [
          { topic: byUserTopic, partitions },
          { topic: topics.deadLetter, partitions },
        ],
        createProcessor: repartitionStage({
          parse: (message) => areasOf(message, o.sourceDatabase),
          output: byUserTopic,
          outputPartitions: partitions,
          watermarks: { outOfOrdernessMs: o.outOfOrdernessMs },
          deadLetterTopic: topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${name}.blacklist`,
        input: byUserTopic,
        outputs: [
          { topic: topics.dwdAdEvent, partitions, forwardWatermarks: true },
          { topic: topics.dimBlacklist, partitions, forwardWatermarks: true },
          { topic: topics.lateEvents, partitions },
          { topic: topics.deadLetter, partitions },
        ],
        createProcessor: clickBlacklistStage<SourcedEvent, AreaRow>({
          blacklist: { allowedLateness: o.allowedLatenessMs, threshold: o.blacklistClicks, timeZone: TimeZone.of(o.timeZone) },
          input: (key, { v }) => {
            const r = v as ByUser;
            if (r.c === 'area') return { kind: 'dimension', id: key, row: r.op === 'upsert' ? r.row : undefined };
            if (r.c !== 'event') throw new Error('dwd_ad_event: not an event or an area change');
            const { e } = r.event;
            return { kind: 'event', event: { id: e.event_id, time: e.ts, dimensionId: String(e.area_id), clickOn: e.type === 'ad_click' ? String(e.ad_id) : null, payload: r.event } };
          },
          events: {
            topic: topics.dwdAdEvent,
            encode: ({ event: { payload: { e } }, dimension, counted, version }) => ({
              key: e.event_id,
              value: JSON.stringify({
                event_id: e.event_id,
                type: e.type,
                ts: formatUtc(e.ts),
                user_id: e.user_id,
                ad_id: e.ad_id ?? null,
                province: dimension.province,
                city: dimension.city,
                channel: e.channel,
                device_id: e.device_id,
                session_id: e.session_id,
                ip: e.ip,
                counted: counted ? 1 : 0,
                _version: version,
              }),
            }),
          },
          blacklisted: {
            topic: topics.dimBlacklist,
            encode: ({ key, adId, day, since, version }) => ({
              key: `${key.slice(1)}|${adId}|${day}`,
              value: JSON.stringify({ user_id: Number(key.slice(1)), ad_id: Number(adId), day, blacklisted_at: formatUtc(since), _version: version }),
            }),
          },
          late: {
            topic: topics.lateEvents,
            encode: ({ event: { payload }, watermark }) => ({
              key: payload.e.event_id,
              value: JSON.stringify({ reason: 'ts is at or before the watermark minus the allowed lateness', watermark: formatUtc(watermark), topic: topics.odsEvents, partition: payload.p, offset: payload.o, event: payload.e }),
            }),
          },
          unresolved: {
            encode: ({ event: { payload } }) => ({
              key: payload.e.event_id,
              value: JSON.stringify({
                reason: `dwd_ad_event: unknown area_id ${payload.e.area_id} (no areas row by the time the event would be late)`,
                topic: topics.odsEvents,
                partition: payload.p,
                offset: payload.o,
                value: Buffer.from(JSON.stringify(payload.e)).toString('base64'),
              }),
            }),
          },
          watermarks: 'upstream',
          deadLetterTopic: topics.deadLetter,
        }),
      },
    ],
  };
}

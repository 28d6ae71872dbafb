/**
 * The two DWD changelogs as the ADS jobs read them: dwd_order_wide and dwd_ad_event are upserts by key
 * (a later row of an order replaces its earlier one, a deleted order comes with _is_deleted = 1, a
 * click's counted flag may flip), so each is normalized once (Flink's ChangelogNormalize) and every new
 * row retracts what the row before it contributed to every job, and adds what it contributes now.
 *
 * Orders are kept as long as the order wide join keeps them (created_at within the state retention
 * of the watermark); clicks while a late click may still flip them (the allowed lateness). Page views
 * and impressions are written once by the DWD job, so they are not kept.
 */
import type { KafkaMessage } from 'kafkajs';
import { formatUtc } from '../runtime/core/index.js';
import { normalizeStage } from '../runtime/normalize-stage.js';
import type { StageSpec } from '../runtime/stage.js';
import type { AdsContext, Feed } from './context.js';
import { parseAdEvent, parseOrderWide, type AdEventRow, type OrderWide } from './rows.js';

function feedOutputs<Row>(ctx: AdsContext, feeds: ReadonlyArray<Feed<Row>>, late: string) {
  const topics = new Map(feeds.flatMap((f) => f.topics).map((t) => [t.topic, t]));
  return [...topics.values(), { topic: late, partitions: ctx.partitions }, { topic: ctx.topics.deadLetter, partitions: ctx.partitions }];
}

export function ordersStage(ctx: AdsContext, feeds: ReadonlyArray<Feed<OrderWide>>): StageSpec {
  const late = ctx.topics.lateChanges;
  return {
    checkpointIntervalMs: ctx.checkpointIntervalMs,
    name: `${ctx.namespace}.ads.orders`,
    input: ctx.topics.dwdOrderWide,
    outputs: feedOutputs(ctx, feeds, late),
    createProcessor: normalizeStage<OrderWide>({
      parse: (message: KafkaMessage) => parseOrderWide(message),
      retentionMs: ctx.retentionMs,
      contributions: (o) => feeds.flatMap((f) => f.contribute(o)),
      late: {
        topic: late,
        encode: ({ key, time, watermark, row }) => ({
          key,
          value: JSON.stringify({
            job: 'ads',
            reason: 'a dwd_order_wide row of an order no longer kept, created before the watermark - the state retention',
            order_id: Number(key),
            event_time: formatUtc(time),
            watermark: formatUtc(watermark),
            row: row ?? null,
          }),
        }),
      },
      watermarks: 'upstream',
      deadLetterTopic: ctx.topics.deadLetter,
    }),
  };
}

export function eventsStage(ctx: AdsContext, feeds: ReadonlyArray<Feed<AdEventRow>>): StageSpec {
  const late = ctx.topics.lateEvents;
  return {
    checkpointIntervalMs: ctx.checkpointIntervalMs,
    name: `${ctx.namespace}.ads.events`,
    input: ctx.topics.dwdAdEvent,
    outputs: feedOutputs(ctx, feeds, late),
    createProcessor: normalizeStage<AdEventRow>({
      parse: (message: KafkaMessage) => parseAdEvent(message),
      retentionMs: ctx.allowedLatenessMs,
      mayChange: (e) => e.type === 'ad_click',
      contributions: (e) => feeds.flatMap((f) => f.contribute(e)),
      late: {
        topic: late,
        encode: ({ key, time, watermark, row }) => ({
          key,
          value: JSON.stringify({ reason: 'a dwd_ad_event row of a click no longer kept, at or before the watermark - the allowed lateness', watermark: formatUtc(watermark), event_time: formatUtc(time), event: row ?? null }),
        }),
      },
      watermarks: 'upstream',
      deadLetterTopic: ctx.topics.deadLetter,
    }),
  };
}

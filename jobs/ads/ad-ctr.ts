/**
 * ads_ad_ctr_5m: a window join of impressions and counted clicks per ad, ads with both only:
 *
 *   SELECT i.window_start, i.ad_id, i.impressions, c.clicks
 *   FROM (SELECT window_start, window_end, ad_id, count(*) AS impressions
 *         FROM TABLE(TUMBLE(TABLE dwd_ad_event, DESCRIPTOR(ts), INTERVAL '5' MINUTE))
 *         WHERE type = 'ad_impression' GROUP BY window_start, window_end, ad_id) i
 *   JOIN (SELECT window_start, window_end, ad_id, count(*) AS clicks
 *         FROM TABLE(TUMBLE(TABLE dwd_ad_event, DESCRIPTOR(ts), INTERVAL '5' MINUTE))
 *         WHERE type = 'ad_click' AND counted = 1 GROUP BY window_start, window_end, ad_id) c
 *   ON i.window_start = c.window_start AND i.window_end = c.window_end AND i.ad_id = c.ad_id
 *
 * Both sides are keyed by ad, so one window per ad counts them together; the inner join is a HAVING
 * on both counts. With the allowed lateness, a late event or a click the blacklist takes back updates
 * the window (and deletes its row when a side drops to nothing).
 */
import { aggregateFields, field, fixedWindows, sumDecimal } from '../runtime/core/index.js';
import { tumblingWindowsOf, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { isCountedClick } from './rows.js';
import { dateTime, tableRow } from './sinks.js';

const TABLE = 'ads_ad_ctr_5m';

type Side = 'impression' | 'click';

export function adCtrJob(ctx: AdsContext): AdsJob {
  const byAd = internalTopic(ctx, TABLE, 'by_ad');
  const late = ctx.topics.lateEvents;
  const side = (e: Parameters<NonNullable<AdsJob['events']>['contribute']>[0]): Side | undefined => (e.type === 'ad_impression' ? 'impression' : isCountedClick(e) ? 'click' : undefined);
  return {
    events: {
      topics: [byAd],
      contribute: (e) => {
        const s = side(e);
        return s === undefined || e.adId === null ? [] : [{ topic: byAd.topic, key: String(e.adId), t: e.ts, v: s }];
      },
    },
    stages: [
      {
        checkpointIntervalMs: ctx.checkpointIntervalMs,
        name: `${ctx.namespace}.${TABLE}.window`,
        input: byAd.topic,
        outputs: sinkOutputs(ctx, TABLE, late, false),
        createProcessor: upsertWindowStage({
          window: tumblingWindowsOf({
            assigner: fixedWindows(5 * 60_000),
            aggregate: aggregateFields({
              impressions: field(sumDecimal(0), (s: Side) => (s === 'impression' ? 1n : 0n)),
              clicks: field(sumDecimal(0), (s: Side) => (s === 'click' ? 1n : 0n)),
            }),
            allowedLateness: ctx.allowedLatenessMs,
            isEmpty: (r) => Number(r.impressions ?? '0') <= 0 || Number(r.clicks ?? '0') <= 0,
          }),
          value: (v) => {
            if (v !== 'impression' && v !== 'click') throw new Error('an ad ctr item is "impression" or "click"');
            return v;
          },
          emit: (c) => {
            const adId = Number(c.key);
            const figures = c.kind === 'upsert' ? { impressions: Number(c.value.impressions), clicks: Number(c.value.clicks) } : { impressions: 0, clicks: 0 };
            return [tableRow(ctx, TABLE, [c.window.start, adId], { window_start: dateTime(c.window.start), ad_id: adId, ...figures }, c.version, c.kind === 'delete')];
          },
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
    ],
  };
}

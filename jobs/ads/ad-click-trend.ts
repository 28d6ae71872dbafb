/**
 * ads_ad_click_trend_1m, with the screen ad_click_trend_1m (one hash per ad, a field per minute):
 *
 *   SELECT window_start AS minute, ad_id, count(*) AS clicks
 *   FROM TABLE(TUMBLE(TABLE dwd_ad_event, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
 *   WHERE type = 'ad_click' AND counted = 1
 *   GROUP BY window_start, window_end, ad_id
 *
 * An ad's minutes are all counted by the task owning the ad, so its screen hash is written field by
 * field in order (a minute once complete, again when a late click or the blacklist changes it).
 */
import { count, fixedWindows } from '../runtime/core/index.js';
import { tumblingWindowsOf, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { isCountedClick } from './rows.js';
import { dateTime, screenRecord, tableRow } from './sinks.js';

const TABLE = 'ads_ad_click_trend_1m';

export function adClickTrendJob(ctx: AdsContext): AdsJob {
  const byAd = internalTopic(ctx, TABLE, 'by_ad');
  const late = ctx.topics.lateEvents;
  return {
    events: {
      topics: [byAd],
      contribute: (e) => (isCountedClick(e) && e.adId !== null ? [{ topic: byAd.topic, key: String(e.adId), t: e.ts, v: 1 }] : []),
    },
    stages: [
      {
        checkpointIntervalMs: ctx.checkpointIntervalMs,
        name: `${ctx.namespace}.${TABLE}.window`,
        input: byAd.topic,
        outputs: sinkOutputs(ctx, TABLE, late, true),
        createProcessor: upsertWindowStage({
          window: tumblingWindowsOf({ assigner: fixedWindows(60_000), aggregate: count(), allowedLateness: ctx.allowedLatenessMs }),
          value: (v) => v,
          emit: (c) => {
            const adId = Number(c.key);
            const minute = c.window.start;
            return [
              tableRow(ctx, TABLE, [minute, adId], { minute: dateTime(minute), ad_id: adId, clicks: c.kind === 'upsert' ? c.value : 0 }, c.version, c.kind === 'delete'),
              c.kind === 'upsert'
                ? screenRecord(ctx, 'ad_click_trend_1m', { ad_id: adId }, 'upsert', [{ minute_start: minute, clicks: c.value }])
                : screenRecord(ctx, 'ad_click_trend_1m', { ad_id: adId }, 'remove', [{ minute_start: minute }]),
            ];
          },
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
    ],
  };
}

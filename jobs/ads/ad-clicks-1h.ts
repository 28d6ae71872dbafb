/**
 * ads_ad_clicks_1h, with the screen ad_clicks_1h:
 *
 *   SELECT window_start, window_end, ad_id, count(*) AS clicks
 *   FROM TABLE(HOP(TABLE dwd_ad_event, DESCRIPTOR(ts), INTERVAL '5' MINUTE, INTERVAL '1' HOUR))
 *   WHERE type = 'ad_click' AND counted = 1
 *   GROUP BY window_start, window_end, ad_id
 *
 * Clicks are re-keyed by ad and counted on shared 5-minute slices, with the allowed lateness: a late
 * click, or a click the blacklist takes back, updates the windows it is in. Each window's rows are
 * gathered by window, so that its screen hash is written whole once the window is complete.
 */
import { HOUR_MS, count, slidingWindows } from '../runtime/core/index.js';
import { gatherRecord, gatherStage } from '../runtime/gather-stage.js';
import { slicedWindows, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { isCountedClick } from './rows.js';
import { dateTime, screenRecord, tableRow } from './sinks.js';

const TABLE = 'ads_ad_clicks_1h';

function clicksOf(v: unknown): number {
  if (!Number.isSafeInteger(v)) throw new Error('an ad window row is its clicks');
  return v as number;
}

export function adClicks1hJob(ctx: AdsContext): AdsJob {
  const byAd = internalTopic(ctx, TABLE, 'by_ad');
  const windows = internalTopic(ctx, TABLE, 'windows');
  const late = ctx.topics.lateEvents;
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  return {
    events: {
      topics: [byAd],
      contribute: (e) => (isCountedClick(e) && e.adId !== null ? [{ topic: byAd.topic, key: String(e.adId), t: e.ts, v: 1 }] : []),
    },
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.window`,
        input: byAd.topic,
        outputs: [windows, ...sinkOutputs(ctx, TABLE, late, false)],
        createProcessor: upsertWindowStage({
          window: slicedWindows({ assigner: slidingWindows(HOUR_MS, 5 * 60_000), aggregate: count(), allowedLateness: ctx.allowedLatenessMs }),
          value: (v) => v,
          emit: (c) => {
            const adId = Number(c.key);
            const clicks = c.kind === 'upsert' ? c.value : 0;
            return [
              tableRow(ctx, TABLE, [c.window.start, c.window.end, adId], { window_start: dateTime(c.window.start), window_end: dateTime(c.window.end), ad_id: adId, clicks }, c.version, c.kind === 'delete'),
              gatherRecord(windows.topic, TABLE, c.window, c.key, c.kind === 'upsert' ? clicks : undefined),
            ];
          },
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.gather`,
        input: windows.topic,
        outputs: sinkOutputs(ctx, undefined, late, true),
        createProcessor: gatherStage<number>({
          latenessOf: () => ctx.allowedLatenessMs,
          value: (_table, v) => clicksOf(v),
          emit: (o) => {
            const scope = { window_start: o.window.start, window_end: o.window.end };
            if (o.kind === 'complete') return [screenRecord(ctx, 'ad_clicks_1h', scope, 'replace', o.rows.map(([ad, clicks]) => ({ ad_id: Number(ad), clicks })))];
            return [
              o.after === undefined
                ? screenRecord(ctx, 'ad_clicks_1h', scope, 'remove', [{ ad_id: Number(o.row) }])
                : screenRecord(ctx, 'ad_clicks_1h', scope, 'upsert', [{ ad_id: Number(o.row), clicks: o.after }]),
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

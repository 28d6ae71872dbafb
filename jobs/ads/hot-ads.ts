/**
 * ads_hot_ads_daily, with the screen hot_ads_daily:
 *
 *   SELECT * FROM (
 *     SELECT day, province, ad_id, clicks,
 *            ROW_NUMBER() OVER (PARTITION BY day, province ORDER BY clicks DESC, ad_id) AS rank
 *     FROM (SELECT toDate(ts, tz) AS day, province, ad_id, count(*) AS clicks
 *           FROM dwd_ad_event WHERE type = 'ad_click' AND counted = 1
 *           GROUP BY day, province, ad_id))
 *   WHERE rank <= 3
 *
 * province is that of the event's area. Clicks are counted per (province, ad) in calendar days of the
 * pipeline's zone, with the allowed lateness; each day's counts are gathered by day, so its screen hash
 * is written whole once the day is complete and each province is ranked over all its ads; later changes
 * re-rank one province.
 */
import { count } from '../runtime/core/index.js';
import { gatherRecord, gatherStage } from '../runtime/gather-stage.js';
import type { Emitted } from '../runtime/stage.js';
import { tumblingWindowsOf, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { compareCodePoints, rankChanges, topN } from './ranking.js';
import { isCountedClick } from './rows.js';
import { dayOf, screenRecord, tableRow } from './sinks.js';

const TABLE = 'ads_hot_ads_daily';

interface AdClicks {
  province: string;
  adId: number;
  clicks: number;
}

/** clicks desc, ad_id asc */
const adOrder = (a: AdClicks, b: AdClicks): number => b.clicks - a.clicks || a.adId - b.adId;

export function hotAdsJob(ctx: AdsContext): AdsJob {
  const byAd = internalTopic(ctx, TABLE, 'by_province_ad');
  const days = internalTopic(ctx, TABLE, 'days');
  const late = ctx.topics.lateEvents;
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  const ranking = (ads: readonly AdClicks[]) => topN(ads, 3, adOrder).map(({ rank, adId, clicks }) => ({ rank, ad_id: adId, clicks }));
  const adsOf = (rows: Iterable<readonly [string, number]>, only?: string): AdClicks[] => {
    const out: AdClicks[] = [];
    for (const [key, clicks] of rows) {
      const [province, adId] = JSON.parse(key) as [string, number];
      if (only === undefined || province === only) out.push({ province, adId, clicks });
    }
    return out;
  };
  const rankRows = (start: number, province: string, changes: ReturnType<typeof rankChanges<ReturnType<typeof ranking>[number]>>, version: () => number): Emitted[] => {
    const day = dayOf(ctx, start);
    return changes.map(({ rank, entry }) =>
      tableRow(ctx, TABLE, [day, province, rank], { day, province, rank, ad_id: entry?.ad_id ?? 0, clicks: entry?.clicks ?? 0 }, version(), entry === undefined),
    );
  };
  return {
    events: {
      topics: [byAd],
      contribute: (e) => (isCountedClick(e) && e.adId !== null && e.province !== '' ? [{ topic: byAd.topic, key: JSON.stringify([e.province, e.adId]), t: e.ts, v: 1 }] : []),
    },
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.window`,
        input: byAd.topic,
        outputs: [days, ...sinkOutputs(ctx, undefined, late, false)],
        createProcessor: upsertWindowStage({
          window: tumblingWindowsOf({ assigner: ctx.days, aggregate: count(), allowedLateness: ctx.allowedLatenessMs }),
          value: (v) => v,
          emit: (c) => [gatherRecord(days.topic, TABLE, c.window, c.key, c.kind === 'upsert' ? c.value : undefined)],
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.gather`,
        input: days.topic,
        outputs: sinkOutputs(ctx, TABLE, late, true),
        createProcessor: gatherStage<number>({
          latenessOf: () => ctx.allowedLatenessMs,
          value: (_table, v) => {
            if (!Number.isSafeInteger(v)) throw new Error('a hot ads row is its clicks');
            return v as number;
          },
          emit: (o, version) => {
            const scope = { day: dayOf(ctx, o.window.start) };
            if (o.kind === 'complete') {
              const all = adsOf(o.rows);
              const provinces = [...new Set(all.map((a) => a.province))].sort(compareCodePoints);
              const rankings = provinces.map((province) => ({ province, ranking: ranking(all.filter((a) => a.province === province)) }));
              return [
                ...rankings.flatMap(({ province, ranking: r }) => rankRows(o.window.start, province, rankChanges([], r, 3), version)),
                screenRecord(ctx, 'hot_ads_daily', scope, 'replace', rankings),
              ];
            }
            const [province, adId] = JSON.parse(o.row) as [string, number];
            const after = adsOf(o.rows, province);
            const before = after.filter((a) => a.adId !== adId);
            if (o.before !== undefined) before.push({ province, adId, clicks: o.before });
            const now = ranking(after);
            const changes = rankChanges(ranking(before), now, 3);
            if (changes.length === 0) return [];
            return [
              ...rankRows(o.window.start, province, changes, version),
              now.length === 0 ? screenRecord(ctx, 'hot_ads_daily', scope, 'remove', [{ province }]) : screenRecord(ctx, 'hot_ads_daily', scope, 'upsert', [{ province, ranking: now }]),
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

/**
 * click_bot: a user blacklisted, once per user and day.
 *
 *   SELECT blacklisted_at AS time, 'click_bot' AS kind, user_id AS subject,
 *          N + 1 AS value, N AS threshold, ad_id, day                  -- N = RTDW_BLACKLIST_CLICKS
 *   FROM (SELECT *, row_number() OVER (PARTITION BY user_id, day ORDER BY blacklisted_at, ad_id) AS n
 *         FROM dim_blacklist)
 *   WHERE n = 1
 *
 * dim_blacklist rows (written by the dwd_ad_event job, keyed by user, ad and day) are re-keyed by user,
 * so one task sees all of a user's rows; it judges them once the watermark passes their blacklisted_at
 * (jobs/runtime/core/alerts/click-bot.ts), so the alert does not depend on the order rows of several
 * ads arrived in.
 */
import { ClickBotDetector, type ClickBotOptions, type BlacklistRow, TimeZone } from '../runtime/core/index.js';
import { repartitionStage } from '../runtime/repartition-stage.js';
import type { AdsContext, AdsJob } from '../ads/context.js';
import { alertOutputs, alertTopic } from './alerts.js';
import { detectorStage } from './detector-stage.js';

const JOB = 'click_bot';
const UTC = TimeZone.of('UTC');

/** A dim_blacklist record (jobs/dwd/ad-event.ts): blacklisted_at as DateTime64 text in UTC. */
function blacklistRow(value: Buffer | null): BlacklistRow {
  if (value === null) throw new Error('dim_blacklist: empty record');
  const r = JSON.parse(value.toString()) as Partial<Record<'user_id' | 'ad_id' | 'day' | 'blacklisted_at', unknown>> | null;
  if (r === null || typeof r !== 'object' || !Number.isSafeInteger(r.user_id) || !Number.isSafeInteger(r.ad_id) || typeof r.day !== 'string' || typeof r.blacklisted_at !== 'string') {
    throw new Error('dim_blacklist: not a row {user_id, ad_id, day, blacklisted_at}');
  }
  return { user_id: r.user_id as number, ad_id: r.ad_id as number, day: r.day, blacklisted_at: UTC.parse(r.blacklisted_at) };
}

export function clickBotJob(ctx: AdsContext, blacklistClicks: number): AdsJob {
  const byUser = alertTopic(ctx, JOB, 'by_user');
  const late = ctx.topics.lateEvents;
  const detector: ClickBotOptions = { blacklistClicks };
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  return {
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.alerts.${JOB}.by_user`,
        input: ctx.topics.dimBlacklist,
        outputs: [byUser, { topic: ctx.topics.deadLetter, partitions: ctx.partitions }],
        createProcessor: repartitionStage({
          parse: (message) => {
            const row = blacklistRow(message.value);
            return { timestamp: row.blacklisted_at, records: [{ key: String(row.user_id), value: { ...row } }] };
          },
          output: byUser.topic,
          watermarks: 'upstream',
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.alerts.${JOB}.detect`,
        input: byUser.topic,
        outputs: alertOutputs(ctx, late),
        createProcessor: detectorStage(ctx, {
          create: () => new ClickBotDetector(detector),
          restore: (snapshot) => ClickBotDetector.restore(detector, snapshot),
          input: (_key, { v }) => {
            const r = v as Partial<BlacklistRow> | null;
            if (r === null || typeof r !== 'object' || !Number.isSafeInteger(r.user_id) || !Number.isSafeInteger(r.ad_id) || typeof r.day !== 'string' || !Number.isSafeInteger(r.blacklisted_at)) {
              throw new Error('click_bot: not a blacklist row {user_id, ad_id, day, blacklisted_at}');
            }
            return r as BlacklistRow;
          },
          lateTopic: late,
        }),
      },
    ],
  };
}

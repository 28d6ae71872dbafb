/**
 * ads_channel_daily: per day and channel, the counted clicks and their distinct users, and the counted
 * orders attributed to the channel:
 *
 *   WITH clicks AS (SELECT * FROM dwd_ad_event WHERE type = 'ad_click' AND counted = 1),
 *        orders AS (SELECT * FROM dwd_order_wide WHERE status <> 'cancelled')
 *   SELECT day, channel, sum(clicks), sum(clickers), sum(orders), sum(amount) FROM (
 *     SELECT toDate(ts, tz) AS day, channel, count(*) AS clicks, count(DISTINCT user_id) AS clickers, 0 AS orders, 0 AS amount
 *     FROM clicks GROUP BY day, channel
 *     UNION ALL
 *     SELECT toDate(o.created_at, tz), c.channel, 0, 0, count(*), sum(o.amount)
 *     FROM orders o JOIN (SELECT DISTINCT user_id, channel, ...) c        -- each order once per channel
 *       ON c.user_id = o.user_id AND c.ts BETWEEN o.created_at - INTERVAL 1 HOUR AND o.created_at
 *     GROUP BY 1, 2)
 *   GROUP BY day, channel
 *
 * Clicks and orders are keyed by user: there the interval semi-join (both bounds inclusive) matches each
 * order with each channel it has a click in, and takes the match back when the order or the click goes
 * (a cancellation, a click the blacklist removes); the distinct clickers are counted there too. The
 * user-level deltas are summed per channel in calendar days of the pipeline's zone, with the state
 * retention as lateness (orders are corrected that late).
 */
import { HOUR_MS, aggregateFields, parseDecimal } from '../runtime/core/index.js';
import { toJson } from '../runtime/json.js';
import { measuresStage } from '../runtime/measures-stage.js';
import type { Emitted } from '../runtime/stage.js';
import { tumblingWindowsOf, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { allZero, deltaSum, parseDeltas } from './daily-deltas.js';
import { isCounted, isCountedClick } from './rows.js';
import { dayOf, tableRow } from './sinks.js';

const TABLE = 'ads_channel_daily';

/** a counted click in a channel, or a counted order with its amount */
type ByUser = { readonly click: string } | { readonly order: number; readonly amount: string };

const CLICK_FIELDS = new Set(['clicks', 'clickers']);

export function channelDailyJob(ctx: AdsContext): AdsJob {
  const byUser = internalTopic(ctx, TABLE, 'by_user');
  const days = internalTopic(ctx, TABLE, 'days');
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  const lateOf = (events: boolean): string => (events ? ctx.topics.lateEvents : ctx.topics.lateChanges);
  return {
    events: {
      topics: [byUser],
      contribute: (e) => (isCountedClick(e) && e.userId !== null ? [{ topic: byUser.topic, key: `u${e.userId}`, t: e.ts, v: { click: e.channel } satisfies ByUser }] : []),
    },
    orders: {
      topics: [byUser],
      contribute: (o) => (isCounted(o) ? [{ topic: byUser.topic, key: `u${o.userId}`, t: o.createdAt, v: { order: o.orderId, amount: o.amount } satisfies ByUser }] : []),
    },
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.by_user`,
        input: byUser.topic,
        outputs: [days, { topic: ctx.topics.lateEvents, partitions: ctx.partitions }, { topic: ctx.topics.lateChanges, partitions: ctx.partitions }, { topic: ctx.topics.deadLetter, partitions: ctx.partitions }],
        createProcessor: measuresStage<ByUser, string>({
          measures: { assigner: ctx.days, latenessOf: (f) => (CLICK_FIELDS.has(f) ? ctx.allowedLatenessMs : ctx.retentionMs) },
          // a click at most 1 h before the order, or at its instant
          join: { lowerBound: -HOUR_MS, upperBound: 0, retentionMs: ctx.retentionMs },
          parse: (v) => {
            const r = v as Partial<{ click: unknown; order: unknown; amount: unknown }> | null;
            if (r !== null && typeof r === 'object' && typeof r.click === 'string') return { click: r.click };
            if (r !== null && typeof r === 'object' && Number.isSafeInteger(r.order) && typeof r.amount === 'string') return { order: r.order as number, amount: r.amount };
            throw new Error('a channel item is a click {click: channel} or an order {order, amount}');
          },
          apply: (user, r, { t, s }, ops) => {
            if ('click' in r) {
              ops.add(r.click, 'clicks', t, BigInt(s));
              ops.distinct(r.click, 'clickers', user, t, s);
              ops.right(user, r.click, t, s);
            } else {
              ops.left(user, String(r.order), t, r.amount, s);
            }
          },
          onMatch: (m, ops) => {
            ops.add(m.group, 'orders', m.time, BigInt(m.sign));
            ops.add(m.group, 'amount', m.time, BigInt(m.sign) * parseDecimal(m.row, 2));
          },
          outputTopic: days.topic,
          late: (l): Emitted => {
            const events = 'field' in l ? CLICK_FIELDS.has(l.field) : l.side === 'right';
            return { topic: lateOf(events), key: 'field' in l ? l.group : l.key, value: toJson({ job: TABLE, ...l }) };
          },
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.days`,
        input: days.topic,
        outputs: sinkOutputs(ctx, TABLE, ctx.topics.lateChanges, false),
        createProcessor: upsertWindowStage({
          window: tumblingWindowsOf({
            assigner: ctx.days,
            aggregate: aggregateFields({ clicks: deltaSum('clicks'), clickers: deltaSum('clickers'), orders: deltaSum('orders'), amount: deltaSum('amount', 2) }),
            allowedLateness: ctx.retentionMs,
            isEmpty: allZero,
          }),
          value: parseDeltas,
          emit: (c) => {
            const day = dayOf(ctx, c.window.start);
            const f = c.kind === 'upsert' ? c.value : undefined;
            return [
              tableRow(
                ctx,
                TABLE,
                [day, c.key],
                { day, channel: c.key, clicks: Number(f?.clicks ?? 0), clickers: Number(f?.clickers ?? 0), orders: Number(f?.orders ?? 0), amount: f?.amount ?? '0.00' },
                c.version,
                c.kind === 'delete',
              ),
            ];
          },
          watermarks: 'upstream',
          lateTopic: ctx.topics.lateChanges,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
    ],
  };
}

/**
 * order_brushing: a user placing many small orders in a short time.
 *
 *   WITH counts AS (
 *     SELECT user_id, window_start, window_end, count(*) AS orders
 *     FROM TABLE(HOP(TABLE dwd_order_wide, DESCRIPTOR(created_at), INTERVAL '1' MINUTE, INTERVAL '10' MINUTE))
 *     WHERE status <> 'cancelled' AND amount < 20.00                  -- counted orders, small amount
 *     GROUP BY user_id, window_start, window_end)
 *   SELECT window_end - 1 ms AS time, 'order_brushing' AS kind, user_id AS subject, orders AS value,
 *          SPOT(orders) OVER (ORDER BY window_end, user_id) AS threshold   -- one threshold over all users
 *   FROM counts WHERE orders > threshold                              -- once per episode of a user
 *
 * Orders come from the normalized dwd_order_wide changelog (an update retracts what the row counted
 * before), are counted per user on shared 1-minute slices with the state retention as allowed lateness
 * (as every figure fed by source rows: a correction, or an order written late, updates its windows, and
 * the detector judges it against the current threshold without learning from it), and every window's
 * count goes, under one key, to a single detector task holding the one SPOT model
 * (jobs/runtime/core/alerts/order-brushing.ts): it learns from the counts in window then user order
 * once the watermark passes a window, and alerts once per episode of overlapping over-threshold windows.
 */
import { OrderBrushingDetector, type OrderBrushingOptions, count, isSmallCountedOrder, slidingWindows } from '../runtime/core/index.js';
import { slicedWindows, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import type { AdsContext, AdsJob } from '../ads/context.js';
import { type AlertSettings, alertOutputs, alertTopic } from './alerts.js';
import { detectorStage, windowChangeRecord, windowInput } from './detector-stage.js';

const JOB = 'order_brushing';
const WINDOW_MS = 10 * 60_000;
const SLIDE_MS = 60_000;

function orderCount(v: unknown): number {
  if (!Number.isSafeInteger(v)) throw new Error('an order_brushing window result is its count of orders');
  return v as number;
}

export function orderBrushingJob(ctx: AdsContext, settings: AlertSettings): AdsJob {
  const byUser = alertTopic(ctx, JOB, 'by_user');
  const windows = alertTopic(ctx, JOB, 'windows');
  const late = ctx.topics.lateChanges;
  const lateness = ctx.retentionMs;
  const detector: OrderBrushingOptions = {
    spot: { q: settings.q, level: settings.level, calibrationSize: settings.brushingCalibration },
    windowSize: WINDOW_MS,
    allowedLateness: lateness,
  };
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  return {
    orders: {
      topics: [byUser],
      contribute: (o) =>
        isSmallCountedOrder({ user_id: o.userId, amount: o.amount, status: o.status, created_at: o.createdAt }, settings.smallOrderBelow)
          ? [{ topic: byUser.topic, key: String(o.userId), t: o.createdAt, v: 1 }]
          : [],
    },
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.alerts.${JOB}.window`,
        input: byUser.topic,
        outputs: [windows, { topic: late, partitions: ctx.partitions }, { topic: ctx.topics.deadLetter, partitions: ctx.partitions }],
        createProcessor: upsertWindowStage({
          window: slicedWindows({ assigner: slidingWindows(WINDOW_MS, SLIDE_MS), aggregate: count(), allowedLateness: lateness }),
          value: (v) => v,
          emit: (c) => [windowChangeRecord(windows.topic, JOB, c)],
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.alerts.${JOB}.detect`,
        input: windows.topic,
        outputs: alertOutputs(ctx, late),
        createProcessor: detectorStage(ctx, {
          create: () => new OrderBrushingDetector(detector),
          restore: (snapshot) => OrderBrushingDetector.restore(detector, snapshot),
          input: (_key, envelope) => windowInput(envelope, orderCount),
          lateTopic: late,
        }),
      },
    ],
  };
}

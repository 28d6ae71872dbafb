/**
 * ads_order_payment_5m:
 *
 *   SELECT window_start, province, count(*) AS orders, count(first_paid_at) AS paid_orders,
 *          coalesce(sum(paid_amount), 0) AS paid_amount
 *   FROM TABLE(TUMBLE(TABLE dwd_order_wide, DESCRIPTOR(created_at), INTERVAL '5' MINUTE))
 *   WHERE status <> 'cancelled' AND province <> ''           -- counted orders of a known area
 *   GROUP BY window_start, window_end, province
 *
 * first_paid_at is the order's first success payment within 30 minutes of its creation (dwd_order_wide),
 * so it usually arrives after the window has closed: with the state retention as allowed lateness, the
 * window is updated when the order's row is.
 */
import { aggregateFields, count, field, fixedWindows, parseDecimal, sumDecimal } from '../runtime/core/index.js';
import { tumblingWindowsOf, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { isCounted } from './rows.js';
import { dateTime, tableRow } from './sinks.js';

const TABLE = 'ads_order_payment_5m';

interface OrderPayment {
  /** paid_amount of the order's first payment, null when it has none */
  paid: string | null;
}

export function orderPaymentJob(ctx: AdsContext): AdsJob {
  const byProvince = internalTopic(ctx, TABLE, 'by_province');
  const late = ctx.topics.lateChanges;
  return {
    orders: {
      topics: [byProvince],
      contribute: (o) =>
        isCounted(o) && o.province !== ''
          ? [{ topic: byProvince.topic, key: o.province, t: o.createdAt, v: { paid: o.firstPaidAt === null ? null : (o.paidAmount ?? '0.00') } satisfies OrderPayment }]
          : [],
    },
    stages: [
      {
        checkpointIntervalMs: ctx.checkpointIntervalMs,
        name: `${ctx.namespace}.${TABLE}.window`,
        input: byProvince.topic,
        outputs: sinkOutputs(ctx, TABLE, late, false),
        createProcessor: upsertWindowStage({
          window: tumblingWindowsOf({
            assigner: fixedWindows(5 * 60_000),
            aggregate: aggregateFields({
              orders: field(count(), (o: OrderPayment) => o),
              paidOrders: field(sumDecimal(0), (o: OrderPayment) => (o.paid === null ? 0n : 1n)),
              paidAmount: field(sumDecimal(2), (o: OrderPayment) => (o.paid === null ? 0n : parseDecimal(o.paid, 2))),
            }),
            allowedLateness: ctx.retentionMs,
          }),
          value: (v) => {
            const o = v as Partial<OrderPayment> | null;
            if (o === null || typeof o !== 'object' || !(o.paid === null || typeof o.paid === 'string')) throw new Error('not an order payment item {paid}');
            return { paid: o.paid };
          },
          emit: (c) => [
            tableRow(
              ctx,
              TABLE,
              [c.window.start, c.key],
              {
                window_start: dateTime(c.window.start),
                province: c.key,
                orders: c.kind === 'upsert' ? c.value.orders : 0,
                paid_orders: c.kind === 'upsert' ? Number(c.value.paidOrders ?? '0') : 0,
                paid_amount: c.kind === 'upsert' ? (c.value.paidAmount ?? '0.00') : '0.00',
              },
              c.version,
              c.kind === 'delete',
            ),
          ],
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
    ],
  };
}

/**
 * payment_failure: the per-minute failure rate of payments far above its moving normal.
 *
 *   WITH minutes AS (
 *     SELECT window_start, window_end, count(*) AS payments, countIf(status = 'fail') AS failures
 *     FROM TABLE(TUMBLE(TABLE payments, DESCRIPTOR(paid_at), INTERVAL '1' MINUTE))
 *     GROUP BY window_start, window_end
 *     HAVING payments >= 20)                                          -- RTDW_ALERT_MIN_PAYMENTS
 *   SELECT window_end - 1 ms AS time, 'payment_failure' AS kind, 'payments' AS subject,
 *          failures / payments AS value,
 *          DSPOT(failures / payments, d = 10) OVER (ORDER BY window_end) AS threshold
 *   FROM minutes WHERE value > threshold
 *
 * Payments are read from the binlog as the order wide job reads them (Canal messages on ods_binlog,
 * the watermark the binlog time): each insert counts at its paid_at, an update moves its count; a
 * deleted payment row (a failed attempt purged, a payment reversed) still was an attempt made then, so
 * a deletion takes nothing back. Counts are kept per source partition (its payments stay in it: Canal
 * routes by primary key), in 1-minute windows with the state retention as allowed lateness (later
 * changes go to late_changes); a single detector task sums
 * each minute over them and feeds the rates to DSPOT in minute order, so a slow drift of the normal
 * rate moves the threshold and a burst stands out (jobs/runtime/core/alerts/payment-failure.ts).
 */
import {
  PaymentFailureDetector,
  type PaymentCounts,
  type PaymentFailureOptions,
  TimeZone,
  fixedWindows,
  paymentContributions,
  paymentOutcomes,
} from '../runtime/core/index.js';
import { repartitionStage, type Rekeyed } from '../runtime/repartition-stage.js';
import type { SignedItem } from '../runtime/signed-items.js';
import { tumblingWindowsOf, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import type { AdsContext, AdsJob } from '../ads/context.js';
import { parseBinlogMessage } from '../dwd/canal.js';
import type { DwdJobOptions } from '../dwd/options.js';
import { paymentRow } from '../dwd/source-rows.js';
import { type AlertSettings, alertOutputs, alertTopic } from './alerts.js';
import { detectorStage, windowChangeRecord, windowInput } from './detector-stage.js';

const JOB = 'payment_failure';
const MINUTE_MS = 60_000;

/** The payments of a binlog message as signed failed-or-not items, under the source partition. */
function paymentItems(message: { value: Buffer | null }, partition: number, zone: TimeZone, database: string | undefined): Rekeyed {
  const { es, changes } = parseBinlogMessage(message.value);
  const records = [];
  for (const change of changes) {
    if (change.table !== 'payments' || (database !== undefined && change.database !== database) || change.after === null) continue;
    const before = change.before === null ? null : paymentRow(change.before, zone);
    const after = paymentRow(change.after, zone);
    const items: SignedItem[] = paymentContributions(before === null ? null : { status: before.status, paid_at: before.paidAt }, { status: after.status, paid_at: after.paidAt }).map(
      (c) => ({ t: c.timestamp, s: c.sign, v: c.failed }),
    );
    const first = items[0];
    if (first !== undefined) records.push({ key: String(partition), timestamp: first.t, value: items });
  }
  return { timestamp: es, records };
}

function counts(v: unknown): PaymentCounts {
  const c = v as Partial<PaymentCounts> | null;
  if (c === null || typeof c !== 'object' || !Number.isSafeInteger(c.payments) || !Number.isSafeInteger(c.failures)) throw new Error('a payment_failure window result is {payments, failures}');
  return { payments: c.payments as number, failures: c.failures as number };
}

export function paymentFailureJob(ctx: AdsContext, o: Pick<DwdJobOptions, 'timeZone' | 'sourceDatabase' | 'outOfOrdernessMs' | 'idleTimeoutMs'>, settings: AlertSettings): AdsJob {
  const byPartition = alertTopic(ctx, JOB, 'by_partition');
  const minutes = alertTopic(ctx, JOB, 'minutes');
  const late = ctx.topics.lateChanges;
  const lateness = ctx.retentionMs;
  const zone = TimeZone.of(o.timeZone);
  const detector: PaymentFailureOptions = {
    dspot: { q: settings.q, level: settings.level, depth: settings.depth, calibrationSize: settings.paymentCalibrationMinutes },
    minPayments: settings.minPayments,
    windowSize: MINUTE_MS,
    allowedLateness: lateness,
  };
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  const deadLetter = { topic: ctx.topics.deadLetter, partitions: ctx.partitions };
  return {
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.alerts.${JOB}.binlog`,
        input: ctx.topics.odsBinlog,
        idleTimeoutMs: o.idleTimeoutMs,
        outputs: [byPartition, deadLetter],
        createProcessor: repartitionStage({
          parse: (message, partition) => paymentItems(message, partition, zone, o.sourceDatabase),
          output: byPartition.topic,
          watermarks: { outOfOrdernessMs: o.outOfOrdernessMs },
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.alerts.${JOB}.window`,
        input: byPartition.topic,
        outputs: [minutes, { topic: late, partitions: ctx.partitions }, deadLetter],
        createProcessor: upsertWindowStage({
          window: tumblingWindowsOf({ assigner: fixedWindows(MINUTE_MS), aggregate: paymentOutcomes(), allowedLateness: lateness }),
          value: (v) => {
            if (typeof v !== 'boolean') throw new Error('a payment_failure item is whether the payment failed');
            return v;
          },
          emit: (c) => [windowChangeRecord(minutes.topic, JOB, c)],
          watermarks: 'upstream',
          lateTopic: late,
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.alerts.${JOB}.detect`,
        input: minutes.topic,
        outputs: alertOutputs(ctx, late),
        createProcessor: detectorStage(ctx, {
          create: () => new PaymentFailureDetector(detector),
          restore: (snapshot) => PaymentFailureDetector.restore(detector, snapshot),
          input: (_key, envelope) => windowInput(envelope, counts),
          lateTopic: late,
        }),
      },
    ],
  };
}

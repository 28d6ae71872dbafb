/**
 * A seven-stage job over JSON orders and payments, for the runtime's multi-stage tests: two source
 * stages re-key orders (by province|city, and by order id), one re-keys payments by order id; a
 * sliding window sums amounts per city into an internal topic keyed by province; TopN ranks the
 * cities of each province per window; an interval join pairs orders with payments within 30 min,
 * and a window join pairs those in the same 10-minute window.
 */
import type { KafkaMessage } from 'kafkajs';
import { slidingWindows, sumDecimal, tumblingWindows } from '../../jobs/runtime/core/index.js';
import type { JobSpec } from '../../jobs/runtime/job.js';
import { intervalJoinStage, windowJoinStage } from '../../jobs/runtime/join-stages.js';
import { toJson } from '../../jobs/runtime/json.js';
import { repartitionStage } from '../../jobs/runtime/repartition-stage.js';
import { topNStage } from '../../jobs/runtime/topn-stage.js';
import { envelopeParser, windowResultsTo, windowStage } from '../../jobs/runtime/window-stage.js';

export interface Order {
  id: string;
  province: string;
  city: string;
  amount: number;
  ts: number;
}

export interface Payment {
  id: string;
  order: string;
  amount: number;
  ts: number;
}

export const WINDOW = { size: 3_600_000, slide: 300_000 };
export const JOIN_BOUNDS = { lower: 0, upper: 30 * 60_000 };
export const JOIN_WINDOW = 10 * 60_000;
export const OUT_OF_ORDERNESS = 5000;
/** how the tests run the job (run-graph-job.ts): a source partition without records for 3 s is idle */
export const TIMING = { idleTimeoutMs: 3000, checkpointIntervalMs: 300 };

function parseJson<T>(message: KafkaMessage, fields: ReadonlyArray<keyof T>): T {
  const value = JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown> | null;
  for (const f of fields) if (value === null || value[f as string] === undefined) throw new Error(`missing field ${String(f)}`);
  return value as T;
}

export function graphJob(o: { name: string; orders: string; payments: string; idleTimeoutMs: number; checkpointIntervalMs: number }): JobSpec {
  const t = (suffix: string): string => `${o.name}-${suffix}`;
  const common = { checkpointIntervalMs: o.checkpointIntervalMs, idleTimeoutMs: o.idleTimeoutMs };
  const source = { outOfOrdernessMs: OUT_OF_ORDERNESS };
  return {
    name: o.name,
    stages: [
      {
        ...common,
        name: t('orders-by-city'),
        input: o.orders,
        outputs: [{ topic: t('by-city'), partitions: 2, forwardWatermarks: true }, { topic: t('dead-letter'), partitions: 1 }],
        createProcessor: repartitionStage({
          parse: (m) => {
            const order = parseJson<Order>(m, ['id', 'province', 'city', 'amount', 'ts']);
            return { timestamp: order.ts, records: [{ key: `${order.province}|${order.city}`, value: String(order.amount) }] };
          },
          output: t('by-city'),
          watermarks: source,
          deadLetterTopic: t('dead-letter'),
        }),
      },
      {
        ...common,
        name: t('city-sum'),
        input: t('by-city'),
        outputs: [{ topic: t('city-windows'), partitions: 2, forwardWatermarks: true }, { topic: t('late'), partitions: 1 }, { topic: t('dead-letter'), partitions: 1 }],
        createProcessor: windowStage({
          parse: envelopeParser((v) => BigInt(v as string)),
          window: { assigner: slidingWindows(WINDOW.size, WINDOW.slide), aggregate: sumDecimal(0) },
          watermarks: 'upstream',
          output: windowResultsTo(t('city-windows'), (key) => key.split('|')[0] as string),
          lateTopic: t('late'),
          deadLetterTopic: t('dead-letter'),
        }),
      },
      {
        ...common,
        name: t('top-cities'),
        input: t('city-windows'),
        outputs: [{ topic: t('top3'), partitions: 2 }, { topic: t('late'), partitions: 1 }, { topic: t('dead-letter'), partitions: 1 }],
        createProcessor: topNStage({
          topN: { n: 3, groupOf: (key) => key.split('|')[0] as string, score: (v: bigint) => v },
          value: (v) => BigInt(v as string),
          output: { topic: t('top3'), encode: (r) => ({ key: `${r.group}|${r.window.start}|${r.window.end}`, value: toJson(r) }) },
          watermarks: 'upstream',
          lateTopic: t('late'),
          deadLetterTopic: t('dead-letter'),
        }),
      },
      {
        ...common,
        name: t('orders-by-id'),
        input: o.orders,
        outputs: [{ topic: t('join-in'), partitions: 3, forwardWatermarks: true }, { topic: t('dead-letter'), partitions: 1 }],
        createProcessor: repartitionStage({
          parse: (m) => {
            const order = parseJson<Order>(m, ['id', 'ts']);
            return { timestamp: order.ts, records: [{ key: order.id, value: order }] };
          },
          output: t('join-in'),
          side: 'left',
          watermarks: source,
          deadLetterTopic: t('dead-letter'),
        }),
      },
      {
        ...common,
        name: t('payments-by-order'),
        input: o.payments,
        outputs: [{ topic: t('join-in'), partitions: 3, forwardWatermarks: true }, { topic: t('dead-letter'), partitions: 1 }],
        createProcessor: repartitionStage({
          parse: (m) => {
            const payment = parseJson<Payment>(m, ['id', 'order', 'ts']);
            return { timestamp: payment.ts, records: [{ key: payment.order, value: payment }] };
          },
          output: t('join-in'),
          side: 'right',
          watermarks: source,
          deadLetterTopic: t('dead-letter'),
        }),
      },
      {
        ...common,
        name: t('order-payment'),
        input: t('join-in'),
        outputs: [{ topic: t('paid'), partitions: 2 }, { topic: t('late'), partitions: 1 }, { topic: t('dead-letter'), partitions: 1 }],
        createProcessor: intervalJoinStage({
          join: { lowerBound: JOIN_BOUNDS.lower, upperBound: JOIN_BOUNDS.upper },
          left: (v) => v as Order,
          right: (v) => v as Payment,
          output: { topic: t('paid'), encode: (p) => ({ key: `${p.left.id}|${p.right.id}`, value: toJson({ order: p.left.id, payment: p.right.id, ts: p.timestamp }) }) },
          watermarks: 'upstream',
          lateTopic: t('late'),
          deadLetterTopic: t('dead-letter'),
        }),
      },
      {
        ...common,
        name: t('order-payment-window'),
        input: t('join-in'),
        outputs: [{ topic: t('paid-window'), partitions: 2 }, { topic: t('late'), partitions: 1 }, { topic: t('dead-letter'), partitions: 1 }],
        createProcessor: windowJoinStage({
          windows: tumblingWindows(JOIN_WINDOW),
          left: (v) => v as Order,
          right: (v) => v as Payment,
          output: { topic: t('paid-window'), encode: (p) => ({ key: `${p.left.id}|${p.right.id}`, value: toJson({ window: p.window.start, ts: p.timestamp }) }) },
          watermarks: 'upstream',
          lateTopic: t('late'),
          deadLetterTopic: t('dead-letter'),
        }),
      },
    ],
  };
}

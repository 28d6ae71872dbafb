/**
 * ads_daily_kpi, with the screen daily_kpi: per calendar day in the pipeline's zone,
 *
 *   pv       = SELECT count(*)                  FROM dwd_ad_event WHERE type = 'page_view'
 *   uv       = SELECT count(DISTINCT device_id)  FROM dwd_ad_event WHERE type = 'page_view'
 *   ip       = SELECT count(DISTINCT ip)         FROM dwd_ad_event WHERE type = 'page_view'
 *   vv       = SELECT count(DISTINCT session_id) FROM dwd_ad_event WHERE type = 'page_view'
 *   dau      = SELECT count(DISTINCT user_id) FROM (SELECT user_id FROM dwd_ad_event WHERE user_id IS NOT NULL
 *                                                  UNION ALL SELECT user_id FROM dwd_order_wide WHERE status <> 'cancelled')
 *   orders   = SELECT count(*)    FROM dwd_order_wide WHERE status <> 'cancelled'   -- by created_at
 *   gmv      = SELECT sum(amount) FROM dwd_order_wide WHERE status <> 'cancelled'
 *   paid_gmv = SELECT sum(amount) FROM payments WHERE status = 'success'            -- by paid_at, from the binlog
 *
 * Distinct counts are exact, split as Flink SQL splits a distinct aggregation: a first level keyed by the
 * distinct value counts each value once per day (and pre-sums the plain figures), the second sums the
 * first level's deltas per day. Payments come from the binlog as a changelog with before images (an
 * update retracts the row before it, as Flink's canal-json format does), with the binlog time as
 * watermark, like the orders. Event figures take the allowed lateness, the others the state retention.
 */
import type { KafkaMessage } from 'kafkajs';
import { aggregateFields, parseDecimal, type TimeZone } from '../runtime/core/index.js';
import { toJson } from '../runtime/json.js';
import { measuresStage } from '../runtime/measures-stage.js';
import { repartitionStage, type Rekeyed, type RekeyedRecord } from '../runtime/repartition-stage.js';
import type { SignedItem } from '../runtime/signed-items.js';
import { tumblingWindowsOf, upsertWindowStage } from '../runtime/upsert-window-stage.js';
import { parseBinlogMessage } from '../dwd/canal.js';
import { paymentRow } from '../dwd/source-rows.js';
import { type AdsContext, type AdsJob, internalTopic, sinkOutputs } from './context.js';
import { allZero, deltaSum, parseDeltas } from './daily-deltas.js';
import { isCounted } from './rows.js';
import { dayOf, screenRecord, tableRow } from './sinks.js';

const TABLE = 'ads_daily_kpi';
/** the KPIs in their screen and column order; gmv and paid_gmv are amounts */
const KPIS = ['pv', 'uv', 'ip', 'vv', 'dau', 'orders', 'gmv', 'paid_gmv'] as const;
const AMOUNTS = new Set<string>(['gmv', 'paid_gmv']);
const EVENT_KPIS = new Set<string>(['pv', 'uv', 'ip', 'vv']);

/** A figure of one event, order or payment: a value counted once per day (`d`), or an amount to add (`n`, unscaled). */
type Measure = { readonly f: string; readonly d: string } | { readonly f: string; readonly n: string };

export interface DailyKpiOptions {
  /** read only this database's payments from the binlog; default: any */
  readonly sourceDatabase?: string;
  readonly outOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
}

/** Payments of a binlog message as signed items: a success payment's amount by its paid_at, the row before retracted. */
function payments(message: KafkaMessage, zone: TimeZone, database: string | undefined): Rekeyed {
  const { es, ddl, changes } = parseBinlogMessage(message.value);
  if (ddl !== null && (ddl.type === 'TRUNCATE' || ddl.type === 'ERASE') && ddl.table === 'payments' && (database === undefined || ddl.database === database)) {
    throw new Error(`${TABLE}: ${ddl.type} of ${ddl.database}.payments removes rows without row events; their paid_gmv is not taken back`);
  }
  const records: RekeyedRecord[] = [];
  for (const change of changes) {
    if (change.table !== 'payments' || (database !== undefined && change.database !== database)) continue;
    const items: SignedItem[] = [];
    const before = change.before === null ? undefined : paymentRow(change.before, zone);
    const after = change.after === null ? undefined : paymentRow(change.after, zone);
    if (before?.status === 'success') items.push({ t: before.paidAt, s: -1, v: { f: 'paid_gmv', n: parseDecimal(before.amount, 2).toString() } satisfies Measure });
    if (after?.status === 'success') items.push({ t: after.paidAt, s: 1, v: { f: 'paid_gmv', n: parseDecimal(after.amount, 2).toString() } satisfies Measure });
    const [first, second] = items;
    if (first === undefined || (second !== undefined && first.t === second.t && JSON.stringify(first.v) === JSON.stringify(second.v))) continue;
    records.push({ key: `p${(after ?? before)?.id}`, timestamp: first.t, value: items });
  }
  return { timestamp: es, records };
}

export function dailyKpiJob(ctx: AdsContext, o: DailyKpiOptions): AdsJob {
  const measures = internalTopic(ctx, TABLE, 'measures');
  const days = internalTopic(ctx, TABLE, 'days');
  const common = { checkpointIntervalMs: ctx.checkpointIntervalMs };
  const distinct = (t: number, f: string, d: string) => ({ topic: measures.topic, key: `${f}|${d}`, t, v: { f, d } satisfies Measure });
  return {
    events: {
      topics: [measures],
      contribute: (e) => [
        ...(e.type === 'page_view'
          ? [distinct(e.ts, 'uv', e.deviceId), { topic: measures.topic, key: `uv|${e.deviceId}`, t: e.ts, v: { f: 'pv', n: '1' } satisfies Measure }, distinct(e.ts, 'ip', e.ip), distinct(e.ts, 'vv', e.sessionId)]
          : []),
        ...(e.userId === null ? [] : [distinct(e.ts, 'dau', String(e.userId))]),
      ],
    },
    orders: {
      topics: [measures],
      contribute: (order) => {
        if (!isCounted(order)) return [];
        const key = `dau|${order.userId}`;
        return [
          distinct(order.createdAt, 'dau', String(order.userId)),
          { topic: measures.topic, key, t: order.createdAt, v: { f: 'orders', n: '1' } satisfies Measure },
          { topic: measures.topic, key, t: order.createdAt, v: { f: 'gmv', n: parseDecimal(order.amount, 2).toString() } satisfies Measure },
        ];
      },
    },
    stages: [
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.payments`,
        input: ctx.topics.odsBinlog,
        idleTimeoutMs: o.idleTimeoutMs,
        outputs: [measures, { topic: ctx.topics.deadLetter, partitions: ctx.partitions }],
        createProcessor: repartitionStage({
          parse: (message) => payments(message, ctx.zone, o.sourceDatabase),
          output: measures.topic,
          watermarks: { outOfOrdernessMs: o.outOfOrdernessMs },
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.measures`,
        input: measures.topic,
        outputs: [days, { topic: ctx.topics.lateEvents, partitions: ctx.partitions }, { topic: ctx.topics.lateChanges, partitions: ctx.partitions }, { topic: ctx.topics.deadLetter, partitions: ctx.partitions }],
        createProcessor: measuresStage<Measure, never>({
          measures: { assigner: ctx.days, latenessOf: (f) => (EVENT_KPIS.has(f) ? ctx.allowedLatenessMs : ctx.retentionMs) },
          parse: (v) => {
            const m = v as Partial<{ f: unknown; d: unknown; n: unknown }> | null;
            if (m === null || typeof m !== 'object' || typeof m.f !== 'string' || !(KPIS as readonly string[]).includes(m.f)) throw new Error('a daily kpi item names one of the KPIs in f');
            if (typeof m.d === 'string') return { f: m.f, d: m.d };
            if (typeof m.n === 'string' && /^-?\d+$/.test(m.n)) return { f: m.f, n: m.n };
            throw new Error('a daily kpi item has a value to count once (d) or an integer amount (n)');
          },
          apply: (_key, m, { t, s }, ops) => {
            if ('d' in m) ops.distinct('', m.f, m.d, t, s);
            else ops.add('', m.f, t, BigInt(s) * BigInt(m.n));
          },
          outputTopic: days.topic,
          late: (l) => ({ topic: 'field' in l && EVENT_KPIS.has(l.field) ? ctx.topics.lateEvents : ctx.topics.lateChanges, key: null, value: toJson({ job: TABLE, ...l }) }),
          deadLetterTopic: ctx.topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${ctx.namespace}.${TABLE}.days`,
        input: days.topic,
        outputs: sinkOutputs(ctx, TABLE, ctx.topics.lateChanges, true),
        createProcessor: upsertWindowStage({
          window: tumblingWindowsOf({
            assigner: ctx.days,
            aggregate: aggregateFields({
              pv: deltaSum('pv'),
              uv: deltaSum('uv'),
              ip: deltaSum('ip'),
              vv: deltaSum('vv'),
              dau: deltaSum('dau'),
              orders: deltaSum('orders'),
              gmv: deltaSum('gmv', 2),
              paid_gmv: deltaSum('paid_gmv', 2),
            }),
            allowedLateness: ctx.retentionMs,
            isEmpty: allZero,
          }),
          value: parseDeltas,
          emit: (c) => {
            const day = dayOf(ctx, c.window.start);
            const figures = Object.fromEntries(KPIS.map((k) => [k, AMOUNTS.has(k) ? ((c.kind === 'upsert' ? c.value[k] : null) ?? '0.00') : Number((c.kind === 'upsert' ? c.value[k] : null) ?? 0)]));
            return [
              tableRow(ctx, TABLE, [day], { day, ...figures }, c.version, c.kind === 'delete'),
              // a day's KPIs are written all at once, or its key deleted
              screenRecord(ctx, 'daily_kpi', { day }, 'replace', c.kind === 'upsert' ? KPIS.map((kpi) => ({ kpi, value: figures[kpi] })) : []),
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

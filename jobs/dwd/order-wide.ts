/**
 * dwd_order_wide: one row per current order (cancelled ones too), with its area and its first payment:
 *
 *   SELECT o.id AS order_id, o.user_id, a.province, a.city, o.amount, o.status, o.created_at,
 *          p.paid_at AS first_paid_at, p.amount AS paid_amount
 *   FROM orders o
 *   LEFT JOIN areas a ON a.id = o.area_id
 *   LEFT JOIN LATERAL (SELECT paid_at, amount FROM payments p
 *                      WHERE p.order_id = o.id AND p.status = 'success'
 *                        AND p.paid_at BETWEEN o.created_at AND o.created_at + INTERVAL 30 MINUTE
 *                      ORDER BY p.paid_at, p.id LIMIT 1) p ON TRUE
 *
 * kept current from the binlog: orders and payments re-keyed by order id, areas broadcast to every
 * task; every change re-evaluates its order, and a changed row is upserted with a higher _version (a
 * deleted order: _is_deleted = 1). The watermark is the binlog time (es): an order written late is a
 * correction. Orders are kept `stateRetentionMs` past their created_at; later changes go to
 * late_changes. province and city are '' while the order's area is not in areas (ClickHouse's LEFT
 * JOIN default).
 */
import type { KafkaMessage } from 'kafkajs';
import { TimeZone, formatUtc } from '../runtime/core/index.js';
import { changelogJoinStage } from '../runtime/changelog-join-stage.js';
import type { JobSpec } from '../runtime/job.js';
import { repartitionStage, type Rekeyed, type RekeyedRecord } from '../runtime/repartition-stage.js';
import { parseBinlogMessage, type RowChange } from './canal.js';
import { DEFAULT_PARTITIONS, dwdTopics, type DwdJobOptions } from './options.js';
import { areaRow, orderRow, paymentRow, type AreaRow, type OrderRow, type PaymentRow } from './source-rows.js';

export const PAYMENT_WINDOW_MS = 30 * 60_000;

/** What travels from the binlog stage to the join, keyed by order id (areas: by area id, to every partition). */
type Change =
  | { readonly c: 'order'; readonly op: 'upsert' | 'delete'; readonly row: OrderRow }
  | { readonly c: 'payment'; readonly op: 'upsert' | 'delete'; readonly row: PaymentRow }
  | { readonly c: 'area'; readonly op: 'upsert' | 'delete'; readonly row: AreaRow };

/** The dwd_order_wide columns but _version and _is_deleted. */
export interface OrderWideRow {
  order_id: number;
  user_id: number;
  province: string;
  city: string;
  amount: string;
  status: string;
  created_at: string;
  first_paid_at: string | null;
  paid_amount: string | null;
}

const JOINED_TABLES = new Set(['orders', 'payments', 'areas']);

/**
 * A row change as join inputs: when the change moves the row to another identity (its primary key, or a
 * payment's order), its deletion under the old one and an upsert under the new one.
 */
function changesOf<Row>(change: RowChange, parse: (row: NonNullable<RowChange['after']>) => Row, identity: (row: Row) => string, wrap: (op: 'upsert' | 'delete', row: Row) => RekeyedRecord): RekeyedRecord[] {
  const before = change.before === null ? undefined : parse(change.before);
  const after = change.after === null ? undefined : parse(change.after);
  const out: RekeyedRecord[] = [];
  if (before !== undefined && (after === undefined || identity(before) !== identity(after))) out.push(wrap('delete', before));
  if (after !== undefined) out.push(wrap('upsert', after));
  return out;
}

function byOrder(message: KafkaMessage, zone: TimeZone, database: string | undefined): Rekeyed {
  const { es, ddl, changes } = parseBinlogMessage(message.value);
  if (ddl !== null && (ddl.type === 'TRUNCATE' || ddl.type === 'ERASE') && JOINED_TABLES.has(ddl.table) && (database === undefined || ddl.database === database)) {
    throw new Error(`dwd_order_wide: ${ddl.type} of ${ddl.database}.${ddl.table} removes rows without row events; its orders are not taken back`);
  }
  const records: RekeyedRecord[] = [];
  for (const change of changes) {
    if (database !== undefined && change.database !== database) continue;
    if (change.table === 'orders') {
      records.push(...changesOf(change, (r) => orderRow(r, zone), (order) => String(order.id), (op, row) => ({ key: String(row.id), timestamp: row.createdAt, value: { c: 'order', op, row } satisfies Change })));
    } else if (change.table === 'payments') {
      records.push(...changesOf(change, (r) => paymentRow(r, zone), (p) => `${p.orderId}/${p.id}`, (op, row) => ({ key: String(row.orderId), timestamp: row.paidAt, value: { c: 'payment', op, row } satisfies Change })));
    } else if (change.table === 'areas') {
      records.push(...changesOf(change, areaRow, (area) => String(area.id), (op, row) => ({ key: String(row.id), broadcast: true, value: { c: 'area', op, row } satisfies Change })));
    }
  }
  return { timestamp: es, records };
}

const numeric = (a: string, b: string): number => Number(a) - Number(b);

export function orderWideJob(o: DwdJobOptions): JobSpec {
  const topics = dwdTopics(o.namespace);
  const zone = TimeZone.of(o.timeZone);
  const partitions = o.partitions ?? DEFAULT_PARTITIONS;
  const name = `${o.namespace}.dwd_order_wide`;
  const byOrderTopic = `${name}.by_order`;
  const common = { checkpointIntervalMs: o.checkpointIntervalMs ?? 1000 };
  return {
    name,
    stages: [
      {
        ...common,
        name: `${name}.binlog`,
        input: topics.odsBinlog,
        idleTimeoutMs: o.idleTimeoutMs,
        outputs: [
          { topic: byOrderTopic, partitions, forwardWatermarks: true },
          { topic: topics.deadLetter, partitions },
        ],
        createProcessor: repartitionStage({
          parse: (message) => byOrder(message, zone, o.sourceDatabase),
          output: byOrderTopic,
          outputPartitions: partitions,
          watermarks: { outOfOrdernessMs: o.outOfOrdernessMs },
          deadLetterTopic: topics.deadLetter,
        }),
      },
      {
        ...common,
        name: `${name}.join`,
        input: byOrderTopic,
        outputs: [
          { topic: topics.dwdOrderWide, partitions, forwardWatermarks: true },
          { topic: topics.lateChanges, partitions },
          { topic: topics.deadLetter, partitions },
        ],
        createProcessor: changelogJoinStage<OrderRow, PaymentRow, AreaRow, OrderWideRow>({
          join: {
            lowerBound: 0,
            upperBound: PAYMENT_WINDOW_MS,
            retentionMs: o.stateRetentionMs,
            matches: (payment) => payment.status === 'success',
            compareIds: numeric,
            dimensionOf: (order) => String(order.areaId),
            result: ({ row: order }, first, area) => ({
              order_id: order.id,
              user_id: order.userId,
              province: area?.province ?? '',
              city: area?.city ?? '',
              amount: order.amount,
              status: order.status,
              created_at: formatUtc(order.createdAt),
              first_paid_at: first === undefined ? null : formatUtc(first.time),
              paid_amount: first?.row.amount ?? null,
            }),
          },
          input: (key, { t, v }) => {
            const change = v as Change;
            if (change.c === 'order') return { side: 'left', op: change.op, key, time: t, row: change.row };
            if (change.c === 'payment') return { side: 'right', op: change.op, key, id: String(change.row.id), time: t, row: change.row };
            if (change.c === 'area') return change.op === 'upsert' ? { side: 'dimension', op: 'upsert', id: key, row: change.row } : { side: 'dimension', op: 'delete', id: key };
            throw new Error('dwd_order_wide: not an order, payment or area change');
          },
          output: {
            topic: topics.dwdOrderWide,
            encode: (r) => ({ key: String(r.value.order_id), value: JSON.stringify({ ...r.value, _version: r.version, _is_deleted: r.kind === 'delete' ? 1 : 0 }) }),
          },
          late: {
            topic: topics.lateChanges,
            encode: ({ change, watermark }) => ({
              key: change.key,
              value: JSON.stringify({
                job: 'dwd_order_wide',
                reason: `a change of ${change.side === 'left' ? 'an order' : 'a payment'} whose time is older than the watermark - the state retention, for an order no longer kept`,
                table: change.side === 'left' ? 'orders' : 'payments',
                op: change.op,
                order_id: Number(change.key),
                event_time: formatUtc(change.time),
                watermark: formatUtc(watermark),
                row: change.row,
              }),
            }),
          },
          watermarks: 'upstream',
          deadLetterTopic: topics.deadLetter,
        }),
      },
    ],
  };
}

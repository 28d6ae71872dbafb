/**
 * The generator's traffic as the warehouse job reads it, for in-memory runs: row actions of the tables
 * the DWD jobs read (areas, orders, payments) as the CDC writes them (Canal messages, one row each, keyed
 * and partitioned by primary key, es = the action's time), event deliveries as the generator's Kafka
 * writer sends them (JSON, keyed and partitioned by device), in the model's time order; and the abuse it
 * injected (the ground truth: written nowhere else).
 */
import { generate } from '../../connectors/generator/model.js';
import type { AbuseEpisode, Action } from '../../connectors/generator/actions.js';
import type { GeneratorOptionsInput } from '../../connectors/generator/options.js';
import { keyPartition } from '../../connectors/generator/kafka-writer.js';
import { canalMessage } from './canal-messages.js';

const READ_TABLES = new Set(['areas', 'orders', 'payments']);

export interface GeneratorInput {
  readonly source: 'binlog' | 'events';
  readonly partition: number;
  readonly key: string;
  readonly value: string;
  /** model time: binlog time or delivery */
  readonly at: number;
  /** an event delivered later than the watermark's bound plus the allowed lateness */
  readonly late?: boolean;
}

export interface GeneratorTraffic {
  readonly inputs: GeneratorInput[];
  readonly abuse: ReadonlyArray<{ readonly at: number; readonly abuse: AbuseEpisode }>;
  /** final rows of orders and payments by id (Canal text values) */
  readonly rows: { readonly orders: ReadonlyMap<number, Record<string, string>>; readonly payments: ReadonlyMap<number, Record<string, string>> };
  /** every payment row ever inserted, as inserted (a deleted one too) */
  readonly paymentInserts: ReadonlyArray<Record<string, string>>;
}

const text = (row: object): Record<string, string> => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]));

export function generatorTraffic(options: GeneratorOptionsInput, partitions: { binlog: number; events: number }): GeneratorTraffic {
  const inputs: GeneratorInput[] = [];
  const abuse: Array<{ at: number; abuse: AbuseEpisode }> = [];
  const tables = new Map<string, Map<number, Record<string, string>>>([...READ_TABLES].map((t) => [t, new Map()]));
  const paymentInserts: Array<Record<string, string>> = [];
  const binlog = (action: Action & { kind: 'row' }, type: 'INSERT' | 'UPDATE' | 'DELETE', row: Record<string, string>, old?: Record<string, string>): void => {
    const { key, value } = canalMessage({ table: action.table, type, row, ...(old === undefined ? {} : { old }), es: action.at });
    inputs.push({ source: 'binlog', partition: keyPartition(key, partitions.binlog), key, value, at: action.at });
  };
  for (const action of generate(options)) {
    if (action.kind === 'abuse') abuse.push({ at: action.at, abuse: action.abuse });
    else if (action.kind === 'event') {
      const key = action.event.device_id;
      inputs.push({ source: 'events', partition: keyPartition(key, partitions.events), key, value: JSON.stringify(action.event), at: action.at, late: action.delivery === 'late' });
    } else if (READ_TABLES.has(action.table)) {
      const rows = tables.get(action.table) as Map<number, Record<string, string>>;
      if (action.op === 'insert') {
        const row = text(action.row);
        const id = Number(row.id);
        const before = rows.get(id);
        rows.set(id, row);
        if (action.table === 'payments') paymentInserts.push(row);
        if (before === undefined) binlog(action, 'INSERT', row);
        else binlog(action, 'UPDATE', row, Object.fromEntries(Object.entries(before).filter(([k, v]) => row[k] !== v)));
      } else if (action.op === 'update') {
        const before = rows.get(action.id);
        if (before === undefined) throw new Error(`update of missing ${action.table} ${action.id}`);
        const row = { ...before, ...text(action.set) };
        rows.set(action.id, row);
        binlog(action, 'UPDATE', row, Object.fromEntries(Object.entries(before).filter(([k, v]) => row[k] !== v)));
      } else {
        const before = rows.get(action.id);
        if (before === undefined) throw new Error(`delete of missing ${action.table} ${action.id}`);
        rows.delete(action.id);
        binlog(action, 'DELETE', before);
      }
    }
  }
  return { inputs, abuse, rows: { orders: tables.get('orders') as Map<number, Record<string, string>>, payments: tables.get('payments') as Map<number, Record<string, string>> }, paymentInserts };
}

/**
 * The job outputs ClickHouse holds (dwd_order_wide, dwd_ad_event, dim_blacklist, pipeline_progress):
 * each topic `<ns>.<table>` carries one JSON object per row of the table of the same name, with its
 * `_version` (and `_is_deleted`) set by the job that wrote it. In SQL:
 *
 *   INSERT INTO <table> SELECT JSONExtract(value, '<columns of table>') FROM <ns>.<table>
 *
 * A record that is not a JSON object of exactly the table's columns goes to `<ns>.dead_letter`.
 */
import type { RtdwConfig } from '../schemas/config.js';
import { SINK_TABLE_TOPICS, topicName } from '../schemas/topics.js';
import type { SinkRecord, SinkSpec, TransformResult } from '../connectors/clickhouse/sink.js';

export function tableRow(table: string, record: SinkRecord): TransformResult {
  if (record.value === null) return { skip: 'tombstone' };
  let row: unknown;
  try {
    row = JSON.parse(record.value.toString('utf8'));
  } catch (err) {
    return { deadLetter: `malformed JSON: ${(err as Error).message}` };
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return { deadLetter: `a row of ${table} must be a JSON object of its columns` };
  return { rows: [{ table, row: row as Record<string, unknown> }] };
}

export function warehouseSink(namespace: string): SinkSpec {
  const tableOf = new Map<string, string>(SINK_TABLE_TOPICS.map((table) => [topicName(namespace, table), table]));
  return {
    name: 'warehouse',
    groupId: `${namespace}-clickhouse-sink`,
    topics: [...tableOf.keys()],
    tables: [...SINK_TABLE_TOPICS],
    deadLetterTopic: topicName(namespace, 'dead_letter'),
    transform: (record) => {
      const table = tableOf.get(record.topic);
      return table === undefined ? { deadLetter: `no table for topic ${record.topic}` } : tableRow(table, record);
    },
  };
}

export function warehouseSinkFor(config: RtdwConfig): SinkSpec {
  return warehouseSink(config.pipeline.namespace);
}

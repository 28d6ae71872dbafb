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
import { WATERMARK_HEADER } from './runtime/watermark-marker.js';
import { MarkerProgress, PROGRESS_TABLE } from './pipeline/published-progress.js';

/** A topic whose records are followed by the watermark markers of the stage tasks that write it. */
export interface MarkedTopic {
  /** the job name in pipeline_progress */
  job: string;
  partitions: number;
  /** the watermark producers ("<stage>/<partition>") writing into the topic */
  producers: readonly string[];
}

/** A watermark marker → the progress row it makes (if the job's watermark moved), else a skip. */
function markerRow(progress: MarkerProgress | undefined, record: SinkRecord, producer: string): TransformResult {
  if (progress === undefined) return { skip: 'watermark marker' };
  const body = JSON.parse(record.value?.toString('utf8') ?? 'null') as { watermark?: unknown; idle?: unknown } | null;
  const watermark = body?.idle === true ? null : body?.watermark;
  if (watermark !== null && (typeof watermark !== 'number' || !Number.isSafeInteger(watermark))) return { deadLetter: `malformed watermark marker from ${producer}` };
  const row = progress.onMarker(record.partition, producer, watermark);
  return row === undefined ? { skip: 'watermark marker' } : { rows: [row] };
}

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

export function warehouseSink(namespace: string, marked: ReadonlyMap<string, MarkedTopic> = new Map()): SinkSpec {
  const tableOf = new Map<string, string>(SINK_TABLE_TOPICS.map((table) => [topicName(namespace, table), table]));
  const progress = new Map([...marked].map(([topic, m]) => [topic, new MarkerProgress(m.job, m.partitions, m.producers)]));
  return {
    name: 'warehouse',
    groupId: `${namespace}-clickhouse-sink`,
    topics: [...tableOf.keys()],
    tables: [...SINK_TABLE_TOPICS],
    deadLetterTopic: topicName(namespace, 'dead_letter'),
    insertLast: [PROGRESS_TABLE],
    transform: (record) => {
      const producer = record.headers[WATERMARK_HEADER];
      if (producer !== undefined) return markerRow(progress.get(record.topic), record, producer);
      const table = tableOf.get(record.topic);
      return table === undefined ? { deadLetter: `no table for topic ${record.topic}` } : tableRow(table, record);
    },
  };
}

export function warehouseSinkFor(config: RtdwConfig, marked: ReadonlyMap<string, MarkedTopic>): SinkSpec {
  return warehouseSink(config.pipeline.namespace, marked);
}

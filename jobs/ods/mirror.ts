/**
 * ODS mirror: every source table into ClickHouse `<ns>.ods_<table>`, from the CDC's Canal topic.
 * What it does, as the SQL a data engineer would write:
 *
 *   INSERT INTO ods_<table>
 *   SELECT row.*,
 *          _offset * 65536 + row_index   AS _version,
 *          type = 'DELETE'               AS _is_deleted
 *   FROM <ns>.ods_binlog ARRAY JOIN data AS row WITH row_index
 *   WHERE NOT isDdl AND database = {MYSQL_DATABASE} AND table = '<table>'
 *
 * and read back with `SELECT ... FROM ods_<table> FINAL WHERE _is_deleted = 0`.
 *
 * `_version` follows the binlog order of each primary key because every change of a key sits in one
 * partition of the topic, in binlog order: the CDC partitions by primary-key hash (CDC_PARTITION_HASH)
 * and Kafka keeps a partition's order, so (offset, index of the row in the message) grows with it.
 * The same record always yields the same version, so a replay rewrites identical rows.
 * A primary-key change (an UPDATE whose `old` holds a key column) also removes the old key:
 * - keyed messages (CDC_KEY_BY_PK=true, the default) get it from the CDC, as a DELETE of the old key
 *   published in the old key's own partition, where its version is ordered with that key's changes;
 * - Canal's multi-row messages carry no such DELETE, so the mirror deletes the old key with this
 *   message's version: exact when both keys hash to the same partition (always with one partition).
 * What the order assumption does not cover: a topic recreated (offsets start again) or a different
 * partitioning; rebuild the mirror (TRUNCATE the ods_ tables, reset the group) after either.
 *
 * A DDL message is skipped (counted); a message that cannot be mirrored (malformed JSON, another
 * database, an unknown table, values that are not Canal's strings, a column the table lacks, a value
 * its column cannot hold exactly) goes to `<ns>.dead_letter` with the reason, and the job goes on.
 */
import type { RtdwConfig } from '../../schemas/config.js';
import { loadCdcOptions } from '../../connectors/mysql-binlog/config.js';
import { SOURCE_TABLES } from '../../schemas/events.js';
import { topicName } from '../../schemas/topics.js';
import type { CanalFlatMessage, CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';
import type { SinkRecord, SinkSpec, TableRow, TransformResult } from '../../connectors/clickhouse/sink.js';
import { EventTimeProgress, PROGRESS_TABLE } from '../pipeline/published-progress.js';

/** Rows per message the version leaves room for: a Canal message holds one rows event's rows of one partition. */
const ROWS_PER_MESSAGE = 65_536n;
const MAX_VERSION = (1n << 64n) - 1n;

export interface OdsMirrorOptions {
  namespace: string;
  /** the source database whose tables are mirrored (MYSQL_DATABASE) */
  sourceDatabase: string;
  /** the CDC topic; `<ns>.ods_binlog` by default */
  topic?: string;
  /** the topic's partitions: given, the mirror publishes its progress as job `ods` in pipeline_progress */
  partitions?: number;
}

export function odsTable(table: string): string {
  return `ods_${table}`;
}

const ROW_TYPES = new Set(['INSERT', 'UPDATE', 'DELETE']);
const sourceTables = new Set<string>(SOURCE_TABLES);

function isCanalRow(row: unknown): row is CanalRow {
  return typeof row === 'object' && row !== null && !Array.isArray(row) && Object.values(row).every((v) => typeof v === 'string' || v === null);
}

/** The message's rows as ODS rows, or the reason it cannot be mirrored. */
export function mirrorRows(message: CanalFlatMessage, offset: string, keyed: boolean, sourceDatabase: string): TableRow[] | string {
  if (message.database !== sourceDatabase) return `rows of database ${JSON.stringify(message.database)}, the mirror reads ${sourceDatabase}`;
  if (!sourceTables.has(message.table)) return `unknown table ${JSON.stringify(message.table)}: no ods_ table mirrors it`;
  const { data, old, pkNames } = message;
  if (!Array.isArray(data) || data.length === 0 || !data.every(isCanalRow)) return 'data must be a non-empty array of rows whose values are strings or null';
  if (message.type === 'UPDATE' && old !== null && (!Array.isArray(old) || old.length !== data.length || !old.every(isCanalRow))) return 'old must hold one row of strings or null per row of data';
  if (!Array.isArray(pkNames) || pkNames.length === 0 || !pkNames.every((k) => typeof k === 'string')) return 'pkNames must name the primary-key columns';
  if (BigInt(data.length) > ROWS_PER_MESSAGE) return `${data.length} rows in one message; the version scheme allows ${ROWS_PER_MESSAGE}`;
  const table = odsTable(message.table);
  const rows: TableRow[] = [];
  for (const [index, row] of data.entries()) {
    const version = BigInt(offset) * ROWS_PER_MESSAGE + BigInt(index);
    if (version > MAX_VERSION) return `offset ${offset} is beyond the range of _version`;
    const before = message.type === 'UPDATE' ? old?.[index] : undefined;
    const keyMoved = before !== undefined && pkNames.some((k) => Object.hasOwn(before, k) && before[k] !== row[k]);
    if (keyMoved && !keyed) rows.push({ table, row: { ...row, ...before, _version: version.toString(), _is_deleted: 1 } });
    rows.push({ table, row: { ...row, _version: version.toString(), _is_deleted: message.type === 'DELETE' ? 1 : 0 } });
  }
  return rows;
}

/**
 * One Kafka record of the Canal topic → its ODS rows, a skip or a dead letter. `onMirrored` hears
 * the binlog time (es) of each message whose rows are mirrored.
 */
export function mirrorRecord(record: SinkRecord, sourceDatabase: string, onMirrored?: (es: number) => void): TransformResult {
  // A tombstone keeps a compacted topic clean after a key's DELETE; the DELETE itself carried the row.
  if (record.value === null) return { skip: 'tombstone' };
  let message: CanalFlatMessage;
  try {
    message = JSON.parse(record.value.toString('utf8')) as CanalFlatMessage;
  } catch (err) {
    return { deadLetter: `malformed JSON: ${(err as Error).message}` };
  }
  if (typeof message !== 'object' || message === null || typeof message.type !== 'string' || typeof message.isDdl !== 'boolean') {
    return { deadLetter: 'not a Canal flat message (type and isDdl are required)' };
  }
  if (message.isDdl) return { skip: 'ddl' };
  if (!ROW_TYPES.has(message.type)) return { skip: `${message.type.toLowerCase()} message` };
  const rows = mirrorRows(message, record.offset, record.key !== null, sourceDatabase);
  if (typeof rows === 'string') return { deadLetter: rows };
  if (typeof message.es === 'number') onMirrored?.(message.es);
  return { rows };
}

/** The sink spec of the mirror: group `<ns>-ods-mirror`, dead letters to `<ns>.dead_letter`. */
export function odsMirror(options: OdsMirrorOptions): SinkSpec {
  const progress = options.partitions === undefined ? undefined : new EventTimeProgress('ods', options.partitions);
  return {
    name: 'ods-mirror',
    groupId: `${options.namespace}-ods-mirror`,
    topics: [options.topic ?? topicName(options.namespace, 'ods_binlog')],
    tables: progress === undefined ? SOURCE_TABLES.map(odsTable) : [...SOURCE_TABLES.map(odsTable), PROGRESS_TABLE],
    deadLetterTopic: topicName(options.namespace, 'dead_letter'),
    insertLast: [PROGRESS_TABLE],
    transform: (record) => {
      let progressRow: TableRow | undefined;
      const result = mirrorRecord(record, options.sourceDatabase, (es) => {
        progressRow = progress?.onEventTime(record.partition, es);
      });
      return progressRow !== undefined && 'rows' in result ? { rows: [...result.rows, progressRow] } : result;
    },
  };
}

/** The mirror of the pipeline's source database, reading the topic the CDC writes (CDC_TOPIC). */
export function odsMirrorFor(config: RtdwConfig, env: Record<string, string | undefined> = process.env): SinkSpec {
  const cdc = loadCdcOptions(config.mysql.database, env);
  return odsMirror({ namespace: config.pipeline.namespace, sourceDatabase: config.mysql.database, topic: cdc.topic, partitions: cdc.partitions });
}

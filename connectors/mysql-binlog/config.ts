/** `rtdw cdc` options: Canal's instance/MQ options under CDC_* environment variables, validated at start. */
import { z } from 'zod';
import { ConfigError, loadNamespace } from '../../schemas/config.js';
import { topicName } from '../../schemas/topics.js';
import { parseTimeZone } from './canal/time-zone.js';

const positiveInt = z.coerce.number().int().positive();

function isTimeZone(text: string): boolean {
  try {
    parseTimeZone(text);
    return true;
  } catch {
    return false;
  }
}

export const cdcEnvSchema = z.object({
  /** Connector name: Kafka transactional id and the key of its stored position; default `<ns>-cdc`. */
  CDC_NAME: z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only').optional(),
  /** Replica server id; must differ from every other replica of the source. */
  CDC_SERVER_ID: z.coerce.number().int().min(1).max(4294967295).default(5401),
  /** Canal canal.mq.topic: the topic for everything not matched by CDC_DYNAMIC_TOPIC; default `<ns>.ods_binlog`. */
  CDC_TOPIC: z.string().regex(/^[\w.-]+$/).optional(),
  /** Canal canal.mq.dynamicTopic, e.g. `.*\..*` for one topic per database.table. */
  CDC_DYNAMIC_TOPIC: z.string().default(''),
  /** Canal canal.mq.partitionsNum: partitions of the topics rtdw creates. */
  CDC_PARTITIONS: positiveInt.default(3),
  /** Canal canal.mq.partitionHash, e.g. `.*\..*:$pk$`; empty sends everything to partition 0. */
  CDC_PARTITION_HASH: z.string().default('.*\\..*:$pk$'),
  /** Kafka key = primary key, one row per message (compacted topics work); false: Canal's multi-row messages without key. */
  CDC_KEY_BY_PK: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Canal canal.instance.filter.regex; defaults to every table of MYSQL_DATABASE. */
  CDC_FILTER_REGEX: z.string().optional(),
  /** Canal canal.instance.filter.black.regex. */
  CDC_BLACK_REGEX: z.string().default(''),
  /**
   * Canal canal.instance.filter.query.ddl: keep DDL messages (isDdl) out of the data topics; the column
   * map still follows every schema change. Flink's canal-json fails on any DDL type but CREATE.
   */
  CDC_FILTER_DDL: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** A topic of its own for DDL messages (partition 0, binlog order), whether or not CDC_FILTER_DDL; empty: none. */
  CDC_DDL_TOPIC: z.string().regex(/^[\w.-]*$/).default(''),
  /** The zone TIMESTAMP values are printed in (Canal: its JVM's zone); empty: the source server's time zone. */
  CDC_TIMEZONE: z
    .string()
    .default('')
    .refine((v) => v === '' || isTimeZone(v), 'expected an offset such as +08:00 or a zone name such as Asia/Shanghai'),
  /** initial: snapshot when no position is stored; never: stream from the current end; when_needed: also re-snapshot when the stored position was purged. */
  CDC_SNAPSHOT: z.enum(['initial', 'never', 'when_needed']).default('initial'),
  CDC_SNAPSHOT_CHUNK: positiveInt.default(10_000),
  /** A Kafka transaction closes at this many rows or bytes, or after CDC_FLUSH_MS. */
  CDC_BATCH_ROWS: positiveInt.default(20_000),
  CDC_BATCH_BYTES: positiveInt.default(8 * 1024 * 1024),
  CDC_FLUSH_MS: positiveInt.default(100),
  /** Pause reading the binlog when this many rows wait for Kafka. */
  CDC_MAX_QUEUED_ROWS: positiveInt.default(200_000),
  /** No event for this long while the server's binlog moved on: the connection is declared dead. */
  CDC_WATCHDOG_MS: positiveInt.default(30_000),
  /** Default `<ns>.cdc_positions`. */
  CDC_POSITIONS_TOPIC: z.string().regex(/^[\w.-]+$/).optional(),
  /** Row events that cannot be encoded go here with the reason, instead of stopping the stream; default `<ns>.cdc_dead_letter`. */
  CDC_DEAD_LETTER_TOPIC: z.string().regex(/^[\w.-]+$/).optional(),
});

export interface CdcOptions {
  name: string;
  serverId: number;
  topic: string;
  dynamicTopic: string;
  partitions: number;
  partitionHash: string;
  keyByPrimaryKey: boolean;
  filterRegex: string;
  blackRegex: string;
  filterDdl: boolean;
  ddlTopic: string;
  /** '' = the source server's time zone */
  timeZone: string;
  snapshot: 'initial' | 'never' | 'when_needed';
  snapshotChunk: number;
  batchRows: number;
  batchBytes: number;
  flushMs: number;
  maxQueuedRows: number;
  watchdogMs: number;
  positionsTopic: string;
  deadLetterTopic: string;
}

export function loadCdcOptions(database: string, env: Record<string, string | undefined> = process.env): CdcOptions {
  const known = Object.fromEntries(Object.keys(cdcEnvSchema.shape).map((k) => [k, env[k] === '' && k !== 'CDC_DYNAMIC_TOPIC' && k !== 'CDC_PARTITION_HASH' && k !== 'CDC_BLACK_REGEX' ? undefined : env[k]]));
  const parsed = cdcEnvSchema.safeParse(known);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  const namespace = loadNamespace(env);
  return {
    name: e.CDC_NAME ?? `${namespace}-cdc`,
    serverId: e.CDC_SERVER_ID,
    topic: e.CDC_TOPIC ?? topicName(namespace, 'ods_binlog'),
    dynamicTopic: e.CDC_DYNAMIC_TOPIC,
    partitions: e.CDC_PARTITIONS,
    partitionHash: e.CDC_PARTITION_HASH,
    keyByPrimaryKey: e.CDC_KEY_BY_PK,
    filterRegex: e.CDC_FILTER_REGEX ?? `${database}\\..*`,
    blackRegex: e.CDC_BLACK_REGEX,
    filterDdl: e.CDC_FILTER_DDL,
    ddlTopic: e.CDC_DDL_TOPIC,
    timeZone: e.CDC_TIMEZONE,
    snapshot: e.CDC_SNAPSHOT,
    snapshotChunk: e.CDC_SNAPSHOT_CHUNK,
    batchRows: e.CDC_BATCH_ROWS,
    batchBytes: e.CDC_BATCH_BYTES,
    flushMs: e.CDC_FLUSH_MS,
    maxQueuedRows: e.CDC_MAX_QUEUED_ROWS,
    watchdogMs: e.CDC_WATCHDOG_MS,
    positionsTopic: e.CDC_POSITIONS_TOPIC ?? topicName(namespace, 'cdc_positions'),
    deadLetterTopic: e.CDC_DEAD_LETTER_TOPIC ?? topicName(namespace, 'cdc_dead_letter'),
  };
}

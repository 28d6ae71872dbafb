/**
 * Canal 1.1.x "flat message": the JSON a Canal server publishes to Kafka with canal.mq.flatMessage=true
 * (com.alibaba.otter.canal.protocol.FlatMessage, filled by MQMessageUtils.messageConverter, written by
 * CanalKafkaProducer with nulls included). Field order is Canal's: the JSON libraries it uses
 * (fastjson, fastjson2 since 1.1.7) sort bean fields by name.
 */

/**
 * CanalEntry.EventType values that reach a flat message: row changes, DDL, QUERY (database DDL and
 * statements Canal could not classify) and XA outcomes. GTID/MHEARTBEAT entries are never flattened.
 */
export type CanalEventType =
  | 'INSERT'
  | 'UPDATE'
  | 'DELETE'
  | 'CREATE'
  | 'ALTER'
  | 'ERASE'
  | 'QUERY'
  | 'TRUNCATE'
  | 'RENAME'
  | 'CINDEX'
  | 'DINDEX'
  | 'XACOMMIT'
  | 'XAROLLBACK';

/** One row image: column name to Canal's text form of the value, null for SQL NULL. */
export type CanalRow = Record<string, string | null>;

export interface CanalFlatMessage {
  /** DML: row images (after images for INSERT/UPDATE, before images for DELETE); null for DDL/QUERY. */
  data: CanalRow[] | null;
  database: string;
  /** Binlog event time in ms (the event header's seconds * 1000). */
  es: number;
  /**
   * Canal >= 1.1.7: Entry.Header.gtid, the executed GTID set including this transaction
   * ('uuid:1-42,...' on MySQL, 'domain-server-seq,...' on MariaDB); '' when GTIDs are not tracked.
   */
  gtid: string;
  /** The Canal batch id the message belongs to. */
  id: number;
  isDdl: boolean;
  /** Declared column types, e.g. 'decimal(12,2)', 'bigint(20) unsigned'; null for DDL/QUERY. */
  mysqlType: Record<string, string> | null;
  /** UPDATE only: per row, the before values of the columns Canal saw change; null otherwise. */
  old: CanalRow[] | null;
  /** Primary-key columns in table column order; null when the table has none, and for DDL/QUERY. */
  pkNames: string[] | null;
  /** The statement for DDL/QUERY/XA; '' for row changes. */
  sql: string;
  /** java.sql.Types code per column; null for DDL/QUERY. */
  sqlType: Record<string, number> | null;
  table: string;
  /** Time the message was built, ms. */
  ts: number;
  type: CanalEventType;
  /**
   * rtdw extension, present (true) only on rows read by the initial snapshot rather than the binlog.
   * Canal's own consumers ignore unknown fields (fastjson/fastjson2 by default, Flink's canal-json reads
   * named fields only); binlog messages never carry it, so they are exactly Canal's shape.
   */
  isSnapshot?: true;
}

/** The message as Canal's Kafka producer writes it: fields in Canal's (sorted) order, nulls written out. */
export function serializeFlatMessage(message: CanalFlatMessage): string {
  return new FlatMessageWriter().write(message);
}

/** `,"key":<json>`, or nothing where JSON.stringify would leave the field out (undefined). */
function field(key: string, value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? '' : `,"${key}":${json}`;
}

/**
 * serializeFlatMessage for a run of messages, typically the parts of one rows event split by partition
 * or by key: they differ only in data/old, so everything else is written once and spliced. The output
 * is exactly JSON.stringify of the message with its fields in Canal's order. The shared fields are
 * compared by reference, so a writer must not outlive the messages it wrote (nor see them mutated).
 */
export class FlatMessageWriter {
  private last: CanalFlatMessage | undefined;
  /** `,"database":` … `,"mysqlType":…` (between data and old) */
  private middle = '';
  /** `,"pkNames":` … `,"type":…}` (after old) */
  private tail = '';

  write(message: CanalFlatMessage): string {
    this.useEnvelope(message);
    const data = JSON.stringify(message.data) as string | undefined;
    const rest = this.middle + field('old', message.old) + this.tail;
    if (data !== undefined) return `{"data":${data}${rest}`;
    // rest starts with the comma of its first field, or is just the closing brace when every field is undefined.
    return rest.charCodeAt(0) === 44 ? `{${rest.slice(1)}` : `{${rest}`;
  }

  /**
   * The message around its rows, for rows serialized elsewhere: write() of the message with JSON arrays
   * `data` and `old` (or null) is `{"data":${data}${middle},"old":${old}${tail}`.
   */
  envelope(message: CanalFlatMessage): { middle: string; tail: string } {
    this.useEnvelope(message);
    return { middle: this.middle, tail: this.tail };
  }

  private useEnvelope(m: CanalFlatMessage): void {
    if (this.sharesEnvelope(m)) return;
    this.middle =
      field('database', m.database) +
      field('es', m.es) +
      field('gtid', m.gtid) +
      field('id', m.id) +
      field('isDdl', m.isDdl) +
      (m.isSnapshot === true ? ',"isSnapshot":true' : '') +
      field('mysqlType', m.mysqlType);
    this.tail = `${field('pkNames', m.pkNames)}${field('sql', m.sql)}${field('sqlType', m.sqlType)}${field('table', m.table)}${field('ts', m.ts)}${field('type', m.type)}}`;
    this.last = m;
  }

  private sharesEnvelope(m: CanalFlatMessage): boolean {
    const l = this.last;
    return (
      l !== undefined &&
      m.database === l.database &&
      Object.is(m.es, l.es) &&
      m.gtid === l.gtid &&
      Object.is(m.id, l.id) &&
      m.isDdl === l.isDdl &&
      (m.isSnapshot === true) === (l.isSnapshot === true) &&
      m.mysqlType === l.mysqlType &&
      m.pkNames === l.pkNames &&
      m.sql === l.sql &&
      m.sqlType === l.sqlType &&
      m.table === l.table &&
      Object.is(m.ts, l.ts) &&
      m.type === l.type
    );
  }
}

/** A record without a prototype, so a column named `__proto__` is stored as an ordinary field. */
export function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

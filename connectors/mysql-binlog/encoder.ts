/**
 * Binlog transactions and snapshot chunks → Canal flat messages → routed Kafka records, handed to a
 * RecordSink (the Kafka transaction being built). The Canal rules themselves live in canal/; this file
 * supplies table schemas and batch envelopes, and sends raw rows events through rows-codec.ts.
 */
import type { TableMapEntry } from '@vlasky/zongji';
import type { CommittedTransaction, RowChange, RowsEventData } from './binlog-reader.js';
import { buildTableSchema, type CanalTableSchema, type InformationSchemaColumn } from './canal/column-types.js';
import { buildQueryMessage, classifyQueryEvent } from './canal/ddl.js';
import { CanalTableFilter } from './canal/filter.js';
import { FlatMessageWriter, type CanalFlatMessage } from './canal/flat-message.js';
import { CanalMqRouter, primaryKeyMessageKey } from './canal/routing.js';
import { buildRowsMessage, buildSnapshotMessage, type MessageEnvelope, type RowsChange, type SourceRow } from './canal/row-event.js';
import { parseTimeZone, serverTimestampZone, UTC, type TimestampZone } from './canal/time-zone.js';
import type { CdcOptions } from './config.js';
import type { RecordSink } from './record-batch.js';
import { RawRowsEncoder } from './rows-codec.js';
import type { SchemaCache, TableColumns } from './schema-cache.js';
import type { SnapshotChunk } from './snapshot.js';

function rowsChange(change: RowChange): RowsChange {
  if (change.kind === 'insert') return { type: 'INSERT', rows: change.rows };
  if (change.kind === 'delete') return { type: 'DELETE', rows: change.rows };
  return { type: 'UPDATE', rows: change.rows };
}

function firstImage(change: RowChange): SourceRow | undefined {
  return change.kind === 'update' ? change.rows[0]?.after : change.rows[0];
}

function sameColumns(schema: CanalTableSchema, names: readonly string[]): boolean {
  return names.length === schema.columns.length && schema.columns.every((c, i) => c.name === names[i]);
}

/** The event's column names: the decoded row's keys, or the table map's columns of a raw event. */
function eventColumns(event: RowsEventData): string[] | undefined {
  if (event.rows.format === 'raw') return event.rows.event.tableMap.columns.map((c) => c.name);
  const image = firstImage(event.rows.change);
  return image === undefined ? undefined : Object.keys(image);
}

/**
 * The table as the binlog event itself describes it (binlog_row_metadata=FULL): used for events
 * written before an ALTER that information_schema already reflects. Types of columns that still
 * exist come from information_schema; the others from the event's metadata.
 */
function schemaFromEvent(tableMap: TableMapEntry, current: TableColumns, timeZone: TimestampZone): CanalTableSchema {
  const known = new Map(current.columns.map((c) => [c.COLUMN_NAME, c]));
  const columns: InformationSchemaColumn[] = tableMap.columnSchemas.map((c, i) => {
    const existing = known.get(c.COLUMN_NAME);
    if (existing !== undefined) return { ...existing, ORDINAL_POSITION: i + 1 };
    const columnType = c.COLUMN_TYPE.toLowerCase();
    const args = /\((\d+)(?:,(\d+))?\)/.exec(columnType);
    const dataType = columnType.replace(/\(.*$/, '').split(' ')[0] ?? columnType;
    return {
      COLUMN_NAME: c.COLUMN_NAME,
      ORDINAL_POSITION: i + 1,
      DATA_TYPE: dataType,
      COLUMN_TYPE: columnType,
      NUMERIC_SCALE: dataType === 'decimal' ? Number(args?.[2] ?? 0) : null,
      DATETIME_PRECISION: /^(datetime|timestamp|time)$/.test(dataType) ? Number(args?.[1] ?? 0) : null,
      COLUMN_KEY: current.primaryKey.includes(c.COLUMN_NAME) ? 'PRI' : '',
    };
  });
  return buildTableSchema(current.database, current.table, columns, { primaryKeyColumns: current.primaryKey.filter((k) => columns.some((c) => c.COLUMN_NAME === k)), timeZone });
}

/** The row images of a raw rows event, for a dead letter. */
function rawRowsBase64(event: { buf: Buffer; rowsStart: number; rowsEnd: number }): string {
  return event.buf.subarray(event.rowsStart, event.rowsEnd).toString('base64');
}

/** JSON of a row image whatever it holds: bytes as base64, bigint as text. */
function jsonSafe(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return { base64: Buffer.from((v as { data: number[] }).data).toString('base64') };
    }
    return v;
  });
}

/** Encoding yields to I/O (the binlog socket, Kafka responses of the transaction in flight) this often. */
const SLICE_MS = 5;

export class CanalEncoder {
  /** Row events sent to the dead-letter topic (the caller counts them). */
  deadLettered = 0;
  private readonly filter: CanalTableFilter;
  private readonly router: CanalMqRouter;
  private readonly built = new WeakMap<TableColumns, CanalTableSchema>();
  private readonly writer = new FlatMessageWriter();
  private readonly raw: RawRowsEncoder;
  private readonly fromEvents = new WeakMap<TableMapEntry, { current: TableColumns; schema: CanalTableSchema }>();
  private readonly deadLetterTopic: string;
  private readonly ddlTopic: string;
  private readonly filterDdl: boolean;
  private readonly keyByPrimaryKey: boolean;
  private readonly timeZoneSetting: string;
  /** CDC_TIMEZONE, or the server's zone once asked (timeZone()); every schema is built after that. */
  private zone: TimestampZone = UTC;
  private zoneKnown: Promise<void> | undefined;

  constructor(options: CdcOptions, private readonly schemas: SchemaCache) {
    this.timeZoneSetting = options.timeZone;
    this.deadLetterTopic = options.deadLetterTopic;
    this.ddlTopic = options.ddlTopic;
    this.filterDdl = options.filterDdl;
    this.keyByPrimaryKey = options.keyByPrimaryKey;
    this.filter = new CanalTableFilter({ filterRegex: options.filterRegex, blackRegex: options.blackRegex });
    this.router = new CanalMqRouter({
      topic: options.topic,
      dynamicTopic: options.dynamicTopic,
      partitionsNum: options.partitions,
      partitionHash: options.partitionHash,
      keyByPrimaryKey: options.keyByPrimaryKey,
    });
    this.raw = new RawRowsEncoder(this.router, options.keyByPrimaryKey, this.writer);
  }

  private sliceStart = performance.now();

  /** Lets pending I/O callbacks run when encoding has held the thread for a slice. */
  async pace(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }

  /** The zone TIMESTAMP is printed in: CDC_TIMEZONE, else the source server's, asked once (again after a failure). */
  async timeZone(): Promise<TimestampZone> {
    this.zoneKnown ??= (async () => {
      this.zone = this.timeZoneSetting !== '' ? parseTimeZone(this.timeZoneSetting) : serverTimestampZone(await this.schemas.timeZoneSettings());
    })().catch((err: unknown) => {
      this.zoneKnown = undefined;
      throw err;
    });
    await this.zoneKnown;
    return this.zone;
  }

  accepts(database: string, table: string): boolean {
    return this.filter.acceptsTable(database, table);
  }

  async encodeRows(txn: Extract<CommittedTransaction, { kind: 'rows' }>, batchId: number, now: number, sink: RecordSink): Promise<void> {
    const envelope: MessageEnvelope = { id: batchId, es: txn.eventTime, ts: now, gtid: txn.position.gtid };
    if (txn.events.length > 0) await this.timeZone();
    for (const event of txn.events) {
      await this.pace();
      try {
        const schema = await this.schemaForEvent(event.database, event.table, event.tableMap, eventColumns(event));
        if (event.rows.format === 'raw') this.raw.encode(event.rows.event, schema, envelope, sink);
        else this.route(buildRowsMessage(schema, rowsChange(event.rows.change), envelope), sink);
      } catch (err) {
        // One undecodable event must not stop the stream: it is routed, with its reason, and counted.
        this.deadLettered += 1;
        const rows = event.rows.format === 'raw' ? { rowsEvent: rawRowsBase64(event.rows.event) } : { rows: event.rows.change.rows };
        const kind = event.rows.format === 'raw' ? event.rows.event.kind : event.rows.change.kind;
        this.deadLetter(err, event.database, event.table, kind, { position: txn.position, gtid: txn.gtid ?? null, es: txn.eventTime, ...rows }, sink);
      }
    }
  }

  async encodeDdl(txn: Extract<CommittedTransaction, { kind: 'ddl' }>, batchId: number, now: number, sink: RecordSink): Promise<void> {
    const queryClass = classifyQueryEvent(txn.sql, txn.database);
    if (queryClass.kind === 'transaction-boundary' || queryClass.kind === 'ignored') return;
    if (queryClass.kind === 'statement') {
      // Rows after this statement decode under the new columns.
      for (const r of queryClass.results) {
        if (r.table === null) this.schemas.invalidate(r.schema);
        else this.schemas.invalidate(r.schema, r.table);
        if (r.renamedFrom !== null) this.schemas.invalidate(r.renamedFrom.schema, r.renamedFrom.table);
      }
    }
    if (!this.filter.acceptsQuery(queryClass)) return;
    const message = buildQueryMessage(txn.sql, queryClass, { id: batchId, es: txn.eventTime, ts: now, gtid: txn.position.gtid });
    if (message.isDdl && this.ddlTopic !== '') {
      // One partition keeps the schema history in binlog order.
      sink.add(this.ddlTopic, 0, this.keyByPrimaryKey ? primaryKeyMessageKey(message) : null, this.writer.write(message));
    }
    // canal.instance.filter.query.ddl: the statement is applied (above) but not published with the rows.
    if (message.isDdl && this.filterDdl) return;
    this.route(message, sink);
  }

  async encodeSnapshot(chunk: SnapshotChunk, batchId: number, now: number, sink: RecordSink): Promise<void> {
    if (chunk.rows.length === 0) return;
    await this.timeZone();
    const schema = this.schemaOf(await this.schemas.get(chunk.table.database, chunk.table.table));
    const envelope: MessageEnvelope = { id: batchId, es: now, ts: now, gtid: '' };
    for (const row of chunk.rows) {
      try {
        this.route(buildSnapshotMessage(schema, [row], envelope), sink);
      } catch (err) {
        this.deadLettered += 1;
        this.deadLetter(err, chunk.table.database, chunk.table.table, 'snapshot', { position: null, gtid: null, es: now, rows: [row] }, sink);
      }
    }
  }

  private schemaOf(columns: TableColumns): CanalTableSchema {
    let schema = this.built.get(columns);
    if (schema === undefined) {
      schema = buildTableSchema(columns.database, columns.table, columns.columns, { primaryKeyColumns: columns.primaryKey, timeZone: this.zone });
      this.built.set(columns, schema);
    }
    return schema;
  }

  private async schemaForEvent(database: string, table: string, tableMap: TableMapEntry, columns: readonly string[] | undefined): Promise<CanalTableSchema> {
    let current = await this.schemas.get(database, table);
    let schema = this.schemaOf(current);
    if (columns === undefined || sameColumns(schema, columns)) return schema;
    // The cached columns are stale (a DDL we have not seen yet) or ahead of this event (replay from before an ALTER).
    this.schemas.invalidate(database, table);
    current = await this.schemas.get(database, table);
    schema = this.schemaOf(current);
    return sameColumns(schema, columns) ? schema : this.schemaOfEvent(tableMap, current);
  }

  /** schemaFromEvent, built once per table map (the raw path caches its row layout per schema object). */
  private schemaOfEvent(tableMap: TableMapEntry, current: TableColumns): CanalTableSchema {
    const cached = this.fromEvents.get(tableMap);
    if (cached !== undefined && cached.current === current) return cached.schema;
    const schema = schemaFromEvent(tableMap, current, this.zone);
    this.fromEvents.set(tableMap, { current, schema });
    return schema;
  }

  private deadLetter(err: unknown, database: string, table: string, kind: string, context: Record<string, unknown>, sink: RecordSink): void {
    sink.add(this.deadLetterTopic, 0, JSON.stringify([database, table]), jsonSafe({ reason: err instanceof Error ? err.message : String(err), database, table, kind, ...context }));
  }

  private route(message: CanalFlatMessage, sink: RecordSink): void {
    // The routed parts of one message share everything but their rows: the writer serializes that once.
    for (const r of this.router.route(message)) sink.add(r.topic, r.partition, r.key, r.message === null ? null : this.writer.write(r.message));
  }
}

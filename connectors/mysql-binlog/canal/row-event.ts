/**
 * One binlog rows event (zongji writerows / updaterows / deleterows) as one Canal flat message, the way
 * LogEventConvert.parseRowsEvent builds the entry and MQMessageUtils.messageConverter flattens it.
 *
 * Requires binlog_row_image=FULL: zongji reports a column missing from a MINIMAL/NOBLOB image as null,
 * indistinguishable from SQL NULL, where Canal would leave the column out.
 */
import type { DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent } from '@vlasky/zongji';
import type { CanalColumn, CanalTableSchema } from './column-types.js';
import { emptyRecord } from './flat-message.js';
import type { CanalFlatMessage, CanalRow } from './flat-message.js';
import { toCanalValue } from './values.js';
import type { CanalValue } from './values.js';

/** A row image keyed by column name, as zongji (or a mysql2 snapshot query) delivers it. */
export type SourceRow = Readonly<Record<string, unknown>>;

export type RowsChange =
  | { type: 'INSERT'; rows: readonly SourceRow[] }
  | { type: 'DELETE'; rows: readonly SourceRow[] }
  | { type: 'UPDATE'; rows: readonly { readonly before: SourceRow; readonly after: SourceRow }[] };

/** The message fields that do not come from the rows. */
export interface MessageEnvelope {
  /** Batch id (Canal's Message id). */
  id: number;
  /** Event time in ms: the binlog event's timestamp (zongji event.timestamp). */
  es: number;
  /** Build time in ms. */
  ts: number;
  /** Executed GTID set including this transaction, or ''; see CanalFlatMessage.gtid. */
  gtid: string;
}

type RowsEvent = WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent;

function isUpdateRows(event: RowsEvent): event is UpdateRowsEvent {
  return event.getEventName() === 'updaterows';
}

function isDeleteRows(event: RowsEvent): event is DeleteRowsEvent {
  return event.getEventName() === 'deleterows';
}

export function rowsChangeFromEvent(event: RowsEvent): RowsChange {
  if (isUpdateRows(event)) return { type: 'UPDATE', rows: event.rows };
  if (isDeleteRows(event)) return { type: 'DELETE', rows: event.rows };
  return { type: 'INSERT', rows: event.rows };
}

function convertImage(schema: CanalTableSchema, image: SourceRow): CanalValue[] {
  const names = Object.keys(image);
  if (names.length !== schema.columns.length) {
    throw new Error(`${schema.database}.${schema.table}: row image has ${names.length} columns, the schema ${schema.columns.length}; the table changed, reload its schema`);
  }
  return schema.columns.map((column) => {
    if (!Object.hasOwn(image, column.name)) {
      throw new Error(`${schema.database}.${schema.table}: row image has no column ${column.name}; the table changed, reload its schema`);
    }
    return toCanalValue(column, image[column.name]);
  });
}

function toRow(columns: readonly CanalColumn[], values: readonly CanalValue[]): CanalRow {
  const row = emptyRecord<string | null>();
  columns.forEach((column, i) => {
    row[column.name] = values[i]?.value ?? null;
  });
  return row;
}

/** LogEventConvert.isUpdate: changed unless both NULL or both the same text. */
function changed(before: CanalValue | undefined, after: CanalValue | undefined): boolean {
  return (before?.value ?? null) !== (after?.value ?? null);
}

export function buildRowsMessage(schema: CanalTableSchema, change: RowsChange, envelope: MessageEnvelope): CanalFlatMessage {
  const { columns } = schema;
  const sqlType = emptyRecord<number>();
  const mysqlType = emptyRecord<string>();
  const data: CanalRow[] = [];
  const old: CanalRow[] = [];
  // MQMessageUtils.messageConverter keeps one set for the whole message: once a column changed in a
  // row, later rows of the message list it in `old` too (its before value, equal to its after value).
  const changedColumns = new Set<string>();

  const addImage = (values: readonly CanalValue[]): void => {
    // sqlType/mysqlType are LinkedHashMaps put for every row: first row's order, last row's codes.
    columns.forEach((column, i) => {
      sqlType[column.name] = values[i]?.sqlType ?? column.sqlTypeWhenNull;
      mysqlType[column.name] = column.mysqlType;
    });
    data.push(toRow(columns, values));
  };

  if (change.type === 'UPDATE') {
    for (const { before, after } of change.rows) {
      const beforeValues = convertImage(schema, before);
      const afterValues = convertImage(schema, after);
      addImage(afterValues);
      columns.forEach((column, i) => {
        if (changed(beforeValues[i], afterValues[i])) changedColumns.add(column.name);
      });
      const oldRow = emptyRecord<string | null>();
      columns.forEach((column, i) => {
        if (changedColumns.has(column.name)) oldRow[column.name] = beforeValues[i]?.value ?? null;
      });
      // Canal skips an empty entry, which shifts every later `old` off its `data` row (and its own
      // partitioner then pairs rows with the wrong entry); an empty object keeps old[i] with data[i].
      old.push(oldRow);
    }
  } else {
    for (const image of change.rows) addImage(convertImage(schema, image));
  }

  const hasRows = data.length > 0;
  return {
    data: hasRows ? data : null,
    database: schema.database,
    es: envelope.es,
    gtid: envelope.gtid,
    id: envelope.id,
    isDdl: false,
    mysqlType: hasRows ? mysqlType : null,
    old: old.length > 0 ? old : null,
    pkNames: hasRows && schema.pkNames.length > 0 ? [...schema.pkNames] : null,
    sql: '',
    sqlType: hasRows ? sqlType : null,
    table: schema.table,
    ts: envelope.ts,
    type: change.type,
  };
}

/** Rows read by the initial snapshot: INSERTs flagged with the rtdw isSnapshot extension. */
export function buildSnapshotMessage(schema: CanalTableSchema, rows: readonly SourceRow[], envelope: MessageEnvelope): CanalFlatMessage {
  return { ...buildRowsMessage(schema, { type: 'INSERT', rows }, envelope), isSnapshot: true };
}

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
import { canalSqlType, canalText } from './values.js';

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

/** Per table schema, what every row of it needs: computed once, not per row. */
interface RowLayout {
  names: readonly string[];
  /**
   * Rows can be plain objects (one hidden class per table: fast to fill and to JSON.stringify) unless a
   * column is named `__proto__`, which only a prototype-less record stores as an ordinary field.
   */
  plainRows: boolean;
}

const layouts = new WeakMap<CanalTableSchema, RowLayout>();

function layoutOf(schema: CanalTableSchema): RowLayout {
  let layout = layouts.get(schema);
  if (layout === undefined) {
    const names = schema.columns.map((c) => c.name);
    layout = { names, plainRows: !names.includes('__proto__') };
    layouts.set(schema, layout);
  }
  return layout;
}

function newRow(layout: RowLayout): CanalRow {
  return layout.plainRows ? {} : emptyRecord<string | null>();
}

/** Canal's text of every column of a row image, in column order, into `texts` (reused from row to row). */
function imageTexts(schema: CanalTableSchema, names: readonly string[], image: SourceRow, texts: Array<string | null>): Array<string | null> {
  const { columns } = schema;
  const count = Object.keys(image).length;
  if (count !== columns.length) {
    throw new Error(`${schema.database}.${schema.table}: row image has ${count} columns, the schema ${columns.length}; the table changed, reload its schema`);
  }
  for (let i = 0; i < columns.length; i++) {
    const name = names[i] as string;
    if (!Object.hasOwn(image, name)) {
      throw new Error(`${schema.database}.${schema.table}: row image has no column ${name}; the table changed, reload its schema`);
    }
    texts[i] = canalText(columns[i] as CanalColumn, image[name]);
  }
  return texts;
}

function toRow(layout: RowLayout, texts: ReadonlyArray<string | null>): CanalRow {
  const row = newRow(layout);
  const { names } = layout;
  for (let i = 0; i < names.length; i++) row[names[i] as string] = texts[i] ?? null;
  return row;
}

export function buildRowsMessage(schema: CanalTableSchema, change: RowsChange, envelope: MessageEnvelope): CanalFlatMessage {
  const { columns } = schema;
  const layout = layoutOf(schema);
  const { names } = layout;
  const data: CanalRow[] = [];
  const old: CanalRow[] = [];
  /** texts of the row image added last (scratch, reused): its codes are the message's sqlType */
  const afterTexts = new Array<string | null>(columns.length).fill(null);

  if (change.type === 'UPDATE') {
    // MQMessageUtils.messageConverter keeps one set for the whole message: once a column changed in a
    // row, later rows of the message list it in `old` too (its before value, equal to its after value).
    const changedColumns = new Uint8Array(columns.length);
    const beforeTexts = new Array<string | null>(columns.length).fill(null);
    for (const { before, after } of change.rows) {
      imageTexts(schema, names, before, beforeTexts);
      imageTexts(schema, names, after, afterTexts);
      data.push(toRow(layout, afterTexts));
      // LogEventConvert.isUpdate: changed unless both NULL or both the same text.
      for (let i = 0; i < columns.length; i++) if (beforeTexts[i] !== afterTexts[i]) changedColumns[i] = 1;
      const oldRow = newRow(layout);
      for (let i = 0; i < columns.length; i++) if (changedColumns[i] === 1) oldRow[names[i] as string] = beforeTexts[i] ?? null;
      // Canal skips an empty entry, which shifts every later `old` off its `data` row (and its own
      // partitioner then pairs rows with the wrong entry); an empty object keeps old[i] with data[i].
      old.push(oldRow);
    }
  } else {
    for (const image of change.rows) data.push(toRow(layout, imageTexts(schema, names, image, afterTexts)));
  }

  const hasRows = data.length > 0;
  let sqlType: Record<string, number> | null = null;
  let mysqlType: Record<string, string> | null = null;
  if (hasRows) {
    // sqlType/mysqlType are LinkedHashMaps put for every row: first row's order (the columns'), last row's codes.
    const codes = layout.plainRows ? {} : emptyRecord<number>();
    const types = layout.plainRows ? {} : emptyRecord<string>();
    columns.forEach((column, i) => {
      codes[column.name] = canalSqlType(column, afterTexts[i] ?? null);
      types[column.name] = column.mysqlType;
    });
    sqlType = codes;
    mysqlType = types;
  }
  return {
    data: hasRows ? data : null,
    database: schema.database,
    es: envelope.es,
    gtid: envelope.gtid,
    id: envelope.id,
    isDdl: false,
    mysqlType,
    old: old.length > 0 ? old : null,
    pkNames: hasRows && schema.pkNames.length > 0 ? [...schema.pkNames] : null,
    sql: '',
    sqlType,
    table: schema.table,
    ts: envelope.ts,
    type: change.type,
  };
}

/** Rows read by the initial snapshot: INSERTs flagged with the rtdw isSnapshot extension. */
export function buildSnapshotMessage(schema: CanalTableSchema, rows: readonly SourceRow[], envelope: MessageEnvelope): CanalFlatMessage {
  return { ...buildRowsMessage(schema, { type: 'INSERT', rows }, envelope), isSnapshot: true };
}

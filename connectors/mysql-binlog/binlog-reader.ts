/**
 * Reads the binlog through @vlasky/zongji and hands over whole committed transactions: the row
 * events of one transaction, or one DDL statement, each with the position just after its commit.
 * A position is therefore always a transaction boundary, the only safe place to resume.
 */
import ZongJi, {
  GtidSet,
  MariadbGtidPosition,
  type AnyBinlogEvent,
  type DeleteRowsEvent,
  type MariadbGtidEvent,
  type QueryEvent,
  type RowData,
  type TableMapEntry,
  type UpdateRowsEvent,
  type WriteRowsEvent,
} from '@vlasky/zongji';
import type { ServerFlavour } from './preflight.js';

export interface BinlogPosition {
  file: string;
  pos: number;
  /** executed GTIDs after this point ('' when the server has none) */
  gtid: string;
}

export type RowChange =
  | { kind: 'insert'; rows: RowData[] }
  | { kind: 'delete'; rows: RowData[] }
  | { kind: 'update'; rows: Array<{ before: RowData; after: RowData }> };

export interface RowsEventData {
  database: string;
  table: string;
  /** zongji's column metadata for the table as of this event */
  tableMap: TableMapEntry;
  change: RowChange;
  rowCount: number;
}

export type CommittedTransaction =
  | { kind: 'rows'; gtid: string | undefined; eventTime: number; position: BinlogPosition; events: RowsEventData[]; rowCount: number; bytes: number }
  | { kind: 'ddl'; gtid: string | undefined; eventTime: number; position: BinlogPosition; database: string; sql: string };

export interface BinlogReaderOptions {
  connection: { host: string; port: number; user: string; password: string };
  serverId: number;
  flavour: ServerFlavour;
  start: BinlogPosition;
  /** Which tables' row events to keep (the Canal filter); others are skipped after decoding. */
  acceptsTable: (database: string, table: string) => boolean;
  onTransaction: (txn: CommittedTransaction) => void;
  onError: (err: Error) => void;
  /** Called for every event: the watchdog's proof of life. */
  onActivity?: (eventTime: number) => void;
}

const SKIPPED_QUERIES = /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|XA\s)/i;

type ExecutedGtids = { add(event: MariadbGtidEvent | string): void; toString(): string };

function executedGtids(flavour: ServerFlavour, start: string): ExecutedGtids {
  if (flavour === 'mariadb') {
    const position = MariadbGtidPosition.parse(start);
    return {
      add: (e) => {
        if (typeof e !== 'string') position.add({ domainId: e.domainId, serverId: e.serverId, seqNo: e.seqNo });
      },
      toString: () => position.toString(),
    };
  }
  const set = GtidSet.parse(start);
  return {
    add: (e) => {
      if (typeof e === 'string') set.add(e);
    },
    toString: () => set.toString(),
  };
}

export class BinlogReader {
  private readonly zongji: ZongJi;
  private readonly executed: ExecutedGtids;
  private file: string;
  private pending: { gtidEvent: MariadbGtidEvent | undefined; gtid: string | undefined; events: RowsEventData[]; rowCount: number; bytes: number } | undefined;
  private paused = false;
  private stopped = false;

  constructor(private readonly opts: BinlogReaderOptions) {
    const { host, port, user, password } = opts.connection;
    // dateStrings: DATETIME/TIMESTAMP exactly as the server prints them (a Date would drop microseconds);
    // TIMESTAMP in UTC, as the snapshot session reads it; jsonStrings: MySQL JSON as its text.
    this.zongji = new ZongJi({ host, port, user, password, dateStrings: true, timezone: 'Z', jsonStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: 'utf8mb4' });
    this.executed = executedGtids(opts.flavour, opts.start.gtid);
    this.file = opts.start.file;
  }

  start(): Promise<void> {
    const { start, serverId } = this.opts;
    return new Promise((resolve, reject) => {
      let ready = false;
      this.zongji.on('ready', () => {
        ready = true;
        resolve();
      });
      this.zongji.on('error', (err: Error) => {
        if (!ready) reject(err);
        else this.opts.onError(err);
      });
      this.zongji.on('binlog', (event: AnyBinlogEvent) => {
        try {
          this.handle(event);
        } catch (err) {
          this.opts.onError(err instanceof Error ? err : new Error(String(err)));
        }
      });
      const resume = start.gtid !== ''
        ? { gtidSet: start.gtid }
        : { filename: start.file, position: start.pos };
      this.zongji.start({
        serverId,
        ...resume,
        includeEvents: ['rotate', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'mariadbgtid', 'gtid', 'heartbeat'],
      });
    });
  }

  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      this.zongji.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      this.zongji.stop();
    });
  }

  /** Backpressure: stop reading from the socket until resume(). zongji emits synchronously and has none of its own. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.connection()?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.connection()?.resume();
  }

  private connection(): { pause(): void; resume(): void } | undefined {
    return (this.zongji as unknown as { connection?: { pause(): void; resume(): void } }).connection;
  }

  private handle(event: AnyBinlogEvent): void {
    this.opts.onActivity?.(event.timestamp);
    switch (event.getEventName()) {
      case 'rotate': {
        const rotate = event as Extract<AnyBinlogEvent, { binlogName: string; position: number }>;
        this.file = rotate.binlogName;
        return;
      }
      case 'mariadbgtid': {
        const g = event as MariadbGtidEvent;
        this.pending = { gtidEvent: g, gtid: g.gtid, events: [], rowCount: 0, bytes: 0 };
        return;
      }
      case 'gtid': {
        const g = event as Extract<AnyBinlogEvent, { sid: string; gtid: string }>;
        this.pending = { gtidEvent: undefined, gtid: g.gtid, events: [], rowCount: 0, bytes: 0 };
        return;
      }
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        this.rows(event as WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent);
        return;
      case 'xid':
        this.commit(event);
        return;
      case 'query':
        this.query(event as QueryEvent);
        return;
      default:
        return;
    }
  }

  private rows(event: WriteRowsEvent | UpdateRowsEvent | DeleteRowsEvent): void {
    const tableMap = event.tableMap[event.tableId];
    if (tableMap === undefined) throw new Error(`row event for unknown table id ${event.tableId} at ${this.file}`);
    this.pending ??= { gtidEvent: undefined, gtid: event.gtid, events: [], rowCount: 0, bytes: 0 };
    if (!this.opts.acceptsTable(tableMap.parentSchema, tableMap.tableName)) return;
    const name = event.getEventName();
    const change: RowChange =
      name === 'writerows' ? { kind: 'insert', rows: (event as WriteRowsEvent).rows }
      : name === 'deleterows' ? { kind: 'delete', rows: (event as DeleteRowsEvent).rows }
      : { kind: 'update', rows: (event as UpdateRowsEvent).rows };
    this.pending.events.push({ database: tableMap.parentSchema, table: tableMap.tableName, tableMap, change, rowCount: change.rows.length });
    this.pending.rowCount += change.rows.length;
    this.pending.bytes += event.size;
  }

  private query(event: QueryEvent): void {
    const sql = event.query.trim();
    if (/^(COMMIT|XA COMMIT)\b/i.test(sql)) {
      // Non-transactional engines (and XA) close a group with a COMMIT query instead of an Xid.
      this.commit(event);
      return;
    }
    if (SKIPPED_QUERIES.test(sql)) return;
    // Anything else in ROW format is a statement the binlog carries as text: DDL (and a few admin statements).
    this.markExecuted();
    this.opts.onTransaction({
      kind: 'ddl',
      gtid: this.pending?.gtid ?? event.gtid,
      eventTime: event.timestamp,
      position: { file: this.file, pos: event.nextPosition, gtid: this.executed.toString() },
      database: event.schema,
      sql,
    });
    this.pending = undefined;
  }

  private commit(event: AnyBinlogEvent): void {
    const pending = this.pending;
    this.markExecuted();
    this.pending = undefined;
    // Emitted even with no (accepted) rows: the position must move past filtered transactions too.
    this.opts.onTransaction({
      kind: 'rows',
      gtid: pending?.gtid,
      eventTime: event.timestamp,
      position: { file: this.file, pos: event.nextPosition, gtid: this.executed.toString() },
      events: pending?.events ?? [],
      rowCount: pending?.rowCount ?? 0,
      bytes: pending?.bytes ?? 0,
    });
  }

  private markExecuted(): void {
    if (this.pending?.gtidEvent) this.executed.add(this.pending.gtidEvent);
    else if (this.pending?.gtid && this.opts.flavour === 'mysql') this.executed.add(this.pending.gtid);
  }
}

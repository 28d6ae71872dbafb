/**
 * Reads the binlog through @vlasky/zongji and hands over whole committed transactions: the row
 * events of one transaction, or one DDL statement, each with the position just after its commit.
 * A position is therefore always a transaction boundary, the only safe place to resume.
 *
 * Rows events of tables rows-codec.ts can decode are taken off the wire before zongji decodes them
 * (they are most of the stream, and zongji's row objects most of its cost) and handed over raw.
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
import { captureRowsEvent, type RawRowsEvent } from './rows-codec.js';

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
  /** the rows as zongji decoded them, or the event's bytes for rows-codec.ts */
  rows: { format: 'decoded'; change: RowChange } | { format: 'raw'; event: RawRowsEvent };
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
  /** false: zongji decodes every rows event (the reference the raw path is tested against). Default true. */
  rawRows?: boolean;
}

const SKIPPED_QUERIES = /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|XA\s)/i;

/**
 * Events a binlog file starts with, outside any transaction. The position after them is a valid place
 * to resume: handing it over lets the committed position (and the watchdog's idea of what was read)
 * follow a rotation that no transaction followed yet.
 */
const FILE_EVENTS = ['format', 'mariadbgtidlist', 'binlogcheckpoint', 'previousgtids'];

type ExecutedGtids = { add(event: MariadbGtidEvent | string): void; toString(): string };

/** A mysql2 packet as zongji's binlog command receives it: the payload is buffer[offset, end). */
interface WirePacket {
  buffer: Buffer;
  offset: number;
  end: number;
}

/** zongji's binlog command (lib/sequence/binlog.js): each packet goes to the state function start/binlogData returns. */
interface BinlogCommand {
  start(packet: WirePacket, connection: unknown): unknown;
  binlogData(packet: WirePacket, connection: unknown): unknown;
}

/** The zongji internals the raw rows capture relies on (checked at start). */
interface ZongJiInternals {
  BinlogClass: new (callback: unknown) => BinlogCommand;
  useChecksum: boolean;
  tableMap: Record<number, TableMapEntry | undefined>;
}

/** Binlog event header after the packet's OK byte: timestamp 4, type 1, server id 4, size 4, next position 4, flags 2. */
const EVENT_HEADER_BYTES = 19;

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
        try {
          // zongji creates BinlogClass just before 'ready' and instantiates it right after.
          if (this.opts.rawRows !== false) this.captureRawRows();
        } catch (err) {
          void this.stop();
          reject(err);
          return;
        }
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
        includeEvents: ['rotate', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'mariadbgtid', 'gtid', 'heartbeat', ...FILE_EVENTS],
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

  /**
   * Puts a packet filter in front of zongji's binlog command: a rows event of a table rows-codec.ts
   * decodes is handled here (or dropped when the table is filtered out), anything else goes to zongji.
   * zongji keeps its position and GTID bookkeeping on the other events, which is all this reader uses.
   */
  private captureRawRows(): void {
    const internals = this.zongji as unknown as ZongJiInternals;
    const Base = internals.BinlogClass;
    if (typeof Base !== 'function' || typeof Base.prototype.binlogData !== 'function' || typeof Base.prototype.start !== 'function') {
      throw new Error('unsupported @vlasky/zongji version: its binlog command is not where rtdw expects it (BinlogClass.prototype.binlogData)');
    }
    const reader = this;
    class Capturing extends Base {
      override start(packet: WirePacket, connection: unknown): unknown {
        const next = super.start(packet, connection);
        return next === Base.prototype.binlogData ? Capturing.prototype.binlogData : next;
      }

      override binlogData(packet: WirePacket, connection: unknown): unknown {
        if (reader.takeRowsEvent(packet, internals)) return Capturing.prototype.binlogData;
        const next = super.binlogData(packet, connection);
        return next === Base.prototype.binlogData ? Capturing.prototype.binlogData : next;
      }
    }
    internals.BinlogClass = Capturing;
  }

  /** True when the packet was a rows event this reader handled (or skipped) itself. */
  private takeRowsEvent(packet: WirePacket, internals: ZongJiInternals): boolean {
    const buf = packet.buffer;
    const header = packet.offset + 1;
    // OK packets only (0x00); EOF and errors are zongji's.
    if (this.stopped || buf[packet.offset] !== 0 || packet.end - header < EVENT_HEADER_BYTES + 8) return false;
    const typeCode = buf[header + 4] as number;
    if (typeCode < 0x17 || (typeCode > 0x19 && typeCode < 0x1e) || typeCode > 0x20) return false;
    const start = header + EVENT_HEADER_BYTES;
    const tableMap = internals.tableMap[buf.readUIntLE(start, 6)];
    if (tableMap === undefined) return false;
    this.opts.onActivity?.(buf.readUInt32LE(header) * 1000);
    // Rows of filtered tables are skipped undecoded.
    if (!this.opts.acceptsTable(tableMap.parentSchema, tableMap.tableName)) return true;
    const end = packet.end - (internals.useChecksum ? 4 : 0);
    let event: RawRowsEvent | undefined;
    try {
      event = captureRowsEvent(typeCode, tableMap, buf, start, end);
    } catch {
      // Images that do not add up to the event as this module reads them: zongji, the reference, decodes it.
      return false;
    }
    if (event === undefined) return false;
    this.pending ??= { gtidEvent: undefined, gtid: undefined, events: [], rowCount: 0, bytes: 0 };
    this.pending.events.push({ database: tableMap.parentSchema, table: tableMap.tableName, tableMap, rows: { format: 'raw', event }, rowCount: event.rowCount });
    this.pending.rowCount += event.rowCount;
    this.pending.bytes += end - start;
    return true;
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
      case 'format':
      case 'mariadbgtidlist':
      case 'binlogcheckpoint':
      case 'previousgtids':
        // The copies the server sends at the start of a dump have no position (0).
        if (this.pending === undefined && event.nextPosition > 0) {
          this.opts.onTransaction({ kind: 'rows', gtid: undefined, eventTime: event.timestamp, position: { file: this.file, pos: event.nextPosition, gtid: this.executed.toString() }, events: [], rowCount: 0, bytes: 0 });
        }
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
    this.pending.events.push({ database: tableMap.parentSchema, table: tableMap.tableName, tableMap, rows: { format: 'decoded', change }, rowCount: change.rows.length });
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

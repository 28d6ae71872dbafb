/**
 * The snapshot as DBLog runs it (Flink CDC 2.x, Debezium's read-only incremental snapshots): the binlog
 * streams from the start, and each table is read in primary-key chunks between two watermarks, binlog
 * coordinates taken before and after the chunk's SELECT. This class is the bookkeeping between the two
 * (no I/O: the service feeds it).
 *
 * - A chunk's window opens before its watermarks are read. From then on, every key of the table that the
 *   stream encodes is noted: such an event is newer than, or as new as, what the SELECT saw, and its
 *   image is the row's full state (Canal's data), so it wins and the chunk's row for that key is dropped.
 *   A window that opened after the stream had passed the low watermark missed events: it is read again.
 * - The chunk's remaining rows go into the stream once it has reached the high watermark, before any
 *   later transaction: per key, nothing newer than a chunk row precedes it, nothing older follows it.
 * - A table without primary key is one chunk. No key tells a consumer its snapshot rows from rows it
 *   got from the binlog, so until its chunk is released its binlog events are held back (not published:
 *   the chunk, read at a point after them, carries their effect), and an event after the chunk's low
 *   watermark makes the chunk stale. Only the initial snapshot reads such tables; requests refuse them.
 *   A DDL of the table (or its database) during a window makes the chunk stale too (the SELECT may predate it).
 *   A stale chunk and the chunks read after it are dropped and read again from the last released one.
 * - The progress (tables left, last key released, signal offset) travels in the position committed with
 *   the chunk's rows, so a kill -9 resumes after the last committed chunk.
 */
import type { BinlogPosition } from './binlog-reader.js';
import type { CanalFlatMessage, CanalRow } from './canal/flat-message.js';
import type { RecordSink, ValueParts } from './record-batch.js';
import type { SnapshotProgress, SnapshotTableRef, StoredKeyValue } from './position-store.js';
import type { SnapshotRow } from './snapshot.js';

/** Binlog coordinates in binlog order: file by its sequence number (names may outgrow their zero padding), then offset. */
export function compareBinlogPositions(a: { file: string; pos: number }, b: { file: string; pos: number }): number {
  if (a.file !== b.file) {
    const dot = (f: string): number => f.lastIndexOf('.');
    const baseA = a.file.slice(0, dot(a.file));
    const baseB = b.file.slice(0, dot(b.file));
    if (baseA !== baseB) return baseA < baseB ? -1 : 1;
    return Number(a.file.slice(dot(a.file) + 1)) - Number(b.file.slice(dot(b.file) + 1));
  }
  return a.pos - b.pos;
}

/** A row's primary key as one string, from its Canal texts in pkNames order: the same for a snapshot row and a binlog image. */
export function keyText(values: ReadonlyArray<string | null>): string {
  return JSON.stringify(values);
}

/** One chunk as read from the table, between its watermarks. */
export interface ChunkRead {
  rows: SnapshotRow[];
  /** each row's keyText, in row order; empty for a table without primary key */
  keys: string[];
  keyless: boolean;
  /** binlog coordinates before the SELECT (everything up to them is in the rows) and after it */
  low: BinlogPosition;
  high: BinlogPosition;
  /** the key the next chunk starts after; null: this chunk ends the table */
  next: StoredKeyValue[] | null;
  /** the table no longer exists (rows empty, next null, watermarks meaningless) */
  missing: boolean;
}

/** What the chunk reader is asked for. */
export interface ChunkRequest {
  /** the window opened for it */
  window: number;
  table: SnapshotTableRef;
  after: StoredKeyValue[] | null;
}

/** A chunk's rows that go into the stream now. */
export interface ReleasedChunk {
  table: SnapshotTableRef;
  rows: SnapshotRow[];
  /** rows the window saw change, dropped in favour of their binlog events */
  superseded: number;
}

interface Window {
  id: number;
  table: SnapshotTableRef;
  /** what the stream had encoded when the window opened */
  openedAt: BinlogPosition;
  /** keys of the table's rows encoded since the window opened */
  seen: Set<string>;
  /** the latest position of an event of the table encoded since the window opened */
  lastEventAt: BinlogPosition | undefined;
  stale: boolean;
  chunk: ChunkRead | undefined;
}

const sameTable = (a: SnapshotTableRef, database: string, table: string): boolean => a.database === database && a.table === table;

/** Whether a snapshot of `a` reads every row one of `b` would: the same table, and `a` whole or the same key range. */
const covers = (a: SnapshotTableRef, b: SnapshotTableRef): boolean => sameTable(a, b.database, b.table) && (a.range === undefined || JSON.stringify(a.range) === JSON.stringify(b.range));

function advance(progress: SnapshotProgress, chunk: ChunkRead, published: number): SnapshotProgress | undefined {
  const tables = chunk.next === null ? progress.tables.slice(1) : progress.tables;
  if (tables.length === 0) return undefined;
  return { tables, after: chunk.next, rows: progress.rows + published };
}

export class IncrementalSnapshot {
  /** progress after the chunks released so far: what the next committed position carries */
  private released: SnapshotProgress | undefined;
  /** undefined: from the earliest request the signal topic still holds */
  private signalOffset: string | undefined;
  /** open windows in read order; only the last may still wait for its chunk */
  private windows: Window[] = [];
  private nextWindow = 1;
  /** the position of the last transaction the stream encoded */
  private streamed: BinlogPosition;
  /** the end of the transaction being encoded (encoding yields): a window opening now may miss part of it */
  private encodingTo: BinlogPosition | undefined;
  /** progress or signal offset changed since progress() was last taken */
  private changed = false;

  constructor(
    from: { position: BinlogPosition; snapshot: SnapshotProgress | undefined; signalOffset: string | undefined },
    /** chunks read ahead of the stream, at most */
    private readonly readAhead: number,
    /** called whenever the reader may have something new to read */
    private readonly onReadable: () => void,
  ) {
    this.released = from.snapshot;
    this.signalOffset = from.signalOffset;
    this.streamed = from.position;
  }

  /** The next chunk to read, its window opened now; undefined when there is none, or enough is read ahead. */
  openNext(): ChunkRequest | undefined {
    const last = this.windows[this.windows.length - 1];
    if (this.windows.length >= this.readAhead || (last !== undefined && last.chunk === undefined)) return undefined;
    const cursor = this.windows.reduce<SnapshotProgress | undefined>((p, w) => (p === undefined ? undefined : advance(p, w.chunk as ChunkRead, 0)), this.released);
    const table = cursor?.tables[0];
    if (cursor === undefined || table === undefined) return undefined;
    const window: Window = { id: this.nextWindow++, table, openedAt: this.encodingTo ?? this.streamed, seen: new Set(), lastEventAt: undefined, stale: false, chunk: undefined };
    this.windows.push(window);
    return { window: window.id, table, after: cursor.after };
  }

  /** The chunk read for window `id` (ignored when that window was dropped meanwhile). */
  attach(id: number, chunk: ChunkRead): void {
    const window = this.windows.find((w) => w.id === id);
    if (window === undefined) return;
    // A table that is gone has nothing to reconcile: it is skipped where the stream is.
    window.chunk = chunk.missing ? { ...chunk, low: window.openedAt, high: window.openedAt } : chunk;
    // Events between the low watermark and the window's opening were encoded unseen.
    if (compareBinlogPositions(window.openedAt, window.chunk.low) > 0) window.stale = true;
  }

  /** The signal offset the next committed position carries. */
  get nextSignalOffset(): string | undefined {
    return this.signalOffset;
  }

  /** Whether rows of this table are being watched: only then does the stream report their keys. */
  watches(database: string, table: string): boolean {
    return this.windows.some((w) => sameTable(w.table, database, table));
  }

  /**
   * Whether the stream must leave out the rows of `database.table` in the transaction ending at
   * `position`: a table without primary key whose chunk is still to come. They count as seen.
   */
  holdsBack(database: string, table: string, position: BinlogPosition): boolean {
    const pending = this.released?.tables.some((t) => t.keyless === true && sameTable(t, database, table)) ?? false;
    if (pending) this.observeRow(database, table, undefined, position);
    return pending;
  }

  /** The stream encoded a row image of `database.table` (key: its keyText; undefined without primary key) in the transaction ending at `position`. */
  observeRow(database: string, table: string, key: string | undefined, position: BinlogPosition): void {
    for (const w of this.windows) {
      if (!sameTable(w.table, database, table)) continue;
      if (key !== undefined) w.seen.add(key);
      w.lastEventAt = position;
    }
  }

  /** A row event of `database.table` could not be encoded (dead letter): its key is unknown, the chunk is read again. */
  observeLost(database: string, table: string): void {
    for (const w of this.windows) if (sameTable(w.table, database, table)) w.stale = true;
  }

  /** The stream encoded a DDL statement on `database.table` (table null: on the whole database). */
  observeDdl(database: string, table: string | null): void {
    for (const w of this.windows) if (w.table.database === database && (table === null || w.table.table === table)) w.stale = true;
  }

  /** The stream starts encoding the transaction that ends at `position`. */
  encoding(position: BinlogPosition): void {
    this.encodingTo = position;
  }

  /** The stream encoded everything up to `position`. */
  streamedTo(position: BinlogPosition): void {
    this.streamed = position;
    this.encodingTo = undefined;
  }

  get position(): BinlogPosition {
    return this.streamed;
  }

  /**
   * The first chunk's rows to put into the stream now, if the stream reached its high watermark; a
   * stale one is dropped with everything read after it, to be read again.
   */
  release(): ReleasedChunk | undefined {
    const head = this.ready();
    const chunk = head?.chunk;
    if (head === undefined || chunk === undefined) return undefined;
    this.windows.shift();
    const rows = chunk.keyless ? chunk.rows : chunk.rows.filter((_, i) => !head.seen.has(chunk.keys[i] as string));
    if (this.released !== undefined) this.released = advance(this.released, chunk, rows.length);
    this.changed = true;
    this.onReadable();
    return { table: head.table, rows, superseded: chunk.rows.length - rows.length };
  }

  /** A chunk is ready to go into the stream, or the progress changed: a position should be committed. */
  hasWork(): boolean {
    return this.ready() !== undefined || this.changed;
  }

  /** The first window, once the stream reached its chunk's high watermark and it is not stale (a stale one is dropped here). */
  private ready(): Window | undefined {
    const head = this.windows[0];
    const chunk = head?.chunk;
    if (head === undefined || chunk === undefined || compareBinlogPositions(this.streamed, chunk.high) < 0) return undefined;
    if (head.stale || (chunk.keyless && head.lastEventAt !== undefined && compareBinlogPositions(head.lastEventAt, chunk.low) > 0)) {
      this.windows = [];
      this.onReadable();
      return undefined;
    }
    return head;
  }

  /**
   * Snapshot requests read from the signal topic up to `nextOffset`. A table (or key range) is queued unless
   * a snapshot covering it is queued already and not yet being read (one being read is read again from its
   * start after this pass).
   * Returns the tables queued.
   */
  request(tables: SnapshotTableRef[], nextOffset: string): SnapshotTableRef[] {
    const queued: SnapshotTableRef[] = [];
    const progress = this.released ?? { tables: [], after: null, rows: 0 };
    const [current] = progress.tables;
    const notStarted = progress.after === null && this.windows.length === 0;
    for (const t of tables) {
      const pending = [...progress.tables.slice(1), ...queued];
      if (pending.some((q) => covers(q, t))) continue;
      if (current !== undefined && covers(current, t) && notStarted) continue;
      queued.push(t);
    }
    if (queued.length > 0) this.released = { ...progress, tables: [...progress.tables, ...queued] };
    this.signalOffset = nextOffset;
    this.changed = true;
    if (queued.length > 0) this.onReadable();
    return queued;
  }

  /** What the next committed position carries; the change flag is cleared. */
  progress(): { snapshot: SnapshotProgress | undefined; signalOffset: string | undefined } {
    this.changed = false;
    return { snapshot: this.released === undefined ? undefined : { ...this.released, tables: [...this.released.tables] }, signalOffset: this.signalOffset };
  }
}

/** The text of a value assembled from byte ranges. */
function partsText(value: ValueParts): string {
  let text = '';
  for (let i = 0; i < value.count; i++) text += (value.bufs[i] as Buffer).toString('utf8', value.starts[i], value.ends[i]);
  return text;
}

/**
 * Passes a transaction's records on to `sink` and reports to the snapshot the keys of the rows of watched
 * tables, read from the Canal messages themselves (what a consumer keys by): data rows, and an UPDATE's
 * old key when it changed the primary key. Used only for transactions that touch a watched table.
 */
export class WatchingSink implements RecordSink {
  constructor(
    private readonly sink: RecordSink,
    private readonly snapshot: IncrementalSnapshot,
    private readonly deadLetterTopic: string,
    /** where the transaction ends */
    private readonly position: BinlogPosition,
  ) {}

  add(topic: string, partition: number, key: string | null, value: string): void {
    this.sink.add(topic, partition, key, value);
    this.observe(topic, value);
  }

  addParts(topic: string, partition: number, keyBuf: Buffer | null, keyStart: number, keyEnd: number, value: ValueParts): void {
    this.sink.addParts(topic, partition, keyBuf, keyStart, keyEnd, value);
    this.observe(topic, partsText(value));
  }

  private observe(topic: string, json: string): void {
    if (topic === this.deadLetterTopic) {
      const lost = JSON.parse(json) as { database: string; table: string };
      if (this.snapshot.watches(lost.database, lost.table)) this.snapshot.observeLost(lost.database, lost.table);
      return;
    }
    const message = JSON.parse(json) as CanalFlatMessage;
    if (message.isDdl || !this.snapshot.watches(message.database, message.table)) return;
    const pk = message.pkNames;
    const keyOf = (row: CanalRow): string | undefined => (pk === null ? undefined : keyText(pk.map((name) => row[name] ?? null)));
    (message.data ?? []).forEach((row, i) => {
      this.snapshot.observeRow(message.database, message.table, keyOf(row), this.position);
      const old = message.old?.[i];
      if (pk !== null && old !== undefined && pk.some((name) => Object.hasOwn(old, name))) {
        this.snapshot.observeRow(message.database, message.table, keyOf({ ...row, ...old }), this.position);
      }
    });
  }
}

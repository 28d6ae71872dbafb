/**
 * The snapshot's side of a streaming run: reads chunks for the windows IncrementalSnapshot opens (one
 * SELECT at a time, a couple ahead of the stream), and polls the signal topic for `rtdw cdc snapshot`
 * requests. The stream (service.ts) puts the released chunks into its Kafka transactions.
 */
import type { Admin, Kafka } from 'kafkajs';
import type mysql from 'mysql2/promise';
import type { Logger } from '../observability/logger.js';
import { IncrementalSnapshot, type ChunkRead, type ChunkRequest } from './incremental-snapshot.js';
import type { SnapshotTableRef, StoredPosition } from './position-store.js';
import type { ServerFlavour } from './preflight.js';
import type { SchemaCache } from './schema-cache.js';
import { ChunkReader, TableChangedError } from './snapshot.js';
import { SignalReader } from './snapshot-signals.js';

/** Snapshot chunks read ahead of the stream, at most (memory: CDC_SNAPSHOT_CHUNK rows each). */
const CHUNKS_READ_AHEAD = 2;
/** How often the signal topic is checked for requests. */
const SIGNAL_POLL_MS = 2000;

export interface SnapshotRunnerOptions {
  from: StoredPosition;
  connection: mysql.ConnectionOptions;
  flavour: ServerFlavour;
  schemas: SchemaCache;
  chunkRows: number;
  /** the CDC filter */
  accepts: (database: string, table: string) => boolean;
  kafka: Kafka;
  signalTopic: string;
  log: Logger;
  /** a chunk was read, or requests changed the progress: the stream has something to commit */
  onWork: () => void;
  onFailure: (err: Error) => void;
}

export class SnapshotRunner {
  readonly state: IncrementalSnapshot;
  private stopped = false;
  private wakeReader: (() => void) | undefined;
  private reading: Promise<void> = Promise.resolve();
  private admin: Admin | undefined;
  private signalTimer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly options: SnapshotRunnerOptions) {
    const { from } = options;
    this.state = new IncrementalSnapshot({ position: from, snapshot: from.snapshot, signalOffset: from.signalOffset }, CHUNKS_READ_AHEAD, () => this.wake());
  }

  start(): void {
    this.reading = this.readChunks().catch((err: unknown) => {
      if (!this.stopped) this.options.onFailure(err instanceof Error ? err : new Error(String(err)));
    });
    this.signalTimer = setInterval(() => void this.pollSignals(), SIGNAL_POLL_MS);
    void this.pollSignals();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.signalTimer);
    this.wake();
    await this.reading;
    await this.admin?.disconnect().catch(() => undefined);
  }

  private wake(): void {
    const w = this.wakeReader;
    this.wakeReader = undefined;
    w?.();
  }

  private async readChunks(): Promise<void> {
    let reader: ChunkReader | undefined;
    try {
      while (!this.stopped) {
        const request = this.state.openNext();
        if (request === undefined) {
          await new Promise<void>((resolve) => (this.wakeReader = resolve));
          continue;
        }
        reader ??= await ChunkReader.open(this.options.connection, this.options.flavour);
        const chunk = await this.readChunk(reader, request);
        if (chunk.missing) this.options.log.warn({ table: `${request.table.database}.${request.table.table}` }, 'snapshot: the table no longer exists; skipped');
        this.state.attach(request.window, chunk);
        this.options.onWork();
      }
    } finally {
      await reader?.close();
    }
  }

  /** One chunk, the table's schema read again when it changed under the SELECT. */
  private async readChunk(reader: ChunkReader, request: ChunkRequest): Promise<ChunkRead> {
    const { database, table } = request.table;
    const { schemas } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const { range } = request.table;
        // A range's first chunk starts after its lower bound; every chunk stops at its upper one.
        const chunk = await reader.read(await schemas.get(database, table), request.after ?? range?.after ?? null, this.options.chunkRows, range?.upTo);
        // A gone table's empty schema must not stay cached for a table created again under its name.
        if (chunk.missing) schemas.invalidate(database, table);
        return chunk;
      } catch (err) {
        if (!(err instanceof TableChangedError) || attempt >= 3) throw err;
        schemas.invalidate(database, table);
      }
    }
  }

  /** New requests go into the snapshot's progress, and the offset after them with it (committed by the stream). */
  private async pollSignals(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      if (this.admin === undefined) {
        const admin = this.options.kafka.admin();
        await admin.connect();
        this.admin = admin;
      }
      const read = await new SignalReader(this.options.kafka, this.admin, this.options.signalTopic).readFrom(this.state.nextSignalOffset);
      if (read === undefined || this.stopped) return;
      const { log, accepts, schemas } = this.options;
      const tables: SnapshotTableRef[] = [];
      for (const signal of read.signals) {
        if ('invalid' in signal) {
          log.warn({ topic: this.options.signalTopic, offset: signal.offset, reason: signal.invalid }, 'snapshot request ignored');
          continue;
        }
        log.info({ offset: signal.offset, tables: signal.request.tables.map((t) => `${t.database}.${t.table}${t.range === undefined ? '' : ` keys (${JSON.stringify(t.range.after)}, ${JSON.stringify(t.range.upTo)}]`}`), requestedAt: new Date(signal.request.requestedAt).toISOString() }, 'snapshot request read');
        for (const t of signal.request.tables) {
          const name = `${t.database}.${t.table}`;
          if (!accepts(t.database, t.table)) log.warn({ table: name, offset: signal.offset }, 'snapshot request ignored: the table is not captured (CDC_FILTER_REGEX / CDC_BLACK_REGEX)');
          // Without a key, a consumer could not tell the snapshot's rows from those it holds.
          else if ((await schemas.get(t.database, t.table)).primaryKey.length === 0) log.warn({ table: name, offset: signal.offset }, 'snapshot request ignored: the table has no primary key');
          else tables.push(t);
        }
      }
      const queued = this.state.request(tables, read.next);
      log.info({ requested: tables.map((t) => `${t.database}.${t.table}`), queued: queued.map((t) => `${t.database}.${t.table}`), signalOffset: read.next }, 'snapshot requested');
      this.options.onWork();
    } catch (err) {
      // The stream goes on; the next poll tries again.
      this.options.log.warn({ err: (err as Error).message, topic: this.options.signalTopic }, 'could not read snapshot requests');
    } finally {
      this.polling = false;
    }
  }
}

/**
 * `rtdw cdc`: binlog → Canal flat messages → Kafka, exactly once.
 *
 * Each Kafka transaction carries a batch of whole binlog transactions plus the position after
 * them (position-store.ts), so a kill -9 at any moment leaves Kafka with a prefix of the binlog
 * and the position of exactly that prefix: a restart neither loses nor repeats a row.
 * Any failure (MySQL or Kafka) tears the pipeline down and rebuilds it from the last committed
 * position, with backoff.
 */
import mysql from 'mysql2/promise';
import type { Kafka, Producer } from 'kafkajs';
import type { RtdwConfig } from '../../schemas/config.js';
import type { Logger } from '../observability/logger.js';
import { produceRequests } from '../kafka/produce-requests.js';
import { ensureTopics } from '../kafka/topics.js';
import { BinlogReader, type BinlogPosition, type CommittedTransaction } from './binlog-reader.js';
import type { CdcOptions } from './config.js';
import { CanalEncoder, type EncodedMessage } from './encoder.js';
import { cdcMetrics } from './metrics.js';
import { PositionStore, type StoredPosition } from './position-store.js';
import { preflight, PreflightError, type SourceServer } from './preflight.js';
import { SchemaCache } from './schema-cache.js';
import { ConsistentSnapshot } from './snapshot.js';

/** The binlog the saved position needs is gone: only a new snapshot can recover. */
export class BinlogPurgedError extends Error {
  constructor(position: StoredPosition | BinlogPosition, cause: Error) {
    super(
      `the binlog at the saved position (${position.file}:${position.pos}, gtid ${position.gtid || '-'}) is no longer on the server (${cause.message}). ` +
        'Re-snapshot with: rtdw cdc reset && rtdw cdc   (or run with CDC_SNAPSHOT=when_needed to do this automatically)',
    );
    this.name = 'BinlogPurgedError';
  }
}

function isPurgedError(err: unknown): boolean {
  const e = err as { errno?: number; code?: string; message?: string };
  return e.errno === 1236 || e.errno === 1945 || e.errno === 1955 || /purged|could not find first log file|1236/i.test(e.message ?? '');
}

interface Batch {
  messages: EncodedMessage[];
  rows: number;
  bytes: number;
  position: BinlogPosition;
  eventTime: number;
}

export class CdcService {
  private readonly store: PositionStore;
  private readonly schemas: SchemaCache;
  private readonly encoder: CanalEncoder;
  private readonly metrics = cdcMetrics();
  private readonly knownTopics = new Set<string>();
  private committed: StoredPosition | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private markStreaming: () => void = () => undefined;
  /** Resolves once the reader is connected and streaming (after any snapshot). */
  readonly streaming = new Promise<void>((resolve) => {
    this.markStreaming = resolve;
  });

  constructor(
    private readonly config: RtdwConfig,
    private readonly options: CdcOptions,
    private readonly kafka: Kafka,
    private readonly log: Logger,
  ) {
    this.store = new PositionStore(kafka, options.positionsTopic, options.name);
    this.schemas = new SchemaCache(this.connectionOptions());
    this.encoder = new CanalEncoder(options, this.schemas);
  }

  /** Runs until stop(); recoverable failures restart the pipeline with exponential backoff. */
  async run(): Promise<void> {
    await this.store.ensureTopic();
    try {
      await this.loop();
    } finally {
      // The schema pool's connections would otherwise keep a stopped process alive.
      await this.schemas.close().catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    let backoffMs = 1000;
    while (!this.stopping) {
      const started = Date.now();
      try {
        await this.runOnce();
      } catch (err) {
        if (this.stopping) break;
        // Configuration problems do not heal by retrying: stop with the fix in the message.
        if (err instanceof PreflightError) throw err;
        if (err instanceof BinlogPurgedError) {
          if (this.options.snapshot !== 'when_needed') throw err;
          this.log.warn({ err: err.message }, 'binlog purged past the saved position: re-snapshotting (CDC_SNAPSHOT=when_needed)');
          await this.store.clear();
          this.committed = undefined;
          continue;
        }
        this.metrics.restarts.inc();
        this.log.error({ err: (err as Error).message, retryInMs: backoffMs }, 'cdc pipeline failed; restarting from the last committed position');
        await this.sleep(backoffMs);
        // A pipeline that ran a while before failing starts the next backoff sequence afresh.
        backoffMs = Date.now() - started > 60_000 ? 1000 : Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  private connectionOptions(): mysql.ConnectionOptions {
    const { host, port, user, password } = this.config.mysql;
    return { host, port, user, password };
  }

  private async runOnce(): Promise<void> {
    const conn = await mysql.createConnection(this.connectionOptions());
    let server: SourceServer;
    try {
      server = await preflight(conn, this.config.mysql.user);
    } finally {
      await conn.end();
    }
    this.committed ??= await this.store.load();
    const producer = this.kafka.producer({ transactionalId: this.options.name, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      if (this.committed === undefined || this.committed.phase === 'snapshot') {
        if (this.options.snapshot === 'never') this.committed = await this.startAtEnd(server);
        else this.committed = await this.snapshot(server, producer);
      }
      this.log.info({ file: this.committed.file, pos: this.committed.pos, gtid: this.committed.gtid }, 'streaming the binlog');
      await this.stream(server, producer, this.committed);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  /** CDC_SNAPSHOT=never with no saved position: everything from now on. */
  private async startAtEnd(server: SourceServer): Promise<StoredPosition> {
    const conn = await mysql.createConnection(this.connectionOptions());
    try {
      const [status] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
      const gtidVar = server.flavour === 'mariadb' ? '@@GLOBAL.gtid_binlog_pos' : '@@GLOBAL.gtid_executed';
      const [gtid] = await conn.query<mysql.RowDataPacket[]>(`SELECT ${gtidVar} AS gtid`);
      return { phase: 'stream', file: String(status[0]?.File), pos: Number(status[0]?.Position), gtid: String(gtid[0]?.gtid ?? '').replace(/\s+/g, ''), batchId: 0, eventTime: Date.now(), committedAt: Date.now() };
    } finally {
      await conn.end();
    }
  }

  private async snapshot(server: SourceServer, producer: Producer): Promise<StoredPosition> {
    const snap = await ConsistentSnapshot.open(this.connectionOptions(), server.flavour);
    const started = Date.now();
    let batchId = this.committed?.batchId ?? 0;
    let rows = 0;
    try {
      const at = snap.position;
      this.log.info({ file: at.file, pos: at.pos, gtid: at.gtid }, 'snapshot started');
      const tables = await this.schemas.listTables((db, table) => this.encoder.accepts(db, table));
      for (const table of tables) {
        for await (const chunk of snap.read(table, this.options.snapshotChunk)) {
          batchId += 1;
          const messages = await this.encoder.encodeSnapshot(chunk, batchId, started);
          await this.publish(producer, messages, { phase: 'snapshot', ...at, batchId, eventTime: started, committedAt: Date.now() });
          rows += chunk.rows.length;
          this.metrics.snapshotRows.inc(chunk.rows.length);
        }
      }
      const done: StoredPosition = { phase: 'stream', ...at, batchId, eventTime: started, committedAt: Date.now() };
      await this.publish(producer, [], done);
      this.log.info({ tables: tables.length, rows, seconds: (Date.now() - started) / 1000 }, 'snapshot published');
      return done;
    } finally {
      await snap.close();
    }
  }

  private async stream(server: SourceServer, producer: Producer, from: StoredPosition): Promise<void> {
    const queue: CommittedTransaction[] = [];
    let queuedRows = 0;
    let failure: Error | undefined;
    let lastActivity = Date.now();
    let readPosition: BinlogPosition = from;
    const wakeUp = (): void => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    const reader = new BinlogReader({
      connection: this.connectionOptions() as { host: string; port: number; user: string; password: string },
      serverId: this.options.serverId,
      flavour: server.flavour,
      start: from,
      acceptsTable: (db, table) => this.encoder.accepts(db, table),
      onTransaction: (txn) => {
        queue.push(txn);
        queuedRows += txn.kind === 'rows' ? txn.rowCount : 1;
        readPosition = txn.position;
        this.metrics.lagSeconds.set(Math.max(0, (Date.now() - txn.eventTime) / 1000));
        if (queuedRows >= this.options.maxQueuedRows) reader.pause();
        wakeUp();
      },
      onError: (err) => {
        failure = err;
        wakeUp();
      },
      onActivity: () => {
        lastActivity = Date.now();
      },
    });
    try {
      await reader.start();
    } catch (err) {
      if (isPurgedError(err)) throw new BinlogPurgedError(from, err as Error);
      throw err;
    }
    this.markStreaming();
    const watchdog = setInterval(() => {
      // A reader paused by backpressure is silent on purpose.
      const silentSince = queuedRows >= this.options.maxQueuedRows ? Date.now() : lastActivity;
      void this.checkServer(readPosition, silentSince).then((problem) => {
        if (problem !== undefined && failure === undefined) {
          failure = new Error(problem);
          wakeUp();
        }
      });
    }, Math.min(this.options.watchdogMs, 5000));
    try {
      while (!this.stopping) {
        if (failure) throw isPurgedError(failure) ? new BinlogPurgedError(from, failure) : failure;
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            setTimeout(resolve, this.options.flushMs);
          });
          continue;
        }
        const lastBatchId = this.committed?.batchId ?? 0;
        const batch = await this.takeBatch(queue, lastBatchId + 1);
        queuedRows -= batch.taken;
        if (queuedRows < this.options.maxQueuedRows / 2) reader.resume();
        // A batch of filtered-out transactions only moves the position; it uses no batch id.
        const batchId = batch.batch.messages.length > 0 ? lastBatchId + 1 : lastBatchId;
        const position: StoredPosition = { phase: 'stream', ...batch.batch.position, batchId, eventTime: batch.batch.eventTime, committedAt: Date.now() };
        const started = process.hrtime.bigint();
        await this.publish(producer, batch.batch.messages, position);
        this.metrics.commitSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        this.metrics.rowsOut.inc(batch.batch.rows);
        this.metrics.bytesOut.inc(batch.batch.bytes);
        this.metrics.messagesOut.inc(batch.batch.messages.length);
        this.metrics.deadLettered.inc(this.encoder.deadLettered);
        this.encoder.deadLettered = 0;
      }
    } finally {
      clearInterval(watchdog);
      await reader.stop();
    }
  }

  /** Encodes queued transactions up to the batch limits (always whole transactions). */
  private async takeBatch(queue: CommittedTransaction[], batchId: number): Promise<{ batch: Batch; taken: number }> {
    const now = Date.now();
    const batch: Batch = { messages: [], rows: 0, bytes: 0, position: (queue[0] as CommittedTransaction).position, eventTime: 0 };
    let taken = 0;
    while (queue.length > 0 && batch.rows < this.options.batchRows && batch.bytes < this.options.batchBytes) {
      const txn = queue.shift() as CommittedTransaction;
      const messages = txn.kind === 'rows' ? await this.encoder.encodeRows(txn, batchId, now) : await this.encoder.encodeDdl(txn, batchId, now);
      for (const m of messages) {
        batch.messages.push(m);
        batch.bytes += m.value.length;
      }
      const rows = txn.kind === 'rows' ? txn.rowCount : 1;
      batch.rows += rows;
      taken += rows;
      batch.position = txn.position;
      batch.eventTime = txn.eventTime;
    }
    return { batch, taken };
  }

  /** One Kafka transaction: the messages and the position after them, or nothing. */
  private async publish(producer: Producer, messages: EncodedMessage[], position: StoredPosition): Promise<void> {
    await this.ensureDataTopics([...new Set(messages.map((m) => m.topic))]);
    const txn = await producer.transaction();
    try {
      // Several produce requests, one after the other (per-partition order kept), all in the one transaction;
      // the position goes with the last.
      const requests = produceRequests(messages);
      if (requests.length === 0) requests.push([]);
      requests[requests.length - 1]?.push({ topic: this.store.topic, messages: [this.store.message(position)] });
      for (const topicMessages of requests) await txn.sendBatch({ acks: -1, topicMessages });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => undefined);
      throw err;
    }
    this.committed = position;
    this.metrics.position.set({ file: position.file }, position.pos);
    this.metrics.lastCommit.set(position.committedAt / 1000);
  }

  private async ensureDataTopics(topics: string[]): Promise<void> {
    const missing = topics.filter((t) => !this.knownTopics.has(t));
    if (missing.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, missing.map((topic) => ({ topic, partitions: topic === this.options.deadLetterTopic ? 1 : this.options.partitions })));
    } finally {
      await admin.disconnect();
    }
    for (const t of missing) this.knownTopics.add(t);
  }

  /** Watchdog and lag: the server's binlog end vs what was read; a silent connection is an error. */
  private async checkServer(read: BinlogPosition, lastActivity: number): Promise<string | undefined> {
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection({ ...this.connectionOptions(), connectTimeout: 5000 });
      const [status] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
      const file = String(status[0]?.File ?? '');
      const pos = Number(status[0]?.Position ?? 0);
      let lagBytes = 0;
      if (file === read.file) lagBytes = Math.max(0, pos - read.pos);
      else {
        const [logs] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
        for (const l of logs) {
          const name = String(l.Log_name);
          if (name === read.file) lagBytes += Math.max(0, Number(l.File_size) - read.pos);
          else if (name > read.file && name < file) lagBytes += Number(l.File_size);
        }
        lagBytes += pos;
      }
      this.metrics.lagBytes.set(lagBytes);
      if (lagBytes === 0) this.metrics.lagSeconds.set(0);
      const silentFor = Date.now() - lastActivity;
      if (lagBytes > 0 && silentFor > this.options.watchdogMs) {
        return `binlog connection silent for ${Math.round(silentFor / 1000)} s while the server is ${lagBytes} bytes ahead`;
      }
      return undefined;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'watchdog could not reach the server');
      return undefined;
    } finally {
      await conn?.end().catch(() => undefined);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

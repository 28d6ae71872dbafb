/**
 * `rtdw cdc`: binlog → Canal flat messages → Kafka, exactly once.
 *
 * Each Kafka transaction carries a batch of whole binlog transactions plus the position after
 * them (position-store.ts), so a kill -9 at any moment leaves Kafka with a prefix of the binlog
 * and the position of exactly that prefix: a restart neither loses nor repeats a row.
 * Any failure (MySQL or Kafka) tears the pipeline down and rebuilds it from the last committed
 * position. When the failure is an outage (the service does not answer a probe) the outage is
 * logged and counted (observability/outage.ts) and the service is probed every PROBE_INTERVAL_MS:
 * the rebuild starts as soon as it answers, not after a backoff. Other failures back off
 * exponentially. An idle reader learns of a Kafka outage from a probe of its own, so an outage
 * is logged when it begins, not when the next row comes.
 *
 * While one Kafka transaction is in flight the next batch is encoded (straight into Kafka record
 * batches, record-batch.ts); it is sent only once the previous one committed, so transactions
 * commit in binlog order and a failure stops the pipeline before anything later is sent.
 *
 * A snapshot runs inside the stream (snapshot-runner.ts, incremental-snapshot.ts): its chunks go into
 * the batches where the stream reaches their high watermark, and its progress into the position.
 */
import mysql from 'mysql2/promise';
import type { Kafka } from 'kafkajs';
import type { RtdwConfig } from '../../schemas/config.js';
import { addReadinessCheck } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import { errorMessage, OutageTracker, waitUntilReachable, type DependencyName } from '../observability/outage.js';
import { probeKafka, probeMysql } from '../observability/probes.js';
import { BinlogReader, type BinlogPosition, type CommittedTransaction } from './binlog-reader.js';
import { classifyQueryEvent } from './canal/ddl.js';
import type { CdcOptions } from './config.js';
import { DataTopics } from './data-topics.js';
import { CanalEncoder } from './encoder.js';
import { WatchingSink, type IncrementalSnapshot, type ReleasedChunk } from './incremental-snapshot.js';
import { cdcMetrics } from './metrics.js';
import { PositionStore, type SnapshotProgress, type StoredPosition } from './position-store.js';
import { preflight, PreflightError, type SourceServer } from './preflight.js';
import { PublisherThread } from './publisher-thread.js';
import { BufferPool, TransactionRecords } from './record-batch.js';
import { SchemaCache } from './schema-cache.js';
import { ChunkReader } from './snapshot.js';
import { SnapshotRunner } from './snapshot-runner.js';
import { ensureSignalTopic, signalTopicOf } from './snapshot-signals.js';

/** Snapshot rows encoded between two yields of the thread. */
const SNAPSHOT_ENCODE_SLICE = 200;
/**
 * Encoded transactions waiting for the publisher thread, at most (memory: about CDC_BATCH_BYTES each):
 * enough to keep encoding while the thread starts and while a transaction is in flight.
 */
const MAX_ENCODED_AHEAD = 6;
/** First wait after a failure that is not an outage; doubled per failure up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A pipeline that ran this long before failing starts its backoff sequence afresh. */
const HEALTHY_RUN_MS = 60_000;
/** After an outage the services may answer before they serve everything (a broker loading its partitions): retry soon. */
const AFTER_OUTAGE_BACKOFF_MS = 250;
/** Without a commit for this long, the reader asks Kafka whether it is there. */
const KAFKA_PROBE_MS = 1000;

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

/**
 * The stored position changed between its optimistic read and the fencing of older instances: one of
 * them completed a commit meanwhile. The run restarts from the new position.
 */
class PositionMovedError extends Error {
  constructor() {
    super('the stored position moved while an older instance was being fenced');
    this.name = 'PositionMovedError';
  }
}

function isPurgedError(err: unknown): boolean {
  const e = err as { errno?: number; code?: string; message?: string };
  return e.errno === 1236 || e.errno === 1945 || e.errno === 1955 || /purged|could not find first log file|1236/i.test(e.message ?? '');
}

interface Batch {
  records: TransactionRecords;
  rows: number;
  position: BinlogPosition;
  eventTime: number;
  /** of `rows`, snapshot rows */
  snapshotRows: number;
  snapshot: SnapshotProgress | undefined;
  signalOffset: string | undefined;
}

export class CdcService {
  private readonly store: PositionStore;
  private readonly schemas: SchemaCache;
  private readonly encoder: CanalEncoder;
  private readonly metrics = cdcMetrics();
  private readonly topics: DataTopics;
  private readonly pool = new BufferPool();
  private readonly outages: Record<'mysql' | 'kafka', OutageTracker>;
  private lastCommitAt = Date.now();
  private committed: StoredPosition | undefined;
  private stopping = false;
  /** For readiness: streaming the binlog now, or starting / waiting to restart after a failure. */
  private phase: 'starting' | 'streaming' | 'restarting' = 'starting';
  private wake: (() => void) | undefined;
  private markStreaming: () => void = () => undefined;
  /** Resolves once the reader is connected and streaming (a snapshot runs meanwhile). */
  readonly streaming = new Promise<void>((resolve) => {
    this.markStreaming = resolve;
  });
  private markSnapshotted: () => void = () => undefined;
  /** Resolves once no snapshot is pending: the initial one, if any, has committed its last chunk. */
  readonly snapshotted = new Promise<void>((resolve) => {
    this.markSnapshotted = resolve;
  });

  constructor(
    private readonly config: RtdwConfig,
    private readonly options: CdcOptions,
    private readonly kafka: Kafka,
    private readonly log: Logger,
    /** Pass one already started to overlap its start with the caller's (main.ts). */
    private publisher: PublisherThread = new PublisherThread(),
  ) {
    this.publisher.usePool(this.pool);
    this.store = new PositionStore(kafka, options.positionsTopic, options.name);
    this.topics = new DataTopics(kafka, options.partitions, options.deadLetterTopic);
    this.schemas = new SchemaCache(this.connectionOptions());
    this.encoder = new CanalEncoder(options, this.schemas);
    this.outages = { mysql: new OutageTracker('cdc', 'mysql', log), kafka: new OutageTracker('cdc', 'kafka', log) };
  }

  /** Runs until stop(); recoverable failures restart the pipeline with exponential backoff. */
  async run(): Promise<void> {
    const removeCheck = addReadinessCheck('cdc binlog reader', () => ({ ok: this.phase === 'streaming', detail: this.phase }));
    try {
      await this.store.ensureTopic();
      await this.loop();
    } finally {
      // The schema pool's connections and the publisher thread would otherwise keep a stopped process alive.
      await this.schemas.close().catch(() => undefined);
      await this.publisher.terminate();
      removeCheck();
    }
  }

  private async loop(): Promise<void> {
    let backoffMs = FIRST_BACKOFF_MS;
    while (!this.stopping) {
      const started = Date.now();
      try {
        await this.runOnce();
      } catch (err) {
        if (this.stopping) break;
        // Configuration problems do not heal by retrying: stop with the fix in the message.
        if (err instanceof PreflightError) throw err;
        if (err instanceof PositionMovedError) {
          this.log.info('an older instance committed while being fenced: resuming from its position');
          continue;
        }
        if (err instanceof BinlogPurgedError) {
          if (this.options.snapshot !== 'when_needed') throw err;
          this.log.warn({ err: err.message }, 'binlog purged past the saved position: re-snapshotting (CDC_SNAPSHOT=when_needed)');
          await this.store.clear();
          this.committed = undefined;
          continue;
        }
        this.metrics.restarts.inc();
        this.phase = 'restarting';
        // Decided before the wait: after a long healthy run the first failure waits the first backoff.
        if (Date.now() - started > HEALTHY_RUN_MS) backoffMs = FIRST_BACKOFF_MS;
        // Whatever state the failure left in the publisher thread (a producer mid-transaction, a start that
        // never finished), the next run gets a fresh one.
        await this.publisher.terminate();
        this.publisher = new PublisherThread();
        this.publisher.usePool(this.pool);
        const away = await this.unreachable();
        if (away.length > 0) {
          this.log.error({ err: errorMessage(err), waitingFor: away }, 'cdc pipeline stopped by an outage; it resumes from the last committed position once every service answers');
          await this.waitForReturn(away);
          backoffMs = AFTER_OUTAGE_BACKOFF_MS;
          continue;
        }
        this.log.error({ err: errorMessage(err), retryInMs: backoffMs }, 'cdc pipeline failed; restarting from the last committed position');
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private probe(service: 'mysql' | 'kafka'): Promise<void> {
    return service === 'mysql' ? probeMysql(this.connectionOptions()) : probeKafka(this.config.kafka.brokers, this.config.kafka.clientId);
  }

  /** The services that do not answer a probe now (an outage begins for each). */
  private async unreachable(): Promise<Array<'mysql' | 'kafka'>> {
    const services = ['mysql', 'kafka'] as const;
    const results = await Promise.allSettled(services.map((s) => this.probe(s)));
    const away: Array<'mysql' | 'kafka'> = [];
    results.forEach((r, i) => {
      const service = services[i] as 'mysql' | 'kafka';
      if (r.status === 'fulfilled') {
        this.outages[service].recovered();
        return;
      }
      this.outages[service].failed(r.reason);
      away.push(service);
    });
    return away;
  }

  /** Probes each service every PROBE_INTERVAL_MS until it answers (or the service stops). */
  private async waitForReturn(away: readonly DependencyName[]): Promise<void> {
    await Promise.all(
      away.map(async (service) => {
        const tracker = this.outages[service as 'mysql' | 'kafka'];
        const back = await waitUntilReachable(() => this.probe(service as 'mysql' | 'kafka'), { stopped: () => this.stopping, onFailure: (e) => tracker.failed(e) });
        if (back) tracker.recovered();
      }),
    );
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
    // InitProducerId fences whatever held the transactional id: its open transaction is aborted, or its
    // commit completed. Only a position read after that is exactly what Kafka holds; the one read now,
    // while the publisher thread may still be starting, is checked against it before anything is sent.
    const fenced = this.publisher.init({ clientId: `${this.config.kafka.clientId}-cdc`, brokers: this.config.kafka.brokers, transactionalId: this.options.name });
    fenced.catch(() => undefined);
    try {
      // Without dynamic topics every row goes to CDC_TOPIC: its batch size is known before the first batch.
      const [early] = await Promise.all([this.store.load(), this.options.dynamicTopic === '' ? this.topics.ensure([this.options.topic]) : undefined, this.ensureSignalTopic()]);
      if (early === undefined) {
        await fenced;
        // A start position taken by an earlier attempt of this process that failed before its first commit
        // still holds: taking a new one would skip what was written in between.
        this.committed = (await this.store.load()) ?? this.committed ?? (await this.start(server));
        this.log.info({ file: this.committed.file, pos: this.committed.pos, gtid: this.committed.gtid, snapshot: this.committed.snapshot?.tables.length ?? 0 }, 'streaming the binlog');
        await this.stream(server, this.committed, fenced);
        return;
      }
      this.committed = early;
      const confirmed = fenced.then(async () => {
        if (JSON.stringify(await this.store.load()) !== JSON.stringify(early)) throw new PositionMovedError();
      });
      confirmed.catch(() => undefined);
      this.log.info({ file: early.file, pos: early.pos, gtid: early.gtid, snapshot: early.snapshot ?? 'none' }, 'streaming the binlog');
      await this.stream(server, early, confirmed);
    } finally {
      await this.publisher.closeProducer().catch(() => undefined);
    }
  }

  /**
   * No position stored: stream from what is committed now and, unless CDC_SNAPSHOT=never, snapshot every
   * table the filter accepts meanwhile. Requests already waiting in the signal topic are read too.
   */
  private async start(server: SourceServer): Promise<StoredPosition> {
    const reader = await ChunkReader.open(this.connectionOptions(), server.flavour);
    try {
      const position = await reader.currentPosition();
      const tables = this.options.snapshot === 'never' ? [] : await this.schemas.listTables((db, table) => this.encoder.accepts(db, table));
      const snapshot = tables.length === 0 ? undefined : { tables: tables.map(({ database, table, keyColumns }) => ({ database, table, ...(keyColumns.length === 0 ? { keyless: true as const } : {}) })), after: null, rows: 0 };
      if (snapshot !== undefined) this.log.info({ file: position.file, pos: position.pos, gtid: position.gtid, tables: tables.length }, 'snapshot started');
      return { phase: snapshot === undefined ? 'stream' : 'snapshot', ...position, batchId: 0, eventTime: Date.now(), committedAt: Date.now(), snapshot };
    } finally {
      await reader.close();
    }
  }

  private async ensureSignalTopic(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureSignalTopic(admin, signalTopicOf(this.options.name));
    } finally {
      await admin.disconnect();
    }
  }

  /** Streams from `from`; nothing is published before `ready` (the position confirmed after fencing). */
  private async stream(server: SourceServer, from: StoredPosition, ready: Promise<void>): Promise<void> {
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
    this.phase = 'streaming';
    if (from.snapshot === undefined) this.markSnapshotted();
    const snapshot = new SnapshotRunner({
      from,
      connection: this.connectionOptions(),
      flavour: server.flavour,
      schemas: this.schemas,
      chunkRows: this.options.snapshotChunk,
      accepts: (db, table) => this.encoder.accepts(db, table),
      kafka: this.kafka,
      signalTopic: signalTopicOf(this.options.name),
      log: this.log,
      onWork: wakeUp,
      onFailure: (err) => {
        failure ??= err;
        wakeUp();
      },
    });
    snapshot.start();
    // An idle reader (or one whose transaction hangs) sends Kafka nothing that could fail: ask it.
    let probing = false;
    const kafkaWatch = setInterval(() => {
      if (probing || failure !== undefined || Date.now() - this.lastCommitAt < KAFKA_PROBE_MS) return;
      probing = true;
      void this.probe('kafka')
        .then(
          () => this.outages.kafka.recovered(),
          (err: unknown) => {
            if (failure !== undefined) return;
            this.outages.kafka.failed(err);
            failure = new Error(`Kafka does not answer: ${errorMessage(err)}`);
            // A transaction in flight would wait out the client's retries: the loop starts a new thread anyway.
            void this.publisher.terminate();
            wakeUp();
          },
        )
        .finally(() => {
          probing = false;
        });
    }, KAFKA_PROBE_MS);
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
    // Encoded batches wait for the publisher thread in order, at most MAX_ENCODED_AHEAD of them: the
    // first ones while the thread starts, later ones while a transaction is in flight.
    const setFailure = (err: unknown): void => {
      failure ??= err instanceof Error ? err : new Error(String(err));
      wakeUp();
    };
    let published: Promise<void> = ready.catch(setFailure);
    let waiting = 0;
    let lastBatchId = this.committed?.batchId ?? 0;
    const check = (): void => {
      if (failure) throw isPurgedError(failure) ? new BinlogPurgedError(from, failure) : failure;
    };
    try {
      while (!this.stopping) {
        check();
        if ((queue.length === 0 && !snapshot.state.hasWork()) || waiting >= MAX_ENCODED_AHEAD) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            setTimeout(resolve, this.options.flushMs);
          });
          continue;
        }
        const { batch, taken } = await this.takeBatch(queue, lastBatchId + 1, snapshot.state);
        queuedRows -= taken;
        if (queuedRows < this.options.maxQueuedRows / 2) reader.resume();
        // A batch of filtered-out transactions only moves the position; it uses no batch id.
        const batchId = batch.records.records > 0 ? lastBatchId + 1 : lastBatchId;
        lastBatchId = batchId;
        waiting += 1;
        // Topics are created while earlier transactions are in flight, not on the way of this one.
        const topicsReady = this.topics.ensure(batch.records.topics());
        topicsReady.catch(() => undefined);
        // Nothing goes after a transaction that failed: the restart resumes from the last committed position.
        published = published
          .then(() => topicsReady)
          .then(() => (failure === undefined ? this.publishBatch(batch, batchId) : undefined))
          .catch(setFailure)
          .finally(() => {
            waiting -= 1;
            wakeUp();
          });
      }
      await published;
    } finally {
      clearInterval(watchdog);
      clearInterval(kafkaWatch);
      await snapshot.stop();
      await reader.stop();
      await published;
    }
  }

  private async publishBatch(batch: Batch, batchId: number): Promise<void> {
    const position: StoredPosition = {
      phase: batch.snapshot === undefined ? 'stream' : 'snapshot',
      ...batch.position,
      batchId,
      eventTime: batch.eventTime,
      committedAt: Date.now(),
      ...(batch.snapshot === undefined ? {} : { snapshot: batch.snapshot }),
      ...(batch.signalOffset === undefined ? {} : { signalOffset: batch.signalOffset }),
    };
    const messages = batch.records.records;
    const bytes = batch.records.bytes;
    const started = process.hrtime.bigint();
    await this.publish(batch.records, position);
    this.metrics.commitSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.rowsOut.inc(batch.rows - batch.snapshotRows);
    this.metrics.snapshotRows.inc(batch.snapshotRows);
    this.metrics.bytesOut.inc(bytes);
    this.metrics.messagesOut.inc(messages);
    this.metrics.deadLettered.inc(this.encoder.deadLettered);
    this.encoder.deadLettered = 0;
  }

  /**
   * Encodes queued transactions up to the batch limits (always whole transactions), with the snapshot's
   * chunks where the stream reaches their high watermark, and the rows of watched tables reported to it.
   */
  private async takeBatch(queue: CommittedTransaction[], batchId: number, snapshot: IncrementalSnapshot): Promise<{ batch: Batch; taken: number }> {
    const now = Date.now();
    const records = new TransactionRecords(this.topics.batchBytes, this.pool);
    const batch: Batch = { records, rows: 0, position: snapshot.position, eventTime: this.committed?.eventTime ?? now, snapshotRows: 0, snapshot: undefined, signalOffset: undefined };
    let taken = 0;
    while (batch.rows < this.options.batchRows && records.bytes < this.options.batchBytes) {
      await this.encoder.pace();
      const chunk = snapshot.release();
      if (chunk !== undefined) {
        await this.encodeChunk(chunk, batchId, now, records);
        batch.rows += chunk.rows.length;
        batch.snapshotRows += chunk.rows.length;
        continue;
      }
      const txn = queue.shift();
      if (txn === undefined) break;
      snapshot.encoding(txn.position);
      if (txn.kind === 'rows') {
        const events = txn.events.filter((e) => !snapshot.holdsBack(e.database, e.table, txn.position));
        const watched = events.some((e) => snapshot.watches(e.database, e.table));
        const sink = watched ? new WatchingSink(records, snapshot, this.options.deadLetterTopic, txn.position) : records;
        await this.encoder.encodeRows(events.length === txn.events.length ? txn : { ...txn, events }, batchId, now, sink);
      } else {
        await this.encoder.encodeDdl(txn, batchId, now, records);
        const statement = classifyQueryEvent(txn.sql, txn.database);
        if (statement.kind === 'statement') {
          for (const r of statement.results) {
            snapshot.observeDdl(r.schema, r.table);
            if (r.renamedFrom !== null) snapshot.observeDdl(r.renamedFrom.schema, r.renamedFrom.table);
          }
        }
      }
      snapshot.streamedTo(txn.position);
      const rows = txn.kind === 'rows' ? txn.rowCount : 1;
      batch.rows += rows;
      taken += rows;
      batch.eventTime = txn.eventTime;
    }
    batch.position = snapshot.position;
    const progress = snapshot.progress();
    batch.snapshot = progress.snapshot;
    batch.signalOffset = progress.signalOffset;
    return { batch, taken };
  }

  /** A released chunk's rows as snapshot INSERTs (isSnapshot: true). */
  private async encodeChunk(chunk: ReleasedChunk, batchId: number, now: number, records: TransactionRecords): Promise<void> {
    // In slices, yielding between them like the binlog's events: a whole chunk at once would hold the
    // thread (the binlog socket, Kafka's replies) for as long as it takes.
    for (let from = 0; from < chunk.rows.length; from += SNAPSHOT_ENCODE_SLICE) {
      await this.encoder.pace();
      await this.encoder.encodeSnapshot({ table: chunk.table, rows: chunk.rows.slice(from, from + SNAPSHOT_ENCODE_SLICE) }, batchId, now, records);
    }
    if (chunk.superseded > 0) this.log.debug({ table: `${chunk.table.database}.${chunk.table.table}`, superseded: chunk.superseded }, 'snapshot rows superseded by binlog events in their window');
  }

  /** One Kafka transaction: the records and the position after them, or nothing. */
  private async publish(records: TransactionRecords, position: StoredPosition): Promise<void> {
    await this.topics.ensure(records.topics());
    const stored = this.store.message(position);
    records.add(this.store.topic, 0, stored.key, stored.value);
    await this.publisher.publish(records);
    if (this.committed?.snapshot !== undefined && position.snapshot === undefined) this.log.info({ file: position.file, pos: position.pos }, 'snapshot finished');
    this.committed = position;
    if (position.snapshot === undefined) this.markSnapshotted();
    this.metrics.position.set({ file: position.file }, position.pos);
    this.metrics.lastCommit.set(position.committedAt / 1000);
    this.lastCommitAt = Date.now();
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
      // The binlog connection may not have noticed yet (a server that stopped answering): rebuild, probing first.
      this.outages.mysql.failed(err);
      return `the watchdog could not reach the server: ${errorMessage(err)}`;
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

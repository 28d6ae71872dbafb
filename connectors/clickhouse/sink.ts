/**
 * Kafka → ClickHouse sink. A consumer group reads its topics read_committed; a job's transform turns
 * each record into rows of named tables (or a dead letter with the reason, or nothing, counted);
 * rows are checked against the tables' column types (encoder.ts), buffered and inserted in batches
 * (one INSERT per table per flush: at `batchRows` rows or when the oldest has waited `flushMs`), and
 * the Kafka offsets of a flush are committed only once ClickHouse acknowledged every one of its
 * inserts and its dead letters are in Kafka. Nothing is acknowledged to Kafka that ClickHouse does
 * not have: a crash replays from the last committed offsets.
 *
 * Idempotence: every INSERT carries an insert_deduplication_token derived from the table and the
 * topic/partition/offset ranges of its flush, so an insert retried after a lost answer is dropped
 * by ClickHouse (tables set non_replicated_deduplication_window). A replay after a crash may cut its
 * flushes elsewhere; its rows then land again, with the same `_version`s as before, and FINAL reads
 * the same result (ReplacingMergeTree keeps one row per key and version).
 *
 * While ClickHouse (or Kafka, for the dead letters) is away the flush waits, probing it every
 * PROBE_INTERVAL_MS, and goes again as soon as it answers; failures while it answers back off
 * exponentially. The outage is logged when it starts and when it ends and counted
 * (observability/outage.ts); reading pauses once the next batch is full, and the consumer keeps
 * heartbeating so its partitions stay. Rows ClickHouse refuses as data (a parse or
 * type error the encoder did not catch) are isolated by halving the insert and dead-lettered.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { observeConsumer } from '../observability/consumer.js';
import { addReadinessCheck } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import { OutageTracker, waitUntilReachable } from '../observability/outage.js';
import { INSERT_SETTINGS, isDataError, quoteIdentifier, type ClickHouseClient } from './client.js';
import type { ClickHouseOptions } from './config.js';
import { parseColumnType, RowEncoder, RowError, type TableSchema } from './encoder.js';
import { clickHouseReachable } from './health.js';
import { sinkMetrics } from './metrics.js';

export interface SinkRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Kafka headers, as text (e.g. the stream runtime's watermark markers) */
  headers: Readonly<Record<string, string>>;
}

export interface TableRow {
  table: string;
  row: Record<string, unknown>;
}

export type TransformResult =
  /** rows to insert (a record's rows go in whole or, when one does not fit its table, not at all) */
  | { rows: TableRow[] }
  /** the record carries no row by design (e.g. a DDL message): counted by reason */
  | { skip: string }
  /** the record cannot be used: sent to the dead-letter topic with the reason */
  | { deadLetter: string };

export interface SinkSpec {
  /** label of the sink in logs and metrics */
  name: string;
  groupId: string;
  topics: string[];
  /** every table the transform writes; checked to exist when the sink starts */
  tables: string[];
  deadLetterTopic: string;
  transform(record: SinkRecord): TransformResult;
  /**
   * Tables inserted after all others in a flush: rows that vouch for the rows before them (e.g.
   * pipeline_progress), so a reader never sees them ahead of the data.
   */
  insertLast?: readonly string[];
}

/** What a dead-letter record holds (JSON), as the stream runtime's dead letters do, plus where the record came from. */
export interface DeadLetter {
  reason: string;
  sink: string;
  topic: string;
  partition: number;
  offset: string;
  /** the original key and value bytes, base64 */
  key: string | null;
  value: string | null;
}

export interface SinkStats {
  records: number;
  rows: Record<string, number>;
  inserts: Record<string, number>;
  deadLetters: number;
  skipped: Record<string, number>;
}

interface TableBuffer {
  lines: string[];
  /** per line, the record it came from (for a dead letter if ClickHouse refuses it) */
  sources: SinkRecord[];
}

/** The records read since the last flush: their rows per table, dead letters and offset ranges. */
interface Pending {
  generation: number;
  tables: Map<string, TableBuffer>;
  deadLetters: DeadLetter[];
  /** per "topic/partition": the first offset and the offset after the last one */
  ranges: Map<string, { topic: string; partition: number; first: string; next: string }>;
  rows: number;
}

class StopDeadlinePassed extends Error {
  constructor() {
    super('the sink is stopping and ClickHouse did not answer in time; the rows are replayed by the next run');
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_MS = 3000;

export class ClickHouseSink {
  private readonly metrics = sinkMetrics();
  private readonly labels: { sink: string };
  private readonly encoders = new Map<string, RowEncoder>();
  private consumer: Consumer | undefined;
  private unobserve: Array<() => void> = [];
  private producer: Producer | undefined;
  private generation = 0;
  /** per "topic/partition", the offset after the last record or batch read in this generation */
  private readonly positions = new Map<string, bigint>();
  private pending: Pending;
  /** the flush ClickHouse is working on, if any: one at a time, in order */
  private inFlight: Promise<void> = Promise.resolve();
  private flushing = false;
  /** the flush delay passed while a flush was under way: flush again as soon as it ends */
  private flushDue = false;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private stopDeadline = Number.POSITIVE_INFINITY;
  private readonly counts: SinkStats = { records: 0, rows: {}, inserts: {}, deadLetters: 0, skipped: {} };
  private readonly outages: { ClickHouse: OutageTracker; 'dead-letter topic': OutageTracker; consumer: OutageTracker };

  constructor(
    private readonly kafka: Kafka,
    private readonly clickhouse: ClickHouseClient,
    private readonly options: Pick<ClickHouseOptions, 'database' | 'batchRows' | 'flushMs' | 'maxRetryDelayMs'>,
    private readonly spec: SinkSpec,
    private readonly log: Logger,
  ) {
    this.labels = { sink: spec.name };
    this.pending = this.emptyPending();
    const kafkaOutage = new OutageTracker(spec.name, 'kafka', log);
    this.outages = { ClickHouse: new OutageTracker(spec.name, 'clickhouse', log), 'dead-letter topic': kafkaOutage, consumer: kafkaOutage };
  }

  async start(): Promise<void> {
    for (const schema of await loadTableSchemas(this.clickhouse, this.options.database, this.spec.tables)) {
      this.encoders.set(schema.table, new RowEncoder(schema));
    }
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    const consumer = this.kafka.consumer({
      groupId: this.spec.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      // A killed sink's partitions move after 10 s without heartbeats (waits on ClickHouse heartbeat themselves).
      sessionTimeout: 10_000,
      heartbeatInterval: HEARTBEAT_MS,
      retry: { retries: 10, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    this.unobserve = [
      observeConsumer(this.kafka, consumer, { groupId: this.spec.groupId, topics: this.spec.topics }),
      addReadinessCheck(`clickhouse ${this.spec.name}`, () => clickHouseReachable(this.clickhouse)),
    ];
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }: { payload: { memberAssignment: Record<string, number[]> } }) => {
      // kafkajs resumes every assigned partition from its committed offset after a rebalance, so what
      // was read but not flushed is read again: forget it (a flush under way commits nothing).
      this.generation += 1;
      this.discardPending();
      this.log.info({ sink: this.spec.name, partitions: payload.memberAssignment }, 'partitions assigned');
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }: { payload: { topic: string; partition: number; batchSize: number; firstOffset: string | null; lastOffset: string } }) => {
      // A batch of transaction markers or aborted records only, which kafkajs does not hand to
      // eachBatch: nothing to insert, but the committed offset moves past it (or the lag never reaches
      // 0). Only right after what this generation has read: a batch fetched before a rebalance must
      // not carry the offset past records that are to be read again.
      const read = this.positions.get(`${payload.topic}/${payload.partition}`);
      if (payload.batchSize > 0 || payload.firstOffset === null || read === undefined || BigInt(payload.firstOffset) > read || this.stopping) return;
      this.advance(payload.topic, payload.partition, (BigInt(payload.lastOffset) + 1n).toString());
    });
    consumer.on(consumer.events.CRASH, ({ payload }: { payload: { error: Error } }) => {
      this.log.error({ sink: this.spec.name, err: payload.error.message }, 'consumer crashed; it restarts from the committed offsets');
      // kafkajs gives up on a broker that is away with a crash (and restarts): an outage if Kafka does not answer.
      void this.probeKafka().catch((err: unknown) => this.outages.consumer.failed(err));
      this.generation += 1;
      this.discardPending();
    });
    await consumer.connect();
    for (const topic of this.spec.topics) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload) });
    this.log.info({ sink: this.spec.name, topics: this.spec.topics, tables: this.spec.tables, database: this.options.database }, 'sink running');
  }

  /** Flushes what was read (waiting up to timeoutMs for ClickHouse), commits, and leaves the group. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    this.stopDeadline = Date.now() + timeoutMs;
    // Flushed while still a group member: offsets can only be committed before the consumer stops.
    while (this.flushing || this.pending.ranges.size > 0) {
      this.startFlush();
      await this.inFlight;
    }
    await this.consumer?.stop();
    await this.consumer?.disconnect();
    for (const remove of this.unobserve) remove();
    await this.producer?.disconnect();
    this.log.info({ sink: this.spec.name, ...this.stats() }, 'sink stopped');
  }

  stats(): SinkStats {
    return structuredClone(this.counts);
  }

  private emptyPending(): Pending {
    return { generation: this.generation, tables: new Map(), deadLetters: [], ranges: new Map(), rows: 0 };
  }

  private discardPending(): void {
    this.positions.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = this.emptyPending();
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const generation = this.generation;
    this.outages.consumer.recovered();
    for (const message of batch.messages) {
      if (this.stopping || !isRunning() || isStale() || generation !== this.generation) return;
      this.add(toRecord(batch.topic, batch.partition, message));
      resolveOffset(message.offset);
      if (this.pending.rows >= this.options.batchRows) {
        // Backpressure: at most one flush waits on ClickHouse while the next batch fills.
        while (this.flushing) await this.waitHeartbeating(this.inFlight, heartbeat);
        if (this.stopping || generation !== this.generation) return;
        this.startFlush();
      }
    }
    // The batch's last offset counts the control records (transaction markers) after its last record.
    this.advance(batch.topic, batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
    resolveOffset(batch.lastOffset());
    await heartbeat();
  }

  /** The partition has been read up to `next` with nothing left to insert before it. */
  private advance(topic: string, partition: number, next: string): void {
    const key = `${topic}/${partition}`;
    this.positions.set(key, BigInt(next));
    const range = this.pending.ranges.get(key);
    if (range === undefined) {
      this.pending.ranges.set(key, { topic, partition, first: next, next });
      this.armTimer();
    } else if (BigInt(next) > BigInt(range.next)) {
      range.next = next;
    }
  }

  private armTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.startFlush();
    }, this.options.flushMs);
  }

  /** Transforms and encodes one record into the pending flush. */
  private add(record: SinkRecord): void {
    this.counts.records += 1;
    this.metrics.recordsIn.inc(this.labels);
    const pending = this.pending;
    const key = `${record.topic}/${record.partition}`;
    const range = pending.ranges.get(key);
    const next = (BigInt(record.offset) + 1n).toString();
    if (range === undefined) pending.ranges.set(key, { topic: record.topic, partition: record.partition, first: record.offset, next });
    else range.next = next;
    this.armTimer();

    let result: TransformResult;
    try {
      result = this.spec.transform(record);
    } catch (err) {
      // A bug in a transform must cost one record, not the sink.
      result = { deadLetter: `transform failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if ('skip' in result) {
      this.counts.skipped[result.skip] = (this.counts.skipped[result.skip] ?? 0) + 1;
      this.metrics.skipped.inc({ ...this.labels, reason: result.skip });
      return;
    }
    if ('deadLetter' in result) {
      pending.deadLetters.push(this.deadLetter(record, result.deadLetter));
      return;
    }
    const encoded: Array<[string, string]> = [];
    try {
      for (const { table, row } of result.rows) {
        const encoder = this.encoders.get(table);
        if (encoder === undefined) throw new RowError(`table ${table} is not one of the sink's tables (${this.spec.tables.join(', ')})`);
        encoded.push([table, encoder.encode(row)]);
      }
    } catch (err) {
      pending.deadLetters.push(this.deadLetter(record, err instanceof RowError ? err.message : `encoding failed: ${(err as Error).message}`));
      return;
    }
    for (const [table, line] of encoded) {
      let buffer = pending.tables.get(table);
      if (buffer === undefined) {
        buffer = { lines: [], sources: [] };
        pending.tables.set(table, buffer);
      }
      buffer.lines.push(line);
      buffer.sources.push(record);
    }
    pending.rows += encoded.length;
  }

  private deadLetter(record: SinkRecord, reason: string): DeadLetter {
    return {
      reason,
      sink: this.spec.name,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key?.toString('base64') ?? null,
      value: record.value?.toString('base64') ?? null,
    };
  }

  /**
   * Flushes the pending records, unless a flush is under way: then they go as soon as it ends (so an
   * outage holds one flush and one full batch, no queue of small flushes).
   */
  private startFlush(): void {
    if (this.flushing) {
      this.flushDue = true;
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const taken = this.pending;
    if (taken.ranges.size === 0) return;
    this.pending = this.emptyPending();
    this.flushing = true;
    this.inFlight = this.flush(taken)
      .catch((err: unknown) => {
        // Only a stop that ran out of time gets here: nothing was committed, the next run replays it.
        this.log.warn({ sink: this.spec.name, err: (err as Error).message }, 'flush abandoned');
      })
      .finally(() => {
        this.flushing = false;
        if (this.flushDue) {
          this.flushDue = false;
          this.startFlush();
        }
      });
  }

  private async flush(taken: Pending): Promise<void> {
    const ranges = [...taken.ranges.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const checkpoint = ranges.map((r) => `${r.topic}/${r.partition}:${r.first}-${r.next}`).join(',');
    const deadLetters = [...taken.deadLetters];
    const last = new Set(this.spec.insertLast ?? []);
    const tables = [...taken.tables].sort(([a], [b]) => Number(last.has(a)) - Number(last.has(b)));
    for (const [table, buffer] of tables) {
      const token = createHash('sha256').update(`${table}|${checkpoint}`).digest('hex').slice(0, 32);
      for (const refused of await this.insert(table, buffer.lines, buffer.sources, token)) deadLetters.push(refused);
    }
    if (deadLetters.length > 0) await this.sendDeadLetters(deadLetters);
    if (taken.generation !== this.generation || this.consumer === undefined) {
      this.log.debug({ sink: this.spec.name }, 'partitions were reassigned during the flush: its offsets are not committed, the new owner reads them again');
      return;
    }
    const consumer = this.consumer;
    await consumer.commitOffsets(ranges.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.next }))).catch((err: unknown) => {
      // A rebalance under way: the rows are in ClickHouse, and reading them again changes nothing.
      this.log.warn({ sink: this.spec.name, err: (err as Error).message }, 'offset commit failed; these records will be read again');
    });
    this.metrics.lastFlush.set(this.labels, Date.now() / 1000);
  }

  /**
   * Inserts rows (retrying while ClickHouse is away); returns the dead letters of rows it refused as
   * data, found by halving the insert until the refused rows stand alone.
   */
  private async insert(table: string, lines: string[], sources: SinkRecord[], token: string): Promise<DeadLetter[]> {
    try {
      await this.withRetry(async () => {
        const started = process.hrtime.bigint();
        // exec sends the encoded lines as they are (insert() would re-encode objects).
        const result = await this.clickhouse.exec({
          query: `INSERT INTO ${quoteIdentifier(this.options.database)}.${quoteIdentifier(table)} FORMAT JSONEachRow`,
          values: Readable.from([Buffer.from(`${lines.join('\n')}\n`)]),
          clickhouse_settings: { ...INSERT_SETTINGS, insert_deduplication_token: token },
        });
        await drain(result.stream);
        this.metrics.insertSeconds.observe(this.labels, Number(process.hrtime.bigint() - started) / 1e9);
      });
      this.counts.rows[table] = (this.counts.rows[table] ?? 0) + lines.length;
      this.counts.inserts[table] = (this.counts.inserts[table] ?? 0) + 1;
      this.metrics.rows.inc({ ...this.labels, table }, lines.length);
      this.metrics.inserts.inc({ ...this.labels, table });
      this.metrics.batchRows.observe(this.labels, lines.length);
      return [];
    } catch (err) {
      if (!isDataError(err)) throw err;
      this.metrics.errors.inc({ ...this.labels, kind: 'data' });
      if (lines.length === 1) {
        const source = sources[0] as SinkRecord;
        this.log.warn({ sink: this.spec.name, table, topic: source.topic, partition: source.partition, offset: source.offset, err: (err as Error).message }, 'ClickHouse refused a row: dead-lettered');
        return [this.deadLetter(source, `ClickHouse refused the row for ${table}: ${(err as Error).message}`)];
      }
      const half = Math.ceil(lines.length / 2);
      return [
        ...(await this.insert(table, lines.slice(0, half), sources.slice(0, half), `${token}:0-${half}`)),
        ...(await this.insert(table, lines.slice(half), sources.slice(half), `${token}:${half}-${lines.length}`)),
      ];
    }
  }

  private async sendDeadLetters(letters: DeadLetter[]): Promise<void> {
    const producer = this.producer;
    if (producer === undefined) throw new Error('sink not started');
    await this.withRetry(
      () => producer.send({ topic: this.spec.deadLetterTopic, acks: -1, messages: letters.map((l) => ({ key: `${l.topic}/${l.partition}/${l.offset}`, value: JSON.stringify(l) })) }),
      'dead-letter topic',
    );
    this.counts.deadLetters += letters.length;
    this.metrics.deadLetters.inc(this.labels, letters.length);
  }

  /**
   * Runs `attempt` until it succeeds, with capped exponential backoff; data errors are thrown at once.
   * The outage is logged when it starts and when it ends; a stop gives up at its deadline.
   */
  private async withRetry<T>(attempt: () => Promise<T>, target: 'ClickHouse' | 'dead-letter topic' = 'ClickHouse'): Promise<T> {
    let failures = 0;
    let delayMs = 100;
    const outage = this.outages[target];
    for (;;) {
      try {
        const result = await attempt();
        if (failures > 0) this.metrics.unavailable.set(this.labels, 0);
        outage.recovered({ sink: this.spec.name, target });
        return result;
      } catch (err) {
        if (target === 'ClickHouse' && isDataError(err)) throw err;
        failures += 1;
        this.metrics.errors.inc({ ...this.labels, kind: 'unavailable' });
        if (failures === 1) this.metrics.unavailable.set(this.labels, 1);
        if (Date.now() + delayMs > this.stopDeadline) throw new StopDeadlinePassed();
        this.metrics.retries.inc(this.labels);
        const probe = target === 'ClickHouse' ? () => this.probeClickHouse() : () => this.probeKafka();
        const answering = await probe().then(() => true, () => false);
        if (answering) {
          // It answers but refused the attempt (overloaded, a restart under way): back off.
          this.log.warn({ sink: this.spec.name, target, err: (err as Error).message, retryInMs: delayMs }, `${target} refused a flush: retrying with backoff; offsets stay uncommitted`);
          await sleep(delayMs * (0.5 + Math.random() / 2));
          delayMs = Math.min(delayMs * 2, this.options.maxRetryDelayMs);
          continue;
        }
        // Away: probe on a short interval and go again as soon as it answers.
        outage.failed(err, { sink: this.spec.name, target, holding: 'the flush; offsets stay uncommitted' });
        const back = await waitUntilReachable(probe, { stopped: () => Date.now() > this.stopDeadline, onFailure: (e) => outage.failed(e) });
        if (!back) throw new StopDeadlinePassed();
      }
    }
  }

  private async probeClickHouse(): Promise<void> {
    const ping = await this.clickhouse.ping();
    if (!ping.success) throw ping.error;
  }

  private async probeKafka(): Promise<void> {
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      await admin.describeCluster();
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Waits for `work`, heartbeating meanwhile so that a long ClickHouse outage does not cost the partitions. */
  private async waitHeartbeating(work: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
    let done = false;
    const finished = work.then(() => {
      done = true;
    });
    while (!done) {
      await Promise.race([finished, sleep(HEARTBEAT_MS)]);
      if (!done) await heartbeat();
    }
  }
}

async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream) {
    // an INSERT answers nothing worth reading; the stream must still be consumed to free the socket
  }
}

function toRecord(topic: string, partition: number, message: KafkaMessage): SinkRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = first.toString();
  }
  return { topic, partition, offset: message.offset, key: message.key, value: message.value, headers };
}

/** The column types of `tables` in `database`, from system.columns; a missing table is an error that names it. */
export async function loadTableSchemas(client: ClickHouseClient, database: string, tables: string[]): Promise<TableSchema[]> {
  const rs = await client.query({
    query: 'SELECT table, name, type FROM system.columns WHERE database = {database:String} AND table IN {tables:Array(String)} ORDER BY table, position',
    query_params: { database, tables },
    format: 'JSONEachRow',
  });
  const columns = await rs.json<{ table: string; name: string; type: string }>();
  return tables.map((table) => {
    const own = columns.filter((c) => c.table === table);
    if (own.length === 0) throw new Error(`ClickHouse table ${database}.${table} does not exist: run \`rtdw setup\``);
    return { table, columns: own.map((c) => ({ name: c.name, type: parseColumnType(c.type) })) };
  });
}

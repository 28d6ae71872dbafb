/**
 * `rtdw generate`: the model's actions written to MySQL and the event log. `realtime` paces each
 * action to the wall clock (an action `t` ms of event time after the start is written `t` ms after
 * the run began: late events when their delay has passed); `max` writes as fast as the two sinks
 * take it, event times still following the model's clock. Each sink has one batch in flight while
 * the next fills, so generating, MySQL and Kafka overlap.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from 'mysql2/promise';
import type { Producer } from 'kafkajs';
import type { RtdwConfig } from '../../schemas/config.js';
import type { AdEvent } from '../../schemas/events.js';
import type { Logger } from '../observability/logger.js';
import type { RowAction } from './actions.js';
import { checkEventLogTopic, connectEventLog, eventLogTopic, writeEvents } from './kafka-writer.js';
import { modelActions } from './model.js';
import { checkSourceTables, connectSource, largestId, writeRows } from './mysql-writer.js';
import { resolveOptions, type GeneratorOptions, type GeneratorOptionsInput, type PipelineSettings } from './options.js';
import { ActionTally, type TallyReport } from './tally.js';

export type Speed = 'realtime' | 'max';
export const SPEEDS: readonly Speed[] = ['realtime', 'max'];

/** a sink's batch is sent when it holds this many, or (realtime) when it is this old */
const ROW_BATCH = 5_000;
const EVENT_BATCH = 5_000;
const FLUSH_MS = 50;
const PROGRESS_MS = 5_000;

export interface RunSettings {
  speed: Speed;
  /** stops the run: what was generated so far is written, then the report */
  signal?: AbortSignal;
  /** every few seconds */
  onProgress?: (line: string) => void;
  /** database to write to (default MYSQL_DATABASE) */
  database?: string;
}

export interface GeneratorReport {
  seed: number;
  start: string;
  end: string | null;
  rate: number;
  speed: Speed;
  idBase: number;
  timezone: string;
  database: string;
  topic: string;
  users: number;
  stopped: 'finished' | 'interrupted';
  wallMs: number;
  written: TallyReport;
  rowsPerSecond: number;
  eventsPerSecond: number;
  /** realtime: how far writing was behind the schedule at worst, ms */
  maxLagMs: number;
}

/** One batch in flight, the next filling. A failed write fails the next flush (and so the run). */
class BatchSink<T> {
  private pending: T[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  /** kept rather than left as a rejected promise nobody awaits yet (Node would end the process on it) */
  private failure: unknown;
  written = 0;
  lastFlush = 0;

  constructor(private readonly write: (batch: T[]) => Promise<void>) {}

  get size(): number {
    return this.pending.length;
  }

  add(item: T): void {
    this.pending.push(item);
  }

  /** Waits for the batch in flight, then sends what is pending (without waiting for it). */
  async flush(now: number): Promise<void> {
    await this.settled();
    this.lastFlush = now;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight = this.write(batch).then(
      () => {
        this.written += batch.length;
      },
      (err: unknown) => {
        this.failure = err;
      },
    );
  }

  async drain(now: number): Promise<void> {
    await this.flush(now);
    await this.settled();
  }

  private async settled(): Promise<void> {
    await this.inFlight;
    if (this.failure !== undefined) throw this.failure;
  }
}

export async function runGenerator(config: RtdwConfig, settings: PipelineSettings, input: Omit<GeneratorOptionsInput, 'timezone' | 'blacklistClicks'>, run: RunSettings, logger: Logger): Promise<GeneratorReport> {
  const database = run.database ?? config.mysql.database;
  const topic = eventLogTopic(settings.namespace);
  // Options are checked before anything connects; the id base needs the database.
  resolveOptions({ ...input, idBase: input.idBase ?? 0, timezone: settings.timezone, blacklistClicks: settings.blacklistClicks });
  const conn = await connectSource(config, database);
  let producer: Producer | undefined;
  try {
    await checkSourceTables(conn, database);
    await checkEventLogTopic(config, logger, topic);
    const idBase = input.idBase ?? (await largestId(conn));
    const options = resolveOptions({ ...input, idBase, timezone: settings.timezone, blacklistClicks: settings.blacklistClicks });
    producer = await connectEventLog(config, logger);
    return await pump(options, conn, producer, topic, database, run);
  } finally {
    await producer?.disconnect();
    await conn.end();
  }
}

async function pump(options: GeneratorOptions, conn: Connection, producer: Producer, topic: string, database: string, run: RunSettings): Promise<GeneratorReport> {
  const rows = new BatchSink<RowAction>((batch) => writeRows(conn, batch));
  const events = new BatchSink<AdEvent>((batch) => writeEvents(producer, topic, batch));
  const tally = new ActionTally();
  const wallStart = Date.now();
  const realtime = run.speed === 'realtime';
  let maxLagMs = 0;
  let nextProgress = wallStart + PROGRESS_MS;
  let stopped: GeneratorReport['stopped'] = 'finished';
  let n = 0;
  const aborted = (): boolean => run.signal?.aborted === true;

  for (const action of modelActions(options)) {
    if (aborted()) {
      stopped = 'interrupted';
      break;
    }
    if (realtime) {
      const due = wallStart + (action.at - options.start);
      let now = Date.now();
      if (due > now) {
        await rows.flush(now);
        await events.flush(now);
        while (due > (now = Date.now()) && !aborted()) await sleep(Math.min(due - now, 100));
        if (aborted()) {
          stopped = 'interrupted';
          break;
        }
      } else if (action.at > options.start) {
        // The dimension rows at the start are written as fast as possible: lag counts from the traffic on.
        maxLagMs = Math.max(maxLagMs, now - due);
      }
    }
    tally.add(action);
    if (action.kind === 'row') rows.add(action);
    else if (action.kind === 'event') events.add(action.event);
    // Every 256 actions (or a full batch): at max speed, reading the clock per action would cost more than generating it.
    if ((++n & 0xff) === 0 || rows.size >= ROW_BATCH || events.size >= EVENT_BATCH) {
      const now = Date.now();
      if (rows.size >= ROW_BATCH || (realtime && now - rows.lastFlush >= FLUSH_MS)) await rows.flush(now);
      if (events.size >= EVENT_BATCH || (realtime && now - events.lastFlush >= FLUSH_MS)) await events.flush(now);
      // max: let the sinks' I/O run between batches.
      if ((n & 0xfff) === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (now >= nextProgress) {
        nextProgress = now + PROGRESS_MS;
        run.onProgress?.(progressLine(tally, rows.written, events.written, now - wallStart, action.at));
      }
    }
  }
  const end = Date.now();
  await rows.drain(end);
  await events.drain(end);
  const wallMs = Date.now() - wallStart;
  const written = tally.snapshot();
  return {
    seed: options.seed,
    start: new Date(options.start).toISOString(),
    end: Number.isFinite(options.end) ? new Date(options.end).toISOString() : null,
    rate: options.rate,
    speed: run.speed,
    idBase: options.idBase,
    timezone: options.timezone,
    database,
    topic,
    users: options.users,
    stopped,
    wallMs,
    written,
    rowsPerSecond: (rows.written / wallMs) * 1000,
    eventsPerSecond: (events.written / wallMs) * 1000,
    maxLagMs,
  };
}

function progressLine(tally: ActionTally, rowsWritten: number, eventsWritten: number, elapsedMs: number, modelTime: number): string {
  const s = elapsedMs / 1000;
  return `generate: ${rowsWritten} rows (${(rowsWritten / s).toFixed(0)}/s), ${eventsWritten} events (${(eventsWritten / s).toFixed(0)}/s) written; event time ${new Date(modelTime).toISOString()}; ${tally.rows + tally.deliveries} generated`;
}

/** The report for people: what was written where, per table and event type, and the abuse injected. */
export function formatReport(r: GeneratorReport): string {
  const lines: string[] = [];
  lines.push(`${r.stopped === 'finished' ? 'generated' : 'interrupted after'} ${r.start} → ${r.written.to === null ? r.start : new Date(r.written.to).toISOString()} (seed ${r.seed}, rate ${r.rate}/s, ${r.speed}, zone ${r.timezone}, id base ${r.idBase}, ${r.users} users) in ${(r.wallMs / 1000).toFixed(1)} s`);
  lines.push(`MySQL ${r.database}: ${r.rowsPerSecond.toFixed(0)} rows/s; Kafka ${r.topic}: ${r.eventsPerSecond.toFixed(0)} events/s`);
  lines.push('table        inserted  updated  deleted');
  for (const [table, c] of Object.entries(r.written.rows)) lines.push(`${table.padEnd(12)} ${String(c.insert).padStart(8)} ${String(c.update).padStart(8)} ${String(c.delete).padStart(8)}`);
  lines.push(`events: ${Object.entries(r.written.events).map(([t, c]) => `${t} ${c}`).join(', ')}`);
  const d = r.written.deliveries;
  lines.push(`deliveries: on time ${d.on_time}, out of order ${d.out_of_order}, late ${d.late}, duplicates ${d.duplicate}`);
  const bots = r.written.abuse.filter((a) => a.type === 'click_bot');
  const brushers = r.written.abuse.filter((a) => a.type === 'order_brushing');
  const bursts = r.written.abuse.filter((a) => a.type === 'payment_failure_burst');
  lines.push(`abuse: ${bots.length} click bots, ${brushers.length} brushing users, ${bursts.length} payment failure bursts`);
  for (const a of r.written.abuse) {
    if (a.type === 'click_bot') lines.push(`  click bot: user ${a.user_id} clicks ad ${a.ad_id} ${a.clicks} times (device ${a.device_id}, ip ${a.ip})`);
    else if (a.type === 'order_brushing') lines.push(`  brushing: user ${a.user_id} places ${a.orders} small orders`);
    else lines.push(`  failure burst: ${new Date(a.from).toISOString()} → ${new Date(a.to).toISOString()}, ${Math.round(a.failure_rate * 100)} % of payments fail`);
  }
  if (r.speed === 'realtime') lines.push(`pacing: at most ${r.maxLagMs} ms behind schedule`);
  return lines.join('\n');
}

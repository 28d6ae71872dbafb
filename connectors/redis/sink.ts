/**
 * Writes of window results into Redis (encoder.ts makes them): every hash write is one Lua script
 * call, atomic and versioned (scripts.ts), and a batch's calls go out pipelined (ioredis
 * auto-pipelining: the calls issued together leave in one round trip per node, on a single server
 * or a Cluster alike). `write(batch)` resolves only once Redis has replied to every call, so a
 * caller acknowledges its input (commits Kafka offsets) only after Redis has the data.
 *
 * While Redis is unreachable or busy (LOADING, CLUSTERDOWN…) the batch is held and retried whole —
 * writes are idempotent, so what landed before a failure is harmless to send again — with a capped
 * exponential backoff — while the connection itself is down, the client reconnects every
 * PROBE_INTERVAL_MS and the batch goes as soon as it is back; an outage is logged once when it
 * begins and once when it ends, and counted (observability/outage.ts). A write that
 * Redis refuses (a key of another type) is returned as rejected, for the caller to dead-letter.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { OutageTracker, PROBE_INTERVAL_MS } from '../observability/outage.js';
import type { AdvanceWrite, RedisWrite } from './encoder.js';
import { redisSinkMetrics } from './metrics.js';
import { ADVANCE_FIELDS, PUSH_ALERT, WRITE_HASH } from './scripts.js';

export interface RedisSinkConfig {
  /** redis:// or rediss:// URL; with clusterNodes it supplies only the credentials and TLS. */
  url: string;
  clusterNodes?: Array<{ host: string; port: number }> | undefined;
  ttlSeconds: number;
  alertsMax: number;
  retryMaxMs: number;
}

export interface WriteOutcome {
  /** hash writes applied */
  written: number;
  /** hash writes skipped: the key already had this version or a newer one */
  stale: number;
  fields: number;
  /** writes Redis refused, by index in the batch, with its error */
  rejected: Array<{ index: number; reason: string }>;
}

export interface WriteOptions {
  /** Called before each retry wait, e.g. the Kafka consumer's heartbeat, so a long outage does not cost the partitions. */
  beforeRetry?: () => Promise<void>;
}

export class SinkClosedError extends Error {
  constructor() {
    super('the Redis sink is closed: the batch was not written');
    this.name = 'SinkClosedError';
  }
}

interface ScriptCommands {
  rtdwWriteHash(key: string, versionKey: string, ...args: string[]): Promise<[number, number, number]>;
  rtdwAdvance(key: string, ...args: string[]): Promise<number>;
  rtdwPushAlert(key: string, cap: string, time: string, element: string): Promise<number>;
}

/** Server replies that mean "not now" rather than "never": the batch is retried, not rejected. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|OOM|NOREPLICAS)\b/;

function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReplyError';
}

/** A failure to reach Redis, or a reply asking to come back later. */
function isTransient(err: unknown): boolean {
  return !isReplyError(err) || TRANSIENT_REPLY.test(err.message);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Planned {
  /** hash, set and alert writes, issued first */
  direct: Array<{ index: number; write: Exclude<RedisWrite, AdvanceWrite> }>;
  /** per key: the newest value of each field, with the index that brought it; issued once the direct writes are acknowledged */
  advances: Map<string, Map<string, { index: number; value: string; order: AdvanceWrite['order'] }>>;
}

function newer(a: { value: string; order: AdvanceWrite['order'] }, b: { value: string }): boolean {
  return a.order === 'number' ? Number(a.value) > Number(b.value) : a.value > b.value;
}

/**
 * Advances are coalesced (one script call per key, the newest value per field) and sent after the
 * direct writes have replied, so `latest` never names a window before the window's hash is written,
 * even when they live on different Cluster nodes.
 */
function plan(batch: readonly RedisWrite[]): Planned {
  const planned: Planned = { direct: [], advances: new Map() };
  batch.forEach((write, index) => {
    if (write.type !== 'advance') {
      planned.direct.push({ index, write });
      return;
    }
    let fields = planned.advances.get(write.key);
    if (fields === undefined) planned.advances.set(write.key, (fields = new Map()));
    const current = fields.get(write.field);
    if (current === undefined || newer(write, current)) fields.set(write.field, { index, value: write.value, order: write.order });
  });
  return planned;
}

/** Thrown inside an attempt when a reply says Redis is away; the whole batch is tried again. */
class TransientFailure extends Error {}

export class RedisSink {
  private readonly client: Redis | Cluster;
  private readonly scripts: ScriptCommands;
  private readonly metrics = redisSinkMetrics();
  private readonly outage: OutageTracker;
  private closed = false;
  private wakeRetry: (() => void) | undefined;

  constructor(
    private readonly config: RedisSinkConfig,
    private readonly log: Logger,
  ) {
    this.client = createClient(config);
    this.outage = new OutageTracker('redis-sink', 'redis', log);
    // Connection errors surface through the writes (and the outage log); the events only go to debug.
    this.client.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis connection error'));
    this.client.defineCommand('rtdwWriteHash', { numberOfKeys: 2, lua: WRITE_HASH });
    this.client.defineCommand('rtdwAdvance', { numberOfKeys: 1, lua: ADVANCE_FIELDS });
    this.client.defineCommand('rtdwPushAlert', { numberOfKeys: 1, lua: PUSH_ALERT });
    this.scripts = this.client as unknown as ScriptCommands;
  }

  /** The client's connection is up (readiness; a write may still meet an outage). */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves once the client is connected (a test's wait; writes do not need it). */
  async ready(): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve) => this.client.once('ready', () => resolve()));
  }

  /**
   * Writes a batch, retrying while Redis is away; resolves once Redis acknowledged every write
   * (rejected ones included), rejects only with SinkClosedError when closed meanwhile.
   */
  async write(batch: readonly RedisWrite[], options: WriteOptions = {}): Promise<WriteOutcome> {
    const started = performance.now();
    const planned = plan(batch);
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new SinkClosedError();
      try {
        const outcome = await this.attempt(planned);
        this.recovered();
        this.metrics.batchWrites.observe(batch.length);
        this.metrics.batchSeconds.observe((performance.now() - started) / 1000);
        return outcome;
      } catch (err) {
        if (!(err instanceof TransientFailure)) throw err;
        this.unavailable(err.message);
        await options.beforeRetry?.();
        await this.pause(Math.min(this.config.retryMaxMs, 50 * 2 ** Math.min(attempt, 16)));
      }
    }
  }

  /** A write waiting out an outage gives up (rejects with SinkClosedError); attempts in flight finish. */
  stopRetrying(): void {
    this.closed = true;
    this.wakeRetry?.();
  }

  /** Stops retrying and closes the connection. */
  async close(): Promise<void> {
    this.stopRetrying();
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  private async attempt({ direct, advances }: Planned): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { written: 0, stale: 0, fields: 0, rejected: [] };
    // Issued in one synchronous loop: auto-pipelining sends them together.
    const replies = await Promise.allSettled(direct.map(({ write }) => this.send(write)));
    let transient: string | undefined;
    replies.forEach((reply, i) => {
      const { index, write } = direct[i]!;
      if (reply.status === 'rejected') {
        if (isTransient(reply.reason)) transient ??= errorText(reply.reason);
        else {
          outcome.rejected.push({ index, reason: errorText(reply.reason) });
          this.metrics.records.inc({ kind: write.type === 'hash' ? write.kind : write.type, result: 'rejected' });
          this.metrics.errors.inc({ kind: 'rejected' });
        }
        return;
      }
      // "the log" of the alerts: each once, when it joins the list (a replayed one is already there)
      if (write.type === 'alert' && reply.value === 1) this.log.warn({ alert: JSON.parse(write.element) as unknown }, 'alert');
      if (write.type !== 'hash') return;
      const [applied, fields, stale] = reply.value as [number, number, number];
      if (applied === 1) outcome.written += 1;
      else outcome.stale += 1;
      outcome.fields += fields;
      this.metrics.records.inc({ kind: write.kind, result: applied === 1 ? 'written' : 'stale' });
      this.metrics.fields.inc({ result: 'written' }, fields);
      this.metrics.fields.inc({ result: 'stale' }, stale);
    });
    if (transient !== undefined) throw new TransientFailure(transient);
    const keys = [...advances.keys()];
    const moved = await Promise.allSettled(keys.map((key) => this.scripts.rtdwAdvance(key, ...[...advances.get(key)!].flatMap(([field, a]) => [field, a.value, a.order]))));
    moved.forEach((reply, i) => {
      if (reply.status === 'fulfilled') return;
      if (isTransient(reply.reason)) transient ??= errorText(reply.reason);
      else for (const a of advances.get(keys[i]!)!.values()) outcome.rejected.push({ index: a.index, reason: errorText(reply.reason) });
    });
    if (transient !== undefined) throw new TransientFailure(transient);
    return outcome;
  }

  private send(write: Exclude<RedisWrite, AdvanceWrite>): Promise<unknown> {
    switch (write.type) {
      case 'hash':
        return this.scripts.rtdwWriteHash(write.key, write.versionKey, String(write.version), String(this.config.ttlSeconds), write.op, ...write.args);
      case 'set-add':
        return this.client.sadd(write.key, write.member);
      case 'alert':
        return this.scripts.rtdwPushAlert(write.key, String(this.config.alertsMax), String(write.time), write.element);
    }
  }

  private unavailable(reason: string): void {
    this.metrics.errors.inc({ kind: 'unavailable' });
    this.metrics.retries.inc();
    // The sink's own outage metrics (alert rules and the dashboard read them) move with the shared ones.
    if (!this.outage.down) {
      this.metrics.outages.inc();
      this.metrics.available.set(0);
    }
    this.outage.failed(reason, { holding: 'writes, retried until they land' });
  }

  private recovered(): void {
    this.metrics.available.set(1);
    this.outage.recovered();
  }

  /**
   * Waits `ms` before the next attempt; while the connection is down, only until it is back (the
   * client reconnects every PROBE_INTERVAL_MS), so held writes go out right after Redis returns.
   */
  private pause(ms: number): Promise<void> {
    const disconnected = this.client.status !== 'ready';
    return new Promise((resolve) => {
      const client = this.client;
      const timer = setTimeout(done, disconnected ? Math.max(ms, this.config.retryMaxMs) : ms);
      function done(): void {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      }
      if (disconnected) client.once('ready', done);
      this.wakeRetry = done;
    });
  }
}

function createClient(config: RedisSinkConfig): Redis | Cluster {
  // Commands fail at once while disconnected (no offline queue, no silent resend): the retry loop
  // above owns retries, so it can count, log and back off, and tell the caller nothing is acknowledged.
  const common = {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectionName: 'rtdw-redis-sink',
  } satisfies RedisOptions;
  // Reconnection attempts are the outage's probes: on a short interval, so writes resume soon after Redis returns.
  const reconnect = (times: number): number => Math.min(config.retryMaxMs, PROBE_INTERVAL_MS, 50 * 2 ** Math.min(times, 16));
  if (config.clusterNodes === undefined) return new Redis(config.url, { ...common, retryStrategy: reconnect });
  const url = new URL(config.url);
  const node: RedisOptions = {
    ...common,
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const options: ClusterOptions = {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnect,
    redisOptions: node,
  };
  return new Cluster(config.clusterNodes, options);
}

/**
 * The screen's live state: Redis read every `pollMs` (reader.ts → snapshot.ts), consumer lag every
 * `lagPollMs` (lag.ts), and the browsers subscribed to server-sent events. A snapshot is pushed
 * only when its figures differ from the last one pushed, so an idle pipeline costs one Redis read
 * per second and no traffic to the browsers.
 *
 * While Redis cannot be read the last figures stay on the screen, marked with the error; the
 * outage is logged once when it begins and once when it ends.
 */
import type { ServerResponse } from 'node:http';
import { TimeZone } from '../../jobs/runtime/core/time-zone.js';
import type { RedisLayout } from '../../schemas/redis-keys.js';
import type { Logger } from '../observability/logger.js';
import type { LagReader } from './lag.js';
import { connected, readScreen, type ScreenRedis } from './reader.js';
import { buildSnapshot, sameFigures, type LagReport, type ScreenReads, type ScreenSnapshot } from './snapshot.js';

export interface ScreenServiceOptions {
  namespace: string;
  timezone: string;
  pollMs: number;
  lagPollMs: number;
  /** a browser's EventSource reconnects after this long when the stream breaks */
  retryMs?: number;
  /** an SSE comment this often keeps proxies and idle timeouts from closing the stream */
  keepAliveMs?: number;
}

const NOTHING_READ: Omit<ScreenReads, 'today'> = {
  latest: {},
  watermarks: {},
  blacklistSize: 0,
  alerts: [],
  orderCity: undefined,
  top3City: undefined,
  adClicks: undefined,
  trend: undefined,
  hotAds: {},
  dailyKpi: {},
};

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ScreenService {
  private current: ScreenSnapshot | undefined;
  private lag: LagReport;
  private readonly subscribers = new Set<ServerResponse>();
  private readonly zone: TimeZone;
  private pollTimer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private stopped = false;
  private redisDownSince: number | undefined;
  private lagFailing = false;
  /** reads of Redis since start, and snapshots pushed to the browsers (a test's and an operator's counts) */
  polls = 0;
  pushed = 0;

  constructor(
    private readonly redis: ScreenRedis,
    private readonly layout: RedisLayout,
    private readonly lagReader: LagReader | undefined,
    private readonly options: ScreenServiceOptions,
    private readonly log: Logger,
  ) {
    this.zone = TimeZone.of(options.timezone);
    this.lag = lagReader === undefined || options.lagPollMs === 0 ? { state: 'off' } : { state: 'pending' };
  }

  /** Reads Redis once, starts reading the lag, then keeps polling both until stop(). */
  async start(): Promise<void> {
    // A first read before the connection is up would show an error for one poll.
    await connected(this.redis, 3000);
    await this.poll();
    // Not awaited: Kafka being slow or away must not hold the page back; lag shows as pending, then read.
    if (this.lag.state === 'pending') void this.pollLag();
    this.keepAlive = setInterval(() => {
      for (const res of this.subscribers) res.write(': keep-alive\n\n');
    }, this.options.keepAliveMs ?? 15_000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.lagTimer);
    clearInterval(this.keepAlive);
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
  }

  /** The snapshot last read (figures of the last good read while Redis is away). */
  snapshot(): ScreenSnapshot | undefined {
    return this.current;
  }

  /** True once Redis has been read and while the last read succeeded. */
  ready(): boolean {
    return this.current !== undefined && this.current.redisError === null;
  }

  /** Streams snapshots to one browser: the current one at once, then each change. */
  subscribe(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(`retry: ${this.options.retryMs ?? 2000}\n\n`);
    if (this.current !== undefined) res.write(event(this.current));
    this.subscribers.add(res);
    res.on('close', () => this.subscribers.delete(res));
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private async poll(): Promise<void> {
    const readAt = Date.now();
    let next: ScreenSnapshot;
    try {
      const reads = await readScreen(this.redis, this.layout, this.zone.dayOf(readAt).day);
      next = buildSnapshot(reads, { namespace: this.options.namespace, timezone: this.options.timezone, readAt, lag: this.lag });
      if (this.redisDownSince !== undefined) {
        this.log.info({ outageMs: readAt - this.redisDownSince }, 'Redis readable again');
        this.redisDownSince = undefined;
      }
    } catch (err) {
      const reason = errorText(err);
      if (this.redisDownSince === undefined) {
        this.redisDownSince = readAt;
        this.log.warn({ err: reason }, 'Redis unreadable: the screen keeps its last figures');
      }
      const last = this.current ?? buildSnapshot({ ...NOTHING_READ, today: this.zone.dayOf(readAt).day }, { namespace: this.options.namespace, timezone: this.options.timezone, readAt, lag: this.lag });
      next = { ...last, readAt, redisError: reason, lag: this.lag };
    }
    this.polls += 1;
    this.publish(next);
    if (!this.stopped) this.pollTimer = setTimeout(() => void this.poll(), this.options.pollMs);
  }

  private async pollLag(): Promise<void> {
    try {
      this.lag = await this.lagReader!.read();
      if (this.lagFailing) this.log.info('consumer lag readable again');
      this.lagFailing = false;
    } catch (err) {
      this.lag = { state: 'error', message: errorText(err) };
      if (!this.lagFailing) this.log.warn({ err: this.lag.message }, 'consumer lag unreadable from Kafka');
      this.lagFailing = true;
    }
    if (this.current !== undefined) this.publish({ ...this.current, lag: this.lag });
    if (!this.stopped) this.lagTimer = setTimeout(() => void this.pollLag(), this.options.lagPollMs);
  }

  private publish(next: ScreenSnapshot): void {
    const changed = this.current === undefined || !sameFigures(this.current, next);
    this.current = next;
    if (!changed) return;
    this.pushed += 1;
    const text = event(next);
    for (const res of this.subscribers) res.write(text);
  }
}

/** One SSE event; JSON.stringify never emits a newline, so the data is one line. */
function event(snapshot: ScreenSnapshot): string {
  return `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
}

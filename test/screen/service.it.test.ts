/**
 * The screen's server without a browser, on a redis-server of the test's own: snapshots are pushed
 * over server-sent events only when the figures change (not on every poll), the HTTP surface is
 * read-only, and a Redis outage keeps the last figures on the screen, marked, until Redis is back.
 */
import { get, request, type IncomingMessage } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLayout } from '../../schemas/redis-keys.js';
import { encodeScreenRecord } from '../../connectors/redis/encoder.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { createScreenRedis, type ScreenRedis } from '../../connectors/screen/reader.js';
import { createScreenServer, listen } from '../../connectors/screen/server.js';
import { ScreenService } from '../../connectors/screen/service.js';
import { LagReader } from '../../connectors/screen/lag.js';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { ScreenSnapshot } from '../../connectors/screen/snapshot.js';
import { uniqueName } from '../support/stack.js';
import { PrivateRedis, capturedLogger, freePort, waitFor } from '../redis/support.js';

const H = 3_600_000;
const W = 1717200000000;

/** The snapshots one SSE subscriber received, parsed as they arrive. */
function subscribe(url: string): { events: ScreenSnapshot[]; close: () => void } {
  const events: ScreenSnapshot[] = [];
  let buffer = '';
  const req = get(`${url}events`, (res: IncomingMessage) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: snapshot\ndata: (.*)$/s.exec(block)?.[1];
        if (data !== undefined) events.push(JSON.parse(data) as ScreenSnapshot);
      }
    });
  });
  req.on('error', () => undefined);
  return { events, close: () => req.destroy() };
}

async function fetchText(url: string, method = 'GET'): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('screen service', () => {
  const ns = uniqueName('it_screen_svc');
  const layout = redisLayout({ namespace: ns, hashTags: false });
  const { log, lines } = capturedLogger();
  let redisServer: PrivateRedis;
  let sink: RedisSink;
  let redis: ScreenRedis;
  let service: ScreenService;
  let server: Server;
  let url: string;
  let version = 0;

  const write = async (...records: unknown[]): Promise<void> => {
    const outcome = await sink.write(records.flatMap((r) => encodeScreenRecord(parseScreenRecord(r), ++version, layout)));
    expect(outcome.rejected).toEqual([]);
  };

  beforeAll(async () => {
    redisServer = await PrivateRedis.start();
    sink = new RedisSink({ url: redisServer.url, ttlSeconds: 3600, alertsMax: 10, retryMaxMs: 200 }, log);
    await write({ kind: 'ad_clicks_1h', window_start: W, window_end: W + H, op: 'replace', entries: [{ ad_id: 4, clicks: 10 }] });
    redis = createScreenRedis(redisServer.url, undefined);
    redis.on('error', () => undefined);
    service = new ScreenService(redis, layout, undefined, { namespace: ns, timezone: 'UTC', pollMs: 100, lagPollMs: 0, keepAliveMs: 60_000 }, log);
    await service.start();
    server = createScreenServer(service);
    url = await listen(server, '127.0.0.1', 0);
  });

  afterAll(async () => {
    service.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    redis.disconnect();
    await sink.close();
    await redisServer.stop();
  });

  it('pushes a snapshot when the figures change, not on every read', async () => {
    const sub = subscribe(url);
    try {
      await waitFor('the first snapshot', () => (sub.events.length > 0 ? true : undefined));
      expect(sub.events[0]!.ads?.ads).toEqual([{ adId: 4, clicks: 10 }]);
      expect(sub.events[0]!.lag).toEqual({ state: 'off' });
      const polls = service.polls;
      const pushed = service.pushed;
      await waitFor('five more reads of Redis', () => (service.polls >= polls + 5 ? true : undefined));
      expect(sub.events).toHaveLength(1);
      expect(service.pushed).toBe(pushed);

      await write({ kind: 'blacklist', user_id: 31 });
      await waitFor('the changed snapshot', () => (sub.events.length > 1 ? true : undefined));
      expect(sub.events[1]!.blacklistSize).toBe(1);
      expect(sub.events[1]!.ads?.ads).toEqual([{ adId: 4, clicks: 10 }]);
      const snapshot = JSON.parse((await fetchText(`${url}snapshot.json`)).body) as ScreenSnapshot;
      expect({ ...snapshot, readAt: 0 }).toEqual({ ...sub.events[1]!, readAt: 0 });
    } finally {
      sub.close();
    }
  });

  it('serves read-only: GET and HEAD only, CSP on the page, 404 elsewhere', async () => {
    const page = await fetchText(url);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('/vendor/chart.umd.min.js');
    const chart = await fetchText(`${url}vendor/chart.umd.min.js`);
    expect(chart.status).toBe(200);
    expect(chart.body).toMatch(/Chart\.js v4\./);
    expect((await fetchText(url, 'POST')).status).toBe(405);
    expect((await fetchText(`${url}../package.json`)).status).toBe(404);
    expect((await fetchText(`${url}healthz`)).status).toBe(200);
    expect((await fetchText(`${url}readyz`)).status).toBe(200);
  });

  it('serves the figures when Kafka cannot be reached, and says the lag is unreadable', async () => {
    // A port nothing listens on: the admin's connection is refused.
    const kafka = new Kafka({ brokers: [`127.0.0.1:${await freePort()}`], clientId: 'screen-test', logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 500 });
    const other = new ScreenService(redis, layout, new LagReader(kafka.admin(), ns), { namespace: ns, timezone: 'UTC', pollMs: 100, lagPollMs: 1000 }, log);
    try {
      await other.start();
      expect(other.snapshot()?.ads?.ads).toEqual([{ adId: 4, clicks: 10 }]);
      const lag = await waitFor('the lag error', () => {
        const l = other.snapshot()?.lag;
        return l?.state === 'error' ? l : undefined;
      });
      expect(lag.message).toMatch(/ECONNREFUSED|Connection error/);
      expect(lines.filter((l) => l.msg === 'consumer lag unreadable from Kafka')).toHaveLength(1);
    } finally {
      other.stop();
    }
  });

  it('keeps the last figures, marked, while Redis is down, and recovers', async () => {
    const sub = subscribe(url);
    try {
      await waitFor('the current snapshot', () => (sub.events.length > 0 ? true : undefined));
      await redisServer.kill();
      const down = await waitFor('a snapshot with the Redis error', () => sub.events.find((e) => e.redisError !== null));
      expect(down.blacklistSize).toBe(1);
      expect(down.ads?.ads).toEqual([{ adId: 4, clicks: 10 }]);
      expect((await fetchText(`${url}readyz`)).status).toBe(503);
      expect(lines.filter((l) => l.msg.startsWith('Redis unreadable'))).toHaveLength(1);

      // Back without persistence: empty, and the screen says so.
      await redisServer.restart();
      await write({ kind: 'blacklist', user_id: 32 }, { kind: 'blacklist', user_id: 33 });
      const back = await waitFor('a snapshot read again', () => sub.events.find((e) => e.redisError === null && e.blacklistSize === 2));
      expect(back.ads).toBeNull();
      expect((await fetchText(`${url}readyz`)).status).toBe(200);
      expect(lines.filter((l) => l.msg === 'Redis readable again')).toHaveLength(1);
    } finally {
      sub.close();
    }
  });
});

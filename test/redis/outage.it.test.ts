/**
 * Redis going away under the sink, on a private redis-server (the shared one is never touched):
 * kill -9 mid-run while records keep arriving, then a restart. Nothing may be acknowledged to Kafka
 * while Redis is down, every record not acknowledged before the kill must land once it is back,
 * and the outage is logged and counted once, and the held records land within 5 s of the return. The server keeps no data, so what it held before the
 * kill is gone after the restart: exactly the records committed before the kill are missing,
 * which shows where the kill landed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Admin, Producer } from 'kafkajs';
import { createKafka } from '../../connectors/kafka/client.js';
import { encodeScreenRecord } from '../../connectors/redis/encoder.js';
import { redisSinkMetrics } from '../../connectors/redis/metrics.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { RedisSinkService } from '../../connectors/redis/service.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { config, uniqueName } from '../support/stack.js';
import { outagesCounted, serviceAvailable } from '../support/outages.js';
import { capturedLogger, PrivateRedis, waitFor } from './support.js';

const W = 1717200000000;
const H = 3_600_000;
const OUTAGE_START = 'redis unavailable: outage begins';
const OUTAGE_END = 'redis available again';
let server: PrivateRedis;

beforeAll(async () => {
  server = await PrivateRedis.start();
});

afterAll(async () => {
  await (server as PrivateRedis | undefined)?.stop();
});

/** Window i: one city with i + 1 orders. */
const windowRecord = (i: number) => ({
  kind: 'order_city_1h',
  window_start: W + i * 300_000,
  window_end: W + i * 300_000 + H,
  op: 'replace',
  entries: [{ province: '山东省', city: '青岛市', orders: i + 1, amount: `${i}.25` }],
});

describe('Redis outage', () => {
  const ns = uniqueName('it_redis_outage');
  const topic = `${ns}.ads_redis`;
  const deadLetterTopic = `${ns}.dead_letter`;
  const groupId = uniqueName('it-redis-outage');
  const { log, lines } = capturedLogger();
  const kafka = createKafka(config, 'it-redis-outage', log);
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }, { topic: deadLetterTopic, numPartitions: 1 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('holds writes and offsets while Redis is down, lands them when it returns, and logs and counts the outage once', async () => {
    const metrics = redisSinkMetrics();
    const outagesBefore = await outagesCounted('redis-sink', 'redis');
    const sink = new RedisSink({ url: server.url, ttlSeconds: 3600, alertsMax: 10, retryMaxMs: 400 }, log);
    const service = new RedisSinkService(kafka, sink, { topics: [topic], groupId, deadLetterTopic, layout: redisLayout({ namespace: ns, hashTags: false }) }, log);
    const producer: Producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await service.start();
    const committed = async (): Promise<number> => Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset ?? -1);

    // Records arrive steadily through the whole test, one window each (offset i = window i).
    let sent = 0;
    let producing = true;
    const feeding = (async () => {
      while (producing) {
        await producer.send({ topic, acks: -1, messages: [{ key: `order_city_1h:${W + sent * 300_000}`, value: JSON.stringify(windowRecord(sent)) }] });
        sent += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await waitFor('40 records committed', async () => ((await committed()) >= 40 ? true : undefined));
    await server.kill();
    const killedAt = sent;
    await waitFor('the outage to be noticed and retried', async () => (lines.some((l) => l.msg === OUTAGE_START) && ((await metrics.retries.get()).values[0]?.value ?? 0) >= 3 ? true : undefined));
    const cut = await committed();
    const retries = (await metrics.retries.get()).values[0]?.value ?? 0;
    await waitFor('more retries while Redis is down', async () => (((await metrics.retries.get()).values[0]?.value ?? 0) >= retries + 3 ? true : undefined));
    // Nothing acknowledged while Redis is away, though records kept arriving.
    expect(await committed()).toBe(cut);
    expect(sent).toBeGreaterThan(cut + 5);

    await server.restart();
    const returnedAt = Date.now();
    // Catch-up within 5 s of the return: the held batch lands and its offsets are committed.
    await waitFor('the held records committed', async () => ((await committed()) > cut ? true : undefined));
    const catchUpMs = Date.now() - returnedAt;
    expect(catchUpMs).toBeLessThan(5000);
    await waitFor('records after the restart', () => (sent >= killedAt + 60 ? true : undefined));
    producing = false;
    await feeding;
    await waitFor('every record committed', async () => ((await committed()) >= sent ? true : undefined), 120_000);
    await service.stop();
    await producer.disconnect();

    const redis = new Redis(server.url);
    try {
      const present: number[] = [];
      for (let i = 0; i < sent; i++) {
        const hash = await redis.hgetall(`${ns}:order_city_1h:${W + i * 300_000}`);
        if (Object.keys(hash).length === 0) continue;
        present.push(i);
        expect(hash).toEqual({ '山东省|青岛市': `{"orders":${i + 1},"amount":"${i}.25"}` });
      }
      // The kill landed mid-run: what was committed before it died with the server; everything after it landed.
      expect(cut).toBeGreaterThan(0);
      expect(present).toEqual(Array.from({ length: sent - cut }, (_, j) => cut + j));
      expect(await redis.hget(`${ns}:latest`, 'order_city_1h')).toBe(String(W + (sent - 1) * 300_000));
    } finally {
      redis.disconnect();
    }
    expect(lines.filter((l) => l.msg === OUTAGE_START)).toHaveLength(1);
    expect(lines.filter((l) => l.msg === OUTAGE_END)).toHaveLength(1);
    expect(lines.find((l) => l.msg === OUTAGE_END)).toMatchObject({ part: 'redis-sink', service: 'redis', outageMs: expect.any(Number), failures: expect.any(Number) });
    expect((await outagesCounted('redis-sink', 'redis')) - outagesBefore).toBe(1);
    expect(await serviceAvailable('redis-sink', 'redis')).toBe(1);
  });

  it('falls back to EVAL when the server lost its scripts (NOSCRIPT)', async () => {
    const layout = redisLayout({ namespace: uniqueName('it_redis_noscript'), hashTags: false });
    const sink = new RedisSink({ url: server.url, ttlSeconds: 3600, alertsMax: 10, retryMaxMs: 400 }, log);
    const admin = new Redis(server.url);
    try {
      await sink.ready();
      await sink.write(encodeScreenRecord(parseScreenRecord(windowRecord(0)), 1, layout));
      await admin.config('RESETSTAT');
      await admin.script('FLUSH');
      const outcome = await sink.write(encodeScreenRecord(parseScreenRecord(windowRecord(1)), 2, layout));
      expect(outcome).toMatchObject({ written: 1, rejected: [] });
      expect(await admin.hgetall(layout.orderCity1h(W + 300_000))).toEqual({ '山东省|青岛市': '{"orders":2,"amount":"1.25"}' });
      // Each script's EVALSHA (the hash write, the latest advance) was refused once and sent again in full.
      expect(await admin.info('errorstats')).toMatch(/errorstat_NOSCRIPT:count=2\b/);
    } finally {
      admin.disconnect();
      await sink.close();
    }
  });
});

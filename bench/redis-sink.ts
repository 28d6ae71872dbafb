/**
 * Redis sink throughput and freshness: `npx tsx bench/redis-sink.ts` (npm run bench:redis). Prints
 * figures, asserts nothing. Uses the local stack's Redis and Kafka under a private namespace and
 * topic, removed at the end.
 *
 * 1. Pipelined writes straight through RedisSink.write: 1 h windows replaced whole (30 cities each,
 *    500 windows per batch), and single-field upserts (trend minutes, 2,000 per batch).
 * 2. Kafka → Redis through the sink service at a steady rate (BENCH_REDIS_RATES records/s, default
 *    1000,5000, for BENCH_REDIS_SECONDS each): latency from a record's Kafka timestamp (set when the
 *    producer sends it) to Redis acknowledging its write, p50/p99.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createKafka } from '../connectors/kafka/client.js';
import { encodeScreenRecord, type RedisWrite } from '../connectors/redis/encoder.js';
import { parseScreenRecord } from '../connectors/redis/records.js';
import { RedisSinkService, type WrittenBatch } from '../connectors/redis/service.js';
import { RedisSink } from '../connectors/redis/sink.js';
import { loadConfig } from '../schemas/config.js';
import { redisLayout } from '../schemas/redis-keys.js';

const config = loadConfig();
const RATES = (process.env.BENCH_REDIS_RATES ?? '1000,5000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_REDIS_SECONDS ?? 15);
const ns = `bench_redis_${Date.now().toString(36)}`;
const layout = redisLayout({ namespace: ns, hashTags: false });
const log = pino({ level: 'warn' });
const W = Date.UTC(2026, 0, 1);
const H = 3_600_000;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

function cityWindow(i: number, version: number): RedisWrite[] {
  const entries = Array.from({ length: 30 }, (_, c) => ({ province: `省${c % 6}`, city: `市${c}`, orders: 1 + ((i + c) % 50), amount: `${(i * 31 + c) % 100000}.${c % 100}` }));
  return encodeScreenRecord(parseScreenRecord({ kind: 'order_city_1h', window_start: W + i * 300_000, window_end: W + i * 300_000 + H, op: 'replace', entries }), version, layout);
}

function trendMinute(i: number, version: number): RedisWrite[] {
  return encodeScreenRecord(parseScreenRecord({ kind: 'ad_click_trend_1m', ad_id: 1 + (i % 200), op: 'upsert', entries: [{ minute_start: W + Math.floor(i / 200) * 60_000, clicks: i % 97 }] }), version, layout);
}

async function pipelined(sink: RedisSink): Promise<number> {
  const WINDOWS = 20_000;
  const BATCH = 500;
  let started = performance.now();
  let fields = 0;
  for (let b = 0; b < WINDOWS / BATCH; b++) {
    const batch = Array.from({ length: BATCH }, (_, j) => cityWindow(b * BATCH + j, b * BATCH + j)).flat();
    fields += (await sink.write(batch)).fields;
  }
  let seconds = (performance.now() - started) / 1000;
  const windowsPerSecond = WINDOWS / seconds;
  console.log(`replace 1 h windows (30 fields, ${BATCH}/batch):  ${fmt(windowsPerSecond)} windows/s, ${fmt(fields / seconds)} fields/s`);

  const UPSERTS = 200_000;
  const UPSERT_BATCH = 2000;
  started = performance.now();
  for (let b = 0; b < UPSERTS / UPSERT_BATCH; b++) {
    await sink.write(Array.from({ length: UPSERT_BATCH }, (_, j) => trendMinute(b * UPSERT_BATCH + j, b * UPSERT_BATCH + j)).flat());
  }
  seconds = (performance.now() - started) / 1000;
  console.log(`upsert trend minutes (1 field, ${UPSERT_BATCH}/batch):     ${fmt(UPSERTS / seconds)} writes/s`);
  return windowsPerSecond;
}

async function freshness(rate: number): Promise<void> {
  const kafka = createKafka(config, 'bench-redis', log);
  const admin = kafka.admin();
  await admin.connect();
  const topic = `${ns}.ads_redis_${rate}`;
  const deadLetterTopic = `${ns}.dead_letter_${rate}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }, { topic: deadLetterTopic, numPartitions: 1 }], waitForLeaders: true });
  const latencies: number[] = [];
  let batches = 0;
  const onWritten = (b: WrittenBatch): void => {
    batches += 1;
    for (const t of b.timestamps) latencies.push(b.ackedAt - t);
  };
  const sink = new RedisSink({ url: config.redis.url, ttlSeconds: 3600, alertsMax: 100, retryMaxMs: 1000 }, log);
  const service = new RedisSinkService(kafka, sink, { topics: [topic], groupId: `${ns}-${rate}`, deadLetterTopic, layout, onWritten }, log);
  await service.start();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  // Sends every 10 ms, so records are spread over each second; the first 2 s warm up and are not counted.
  const perTick = Math.max(1, Math.round(rate / 100));
  const ticks = SECONDS * 100;
  const warmup = 200;
  const started = Date.now();
  let sent = 0;
  for (let tick = 0; tick < ticks + warmup; tick++) {
    if (tick === warmup) latencies.length = 0;
    const messages = Array.from({ length: perTick }, () => {
      const i = sent++;
      const ad = 1 + (i % 500);
      return { key: `ad_click_trend_1m:${ad}`, value: JSON.stringify({ kind: 'ad_click_trend_1m', ad_id: ad, op: 'upsert', entries: [{ minute_start: W + Math.floor(i / 500) * 60_000, clicks: i % 97 }] }) };
    });
    await producer.send({ topic, acks: -1, messages });
    const due = started + (tick + 1) * 10;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
  const target = sent;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && latencies.length < target - warmup * perTick) await new Promise((r) => setTimeout(r, 50));
  const achieved = (sent - warmup * perTick) / ((Date.now() - started) / 1000 - warmup / 100);
  latencies.sort((a, b) => a - b);
  console.log(
    `Kafka → Redis at ${fmt(rate)} records/s (sent ${fmt(achieved)}/s, ${fmt(latencies.length)} measured, ${fmt(batches)} batches):  ` +
      `record → key written  p50 ${percentile(latencies, 50).toFixed(0)} ms  p99 ${percentile(latencies, 99).toFixed(0)} ms  max ${(latencies.at(-1) ?? Number.NaN).toFixed(0)} ms`,
  );
  await producer.disconnect();
  await service.stop();
  await admin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => undefined);
  await admin.disconnect();
}

async function cleanup(): Promise<void> {
  const redis = new Redis(config.redis.url);
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 5000);
    if (keys.length > 0) removed += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  console.log(`removed ${fmt(removed)} bench keys`);
}

const sink = new RedisSink({ url: config.redis.url, ttlSeconds: 3600, alertsMax: 100, retryMaxMs: 1000 }, log);
try {
  await sink.ready();
  const windowsPerSecond = await pipelined(sink);
  await sink.close();
  for (const rate of RATES) await freshness(rate);
  console.log(`redis sink windows/s: ${fmt(windowsPerSecond)}`);
} finally {
  await cleanup();
}

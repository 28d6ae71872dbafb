/**
 * Kafka → Redis through the sink service on the real stack: a seeded scenario of window results
 * (replaces, per-field upserts and removes, trend minutes, KPIs, blacklist, watermarks, an aborted
 * transaction, bad records) on a private 3-partition topic. The Redis state must equal a model
 * that applies the committed records in order, with the values formatted here from issue 11's
 * layout; a second consumer group replaying the same records must leave the state unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createKafka } from '../../connectors/kafka/client.js';
import { redisSinkMetrics } from '../../connectors/redis/metrics.js';
import { RedisSinkService } from '../../connectors/redis/service.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { config, uniqueName } from '../support/stack.js';
import { capturedLogger, deleteNamespace, namespaceState, waitFor } from './support.js';

const ns = uniqueName('it_redis_kafka');
const topic = `${ns}.ads_redis`;
const deadLetterTopic = `${ns}.dead_letter`;
const W = 1717200000000;
const H = 3_600_000;
const { log } = capturedLogger();
const kafka: Kafka = createKafka(config, 'it-redis', log);
const redis = new Redis(config.redis.url);
let admin: Admin;

/** mulberry32: the scenario is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Produced {
  key: string;
  value: string | null;
  headers?: Record<string, string>;
}

/** Two decimals from integer cents, as issue 11 prints amounts. */
const cents = (c: number): string => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;

/** The expected Redis state: applies each committed record in order, as the layout describes. */
class Model {
  readonly hashes = new Map<string, Map<string, string>>();
  readonly latest = new Map<string, number | string>();
  readonly watermark = new Map<string, number>();
  readonly blacklist = new Set<string>();

  hash(key: string): Map<string, string> {
    let h = this.hashes.get(key);
    if (h === undefined) this.hashes.set(key, (h = new Map()));
    return h;
  }

  advance(kind: string, value: number | string): void {
    const current = this.latest.get(kind);
    if (current === undefined || value > current) this.latest.set(kind, value);
  }

  state(): Record<string, { type: string; value: unknown }> {
    const out: Record<string, { type: string; value: unknown }> = {};
    for (const [key, h] of this.hashes) if (h.size > 0) out[key] = { type: 'hash', value: Object.fromEntries(h) };
    if (this.latest.size > 0) out[`${ns}:latest`] = { type: 'hash', value: Object.fromEntries([...this.latest].map(([k, v]) => [k, String(v)])) };
    if (this.watermark.size > 0) out[`${ns}:watermark`] = { type: 'hash', value: Object.fromEntries([...this.watermark].map(([k, v]) => [k, String(v)])) };
    if (this.blacklist.size > 0) out[`${ns}:blacklist`] = { type: 'set', value: [...this.blacklist].sort() };
    return out;
  }
}

const AREAS = [['山东省', '青岛市'], ['山东省', '济南市'], ['浙江省', '杭州市'], ['浙江省', '宁波市'], ['广东省', '深圳市']] as const;
const KPIS = ['pv', 'uv', 'orders', 'gmv'] as const;

/** n records, applied to the model if one is given (records of an aborted transaction are not). */
function scenario(rnd: () => number, n: number, model: Model | undefined): Produced[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: Produced[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const start = W + Math.floor(rnd() * 3) * 300_000;
    const windowKey = `${ns}:order_city_1h:${start}`;
    const window = { kind: 'order_city_1h', window_start: start, window_end: start + H };
    if (r < 0.4) {
      const areas = [...new Set([pick(AREAS), pick(AREAS)])];
      const entries = areas.map(([province, city]) => ({ province, city, orders: 1 + Math.floor(rnd() * 9), amount: Math.floor(rnd() * 100_000) }));
      out.push({ key: `order_city_1h:${start}`, value: JSON.stringify({ ...window, op: 'upsert', entries: entries.map((e) => ({ ...e, amount: String(e.amount / 100) })) }) });
      for (const e of entries) model?.hash(windowKey).set(`${e.province}|${e.city}`, `{"orders":${e.orders},"amount":"${cents(e.amount)}"}`);
      model?.advance('order_city_1h', start);
    } else if (r < 0.5) {
      const [province, city] = pick(AREAS);
      out.push({ key: `order_city_1h:${start}`, value: JSON.stringify({ ...window, op: 'remove', entries: [{ province, city }] }) });
      model?.hash(windowKey).delete(`${province}|${city}`);
    } else if (r < 0.6) {
      const areas = AREAS.filter(() => rnd() < 0.4);
      const entries = areas.map(([province, city]) => ({ province, city, orders: 1 + Math.floor(rnd() * 9), amount: Math.floor(rnd() * 100_000) }));
      out.push({ key: `order_city_1h:${start}`, value: JSON.stringify({ ...window, op: 'replace', entries: entries.map((e) => ({ ...e, amount: String(e.amount / 100) })) }) });
      if (model !== undefined) {
        const h = model.hash(windowKey);
        h.clear();
        for (const e of entries) h.set(`${e.province}|${e.city}`, `{"orders":${e.orders},"amount":"${cents(e.amount)}"}`);
        model.advance('order_city_1h', start);
      }
    } else if (r < 0.75) {
      const ad = 1 + Math.floor(rnd() * 3);
      const minute = W + Math.floor(rnd() * 10) * 60_000;
      const clicks = Math.floor(rnd() * 50);
      out.push({ key: `ad_click_trend_1m:${ad}`, value: JSON.stringify({ kind: 'ad_click_trend_1m', ad_id: ad, op: 'upsert', entries: [{ minute_start: minute, clicks }] }) });
      model?.hash(`${ns}:ad_click_trend_1m:${ad}`).set(String(minute), String(clicks));
      model?.advance('ad_click_trend_1m', minute);
    } else if (r < 0.85) {
      const kpi = pick(KPIS);
      const day = pick(['2024-06-01', '2024-06-02']);
      const value = Math.floor(rnd() * 10_000);
      out.push({ key: `daily_kpi:${day}`, value: JSON.stringify({ kind: 'daily_kpi', day, op: 'upsert', entries: [{ kpi, value: kpi === 'gmv' ? String(value / 100) : value }] }) });
      model?.hash(`${ns}:daily_kpi:${day}`).set(kpi, kpi === 'gmv' ? cents(value) : String(value));
      model?.advance('daily_kpi', day);
    } else if (r < 0.92) {
      const user = 1 + Math.floor(rnd() * 6);
      out.push({ key: 'blacklist', value: JSON.stringify({ kind: 'blacklist', user_id: user }) });
      model?.blacklist.add(String(user));
    } else {
      const job = pick(['ads_orders', 'ads_clicks']);
      const watermark = W + Math.floor(rnd() * 1000) * 1000;
      out.push({ key: `watermark:${job}`, value: JSON.stringify({ kind: 'watermark', job, watermark }) });
      if (model !== undefined && watermark > (model.watermark.get(job) ?? -1)) model.watermark.set(job, watermark);
    }
  }
  return out;
}

/** A record's partition: every record of one Redis key in one partition, as producers must key them. */
const partitionOf = (key: string): number => [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 3, 0);

/** One transaction; returns the offset of its last record in each partition it wrote. */
async function transaction(producer: Producer, records: Produced[], outcome: 'commit' | 'abort'): Promise<Map<number, number>> {
  const txn = await producer.transaction();
  const meta = await txn.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, partition: partitionOf(r.key), ...(r.headers === undefined ? {} : { headers: r.headers }) })) });
  await txn[outcome]();
  const last = new Map<number, number>();
  for (const m of meta) last.set(m.partition, Number(m.baseOffset) + records.filter((r) => partitionOf(r.key) === m.partition).length - 1);
  return last;
}

async function recordCounts(): Promise<{ written: number; stale: number }> {
  const { values } = await redisSinkMetrics().records.get();
  const sum = (result: string) => values.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);
  return { written: sum('written'), stale: sum('stale') };
}

async function consumeAll(groupId: string, lastOffsets: Map<number, number>): Promise<void> {
  const sink = new RedisSink({ url: config.redis.url, ttlSeconds: 3600, alertsMax: 100, retryMaxMs: 1000 }, log);
  const service = new RedisSinkService(kafka, sink, { topics: [topic], groupId, deadLetterTopic, layout: redisLayout({ namespace: ns, hashTags: false }) }, log);
  await service.start();
  try {
    await waitFor(`group ${groupId} to commit past every record`, async () => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const done = [...lastOffsets].every(([partition, last]) => Number(committed?.partitions.find((p) => p.partition === partition)?.offset ?? -1) > last);
      return done ? true : undefined;
    }, 120_000);
  } finally {
    await service.stop();
  }
}

describe('Kafka → Redis sink service', () => {
  const model = new Model();
  const lastOffsets = new Map<number, number>();

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }, { topic: deadLetterTopic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ transactionalId: uniqueName('it-redis-txn'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const rnd = random(11);
    const bad: Produced[] = [
      { key: 'bad:json', value: '{"kind":"order_city_1h",' },
      { key: 'bad:rank', value: JSON.stringify({ kind: 'hot_ads_daily', day: '2024-06-01', op: 'upsert', entries: [{ province: '山东省', ranking: [{ rank: 2, ad_id: 1, clicks: 1 }] }] }) },
      { key: 'bad:null', value: null },
      { key: 'bad:marker', value: '{"watermark":"soon"}', headers: { 'rtdw-watermark': 'ads/0' } },
      // A stage forwarding its watermark into the topic: progress, neither a result nor a dead letter.
      { key: 'marker', value: JSON.stringify({ watermark: W }), headers: { 'rtdw-watermark': 'ads/0' } },
    ];
    const batches: Array<[Produced[], 'commit' | 'abort']> = [
      [scenario(rnd, 150, model), 'commit'],
      // An aborted transaction: read_committed, the sink never sees it (its figures are not in the model).
      [scenario(rnd, 40, undefined), 'abort'],
      [[...scenario(rnd, 100, model), ...bad, ...scenario(rnd, 50, model)], 'commit'],
    ];
    for (const [records, outcome] of batches) {
      const last = await transaction(producer, records, outcome);
      // A consumer has read every committed record once its group committed past these offsets.
      if (outcome === 'commit') for (const [p, o] of last) lastOffsets.set(p, o);
    }
    await producer.disconnect();
    expect(lastOffsets.size).toBe(3);
  });

  afterAll(async () => {
    await deleteNamespace(redis, ns);
    await admin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => undefined);
    await admin.disconnect();
    redis.disconnect();
  });

  it('writes exactly the committed records in order, and a replay by another group changes nothing', async () => {
    await consumeAll(uniqueName('it-redis-a'), lastOffsets);
    const first = await namespaceState(redis, ns);
    const figures = Object.fromEntries(Object.entries(first).filter(([key]) => !key.startsWith(`${ns}:version:`)));
    expect(figures).toEqual(model.state());
    expect(Object.keys(figures).length).toBeGreaterThan(10);

    const dead = new Map<string, { reason: string; offset: string; topic: string; partition: number; value: string | null }>();
    await readToEnd(kafka, deadLetterTopic, (m) => void dead.set(String(m.key), JSON.parse(String(m.value)) as { reason: string; offset: string; topic: string; partition: number; value: string | null }));
    expect([...dead.keys()].sort()).toEqual(['bad:json', 'bad:marker', 'bad:null', 'bad:rank']);
    expect(dead.get('bad:marker')?.reason).toMatch(/malformed watermark marker from ads\/0/);
    expect(dead.get('bad:json')).toMatchObject({ reason: expect.stringMatching(/^not JSON: /), topic, partition: partitionOf('bad:json'), value: Buffer.from('{"kind":"order_city_1h",').toString('base64') });
    expect(dead.get('bad:rank')?.reason).toMatch(/^hot_ads_daily record: .*ranks must be 1\.\.n in order/);
    expect(dead.get('bad:null')).toMatchObject({ reason: 'record without a value', value: null });
    expect([...dead.values()].every((d) => /^\d+$/.test(d.offset))).toBe(true);

    // The replay finds every version already there: no hash write is applied, none regresses a key.
    const before = await recordCounts();
    await consumeAll(uniqueName('it-redis-b'), lastOffsets);
    const after = await recordCounts();
    expect(after.written - before.written).toBe(0);
    expect(after.stale - before.stale).toBeGreaterThan(200);
    expect(await namespaceState(redis, ns)).toEqual(first);
  });
});

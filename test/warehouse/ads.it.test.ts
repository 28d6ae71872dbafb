/**
 * The warehouse job on Kafka, in a worker process, over the fixed scenario of ads-scenario.ts written to
 * a private namespace: the first phase of input, with the worker killed -9 mid-work and restarted from
 * its checkpoints as two processes (the DWD stages in one, the ADS stages in the other: JobRunner's
 * `only`), then the second phase. The ADS topics read back read_committed and folded as the
 * sinks fold them (ClickHouse FINAL, the Redis sink's record semantics) must equal the model's SQL over
 * the final source rows and events, exactly; late changes and dead letters must be the expected ones.
 * The real sinks run meanwhile, as `rtdw run --jobs clickhouse,redis` runs them: the ClickHouse tables
 * read with FINAL and the Redis keys must equal the same model.
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { adsTopics, ADS_TABLES } from '../../jobs/ads/context.js';
import { warehouseJob } from '../../jobs/warehouse.js';
import { Redis } from 'ioredis';
import { createClickHouse, quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { migrate } from '../../connectors/clickhouse/migrations.js';
import { ClickHouseSink } from '../../connectors/clickhouse/sink.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { RedisSinkService } from '../../connectors/redis/service.js';
import { markedTopics } from '../../jobs/pipeline/parts.js';
import { redisScreens } from '../../jobs/redis-screens.js';
import { warehouseSink } from '../../jobs/warehouse-sink.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { killHard } from '../support/children.js';
import { dataRecords, startWorker, stopWorker, type Worker } from './job-worker.js';
import { config, uniqueName } from '../support/stack.js';
import { TABLE_KEYS, foldScreens, foldTable } from './ads-fold.js';
import { expected } from './ads-model.js';
import { PARTITIONS, SPLIT, scenario, warehouseOptions, type Input } from './ads-scenario.js';

const log = createLogger('ads-it', 'error');
const kafka: Kafka = createKafka(config, 'ads-it', log);
const namespace = uniqueName('ads');
const topics = adsTopics(namespace);
const job = warehouseJob(warehouseOptions(namespace));
const SOURCES = new Set([topics.odsBinlog, topics.odsEvents]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = Record<string, unknown>;

const startAdsWorker = (part: 'all' | 'dwd' | 'ads' = 'all'): Worker => startWorker('test/warehouse/ads-worker.ts', [namespace, part]);
const values = (topic: string): Promise<Json[]> => dataRecords(kafka, topic);

async function produce(producer: Producer, inputs: readonly Input[]): Promise<void> {
  for (const topic of ['binlog', 'events'] as const) {
    const records = inputs.filter((i) => i.topic === topic).map((i) => i.record);
    for (let i = 0; i < records.length; i += 500) {
      await producer.send({ topic: topic === 'binlog' ? topics.odsBinlog : topics.odsEvents, acks: -1, messages: records.slice(i, i + 500).map((r) => ({ partition: r.partition, key: r.key, value: r.value })) });
    }
  }
}

/**
 * The source stages have read their inputs to the end (committed offsets at the end: the test writes
 * them without transactions). Their watermark markers then precede, in every topic downstream, the
 * records of anything produced later.
 */
async function sourcesRead(admin: Admin, only: (stage: string) => boolean = () => true): Promise<void> {
  for (const stage of job.stages.filter((st) => SOURCES.has(st.input) && only(st.name))) {
    const ends = await admin.fetchTopicOffsets(stage.input);
    const [committed] = await admin.fetchOffsets({ groupId: `rtdw-${stage.name}`, topics: [stage.input] });
    for (const end of ends) {
      const offset = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
      if (Number(end.high) > Math.max(0, Number(offset))) throw new Error(`${stage.name} has not read ${stage.input}/${end.partition} to the end`);
    }
  }
}

async function eventually(check: () => Promise<void>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

const sortRows = (rows: readonly Json[]): string[] => rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))))).sort();

/** The ClickHouse sink and the Redis sink of the pipeline, over this namespace's topics. */
async function startSinks(ch: ClickHouseClient): Promise<{ stop(): Promise<void> }> {
  const sinkLog = createLogger('ads-it-sinks', 'error');
  await migrate(ch, namespace);
  const clickhouse = new ClickHouseSink(kafka, ch, { database: namespace, batchRows: 5000, flushMs: 200, maxRetryDelayMs: 1000 }, warehouseSink(namespace, markedTopics([job])), sinkLog);
  const screens = redisScreens(namespace, [job]);
  const redis = new RedisSinkService(
    kafka,
    new RedisSink({ url: config.redis.url, ttlSeconds: 172_800, alertsMax: 100, retryMaxMs: 1000 }, sinkLog),
    { topics: screens.topics, groupId: `${namespace}-redis-sink`, deadLetterTopic: topics.deadLetter, layout: redisLayout({ namespace, hashTags: false }), recordOf: screens.recordOf, progress: screens.progress },
    sinkLog,
  );
  await clickhouse.start();
  await redis.start();
  return {
    stop: async () => {
      await clickhouse.stop();
      await redis.stop();
    },
  };
}

/** An ADS table read with FINAL, in the JSON of the rows the jobs write (decimals as exact text). */
async function finalRows(ch: ClickHouseClient, table: string): Promise<Json[]> {
  const rs = await ch.query({
    query: `SELECT * EXCEPT (_version, _is_deleted) FROM ${quoteIdentifier(namespace)}.${quoteIdentifier(table)} FINAL WHERE _is_deleted = 0`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0, output_format_json_quote_decimals: 1, output_format_decimal_trailing_zeros: 1 },
  });
  return rs.json<Json>();
}

/** Every figures hash of the namespace in Redis (its bookkeeping and singletons left out), key without the namespace. */
async function screenKeys(redis: Redis): Promise<Record<string, Record<string, string>>> {
  const keys = (await redis.keys(`${namespace}:*`)).filter((k) => !/^[^:]+:(version|latest|watermark|blacklist|alerts)(:|$)/.test(k));
  const out: Record<string, Record<string, string>> = {};
  for (const key of keys.sort()) out[key.slice(namespace.length + 1)] = Object.fromEntries(Object.entries(await redis.hgetall(key)).sort());
  return out;
}

describe('warehouse job on Kafka: every ADS table and screen', () => {
  let admin: Admin;
  let producer: Producer;
  let ch: ClickHouseClient;
  let redis: Redis;
  let sinks: { stop(): Promise<void> } | undefined;
  const workers: Worker[] = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    ch = createClickHouse(config.clickhouse);
    redis = new Redis(config.redis.url, { lazyConnect: true });
    await redis.connect();
    await ensureTopics(admin, [...SOURCES].map((topic) => ({ topic, partitions: PARTITIONS })));
    // The ClickHouse sink also reads pipeline_progress, which rtdw setup creates and no stage writes.
    await ensureTopics(admin, [{ topic: `${namespace}.pipeline_progress`, partitions: 1 }]);
  });

  afterAll(async () => {
    for (const w of workers) await stopWorker(w).catch(() => undefined);
    await sinks?.stop().catch(() => undefined);
    if (ch !== undefined) {
      await ch.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(namespace)}` });
      await ch.close();
    }
    if (redis !== undefined) {
      const keys = await redis.keys(`${namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('equals SQL over the source rows and the deduplicated events, across a kill -9 mid-work', { timeout: 900_000 }, async () => {
    const s = scenario();
    const want = expected(s);
    const first = s.inputs.filter((i) => i.at < SPLIT);
    const second = s.inputs.filter((i) => i.at >= SPLIT);
    // the first rows to come: a minute of clicks is complete once the watermark passes it
    const trendRows = async () => (await values(topics.tables.ads_ad_click_trend_1m)).length;
    const show = (w: Worker) => `worker output:\n${w.output.join('').slice(-4000)}`;

    // the binlog first, so that every task holds the areas before the first event
    await produce(producer, first.filter((i) => i.topic === 'binlog'));
    workers.push(startAdsWorker());
    await eventually(() => sourcesRead(admin, (stage) => stage === `${namespace}.dwd_ad_event.areas`), 180_000);
    await produce(producer, first.filter((i) => i.topic === 'events'));
    // kill -9 once the first ADS rows are committed
    await eventually(async () => {
      if ((await trendRows()) === 0) throw new Error(`no ADS row yet\n${show(workers[0] as Worker)}`);
    }, 180_000);
    await killHard((workers[0] as Worker).child);
    const atKill = await trendRows();
    // The sinks, once the job has created its topics, reading them from the start.
    sinks = await startSinks(ch);
    // restarted as two processes, the DWD stages in one and the ADS stages in the other
    workers.push(startAdsWorker('dwd'), startAdsWorker('ads'));
    // the second phase once the first is read: its late records are then late on every path
    await eventually(() => sourcesRead(admin), 240_000);
    await produce(producer, second);

    for (const table of ADS_TABLES) {
      await eventually(async () => {
        const rows = foldTable(await values(topics.tables[table]), TABLE_KEYS[table]);
        expect(sortRows(rows), table).toEqual(sortRows(want.tables[table] ?? []));
      }, 300_000);
    }
    const hashes = (m: Map<string, Map<string, string>>) => Object.fromEntries([...m].map(([k, h]) => [k, Object.fromEntries([...h].sort())]));
    // the screens' hashes; alert records go to the alerts list
    await eventually(async () => expect(hashes(foldScreens((await values(topics.redis)).filter((r) => r.kind !== 'alert')))).toEqual(hashes(want.screens)));
    // The same figures landed: ClickHouse FINAL, and exactly the model's hashes on Redis.
    for (const table of ADS_TABLES) {
      await eventually(async () => expect(sortRows(await finalRows(ch, table)), `ClickHouse ${table}`).toEqual(sortRows(want.tables[table] ?? [])), 120_000);
    }
    await eventually(async () => expect(await screenKeys(redis), 'Redis').toEqual(hashes(want.screens)), 120_000);
    await Promise.all(workers.slice(1).map(stopWorker));
    await sinks.stop();
    sinks = undefined;
    for (const r of await values(topics.redis)) parseScreenRecord(r);

    // the kill landed mid-work: some rows were committed before it, more after
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(await trendRows());
    expect((await values(topics.lateChanges)).map((l) => l.order_id)).toEqual([s.lateOrder]);
    expect((await values(topics.lateEvents)).map((l) => (l.event as Json).event_id).sort()).toEqual(s.late.map((e) => e.event_id).sort());
    expect((await values(topics.deadLetter)).map((d) => String(d.reason))).toEqual([expect.stringContaining('unknown area_id 99')]);
  });
});

/**
 * The alert stages on Kafka, in a worker process killed -9 once its first alerts are committed and
 * restarted from its checkpoints, over the generator's traffic (alerts-scenario.ts) written to a private
 * namespace. `<ns>.alerts` read back read_committed holds every injected episode's alert, each once
 * (alert ids unique), checked against the model of what the generator injected; its Redis records are
 * ones the Redis sink accepts. The inputs are written all at once and read unevenly over partitions, so
 * an event late within its partition may still count (the combined watermark lags): a bot's alert lies
 * between its blacklisting with and without the late deliveries.
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { dwdTopics } from '../../jobs/dwd/options.js';
import { TimeZone } from '../../jobs/runtime/core/index.js';
import { alertJob } from '../support/alert-job.js';
import { type AlertRow, injected, overlaps, windowOf } from '../support/alerts-model.js';
import { killHard } from '../support/children.js';
import { dataRecords, startWorker, stopWorker, type Worker } from './job-worker.js';
import { generatorTraffic, type GeneratorInput } from '../support/generator-inputs.js';
import { config, uniqueName } from '../support/stack.js';
import { BLACKLIST_CLICKS, GENERATOR, MINUTE, MINUTES, PARTITIONS, START, alertOptions } from './alerts-scenario.js';

const log = createLogger('alerts-it', 'error');
const kafka: Kafka = createKafka(config, 'alerts-it', log);
const namespace = uniqueName('alerts');
const topics = dwdTopics(namespace);
const job = alertJob(alertOptions(namespace));
const UTC = TimeZone.of('UTC');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Episodes this long before the traffic ends are judged: the watermark passes their windows. */
const JUDGED_BEFORE = START + (MINUTES - 5) * MINUTE;

const startAlertWorker = (): Worker => startWorker('test/warehouse/alerts-worker.ts', [namespace]);
const values = (topic: string) => dataRecords(kafka, topic);

async function produce(producer: Producer, inputs: readonly GeneratorInput[]): Promise<void> {
  for (const source of ['binlog', 'events'] as const) {
    const records = inputs.filter((i) => i.source === source);
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send({ topic: source === 'binlog' ? topics.odsBinlog : topics.odsEvents, acks: -1, messages: records.slice(i, i + 1000).map((r) => ({ partition: r.partition, key: r.key, value: r.value })) });
    }
  }
}

async function eventually(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(2000);
    }
  }
}

/** Every stage reading a source topic has committed offsets at its end. */
async function sourcesRead(admin: Admin, only: (stage: string) => boolean): Promise<void> {
  for (const stage of job.stages.filter((st) => (st.input === topics.odsBinlog || st.input === topics.odsEvents) && only(st.name))) {
    const ends = await admin.fetchTopicOffsets(stage.input);
    const [committed] = await admin.fetchOffsets({ groupId: `rtdw-${stage.name}`, topics: [stage.input] });
    for (const end of ends) {
      const offset = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
      if (Number(end.high) > Math.max(0, Number(offset))) throw new Error(`${stage.name} has not read ${stage.input}/${end.partition} to the end`);
    }
  }
}

describe('alert stages on Kafka, across a kill -9', () => {
  const traffic = generatorTraffic(GENERATOR, { binlog: PARTITIONS, events: PARTITIONS });
  const model = injected(traffic, BLACKLIST_CLICKS);
  let admin: Admin;
  let producer: Producer;
  const workers: Worker[] = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    await ensureTopics(admin, [topics.odsBinlog, topics.odsEvents].map((topic) => ({ topic, partitions: PARTITIONS })));
  });

  afterAll(async () => {
    for (const w of workers) await stopWorker(w).catch(() => undefined);
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('alerts every injected episode once', { timeout: 1_500_000 }, async () => {
    const alerts = async () => (await values(`${namespace}.alerts`)) as unknown as AlertRow[];
    const show = (w: Worker) => `worker output:\n${w.output.join('').slice(-4000)}`;
    // the binlog first, so that every task holds the areas before the first event
    await produce(producer, traffic.inputs.filter((i) => i.source === 'binlog'));
    workers.push(startAlertWorker());
    await eventually(() => sourcesRead(admin, (stage) => stage === `${namespace}.dwd_ad_event.areas`), 300_000);
    await produce(producer, traffic.inputs.filter((i) => i.source === 'events'));
    await eventually(async () => {
      if ((await alerts()).length === 0) throw new Error(`no alert yet\n${show(workers[0] as Worker)}`);
    }, 600_000);
    await killHard((workers[0] as Worker).child);
    const atKill = (await alerts()).length;
    workers.push(startAlertWorker());

    const judged = {
      brushers: model.brushers.filter((b) => b.from < JUDGED_BEFORE),
      bursts: model.bursts.filter((b) => b.from < JUDGED_BEFORE),
      bots: model.bots.filter((b) => b.blacklistedAt < JUDGED_BEFORE),
    };
    expect(judged.brushers.length).toBeGreaterThanOrEqual(3);
    expect(judged.bursts.length).toBeGreaterThanOrEqual(2);
    expect(judged.bots.length).toBeGreaterThanOrEqual(3);
    await eventually(async () => {
      const got = await alerts();
      for (const b of judged.brushers) expect(got.filter((a) => a.kind === 'order_brushing' && a.subject === b.user && overlaps(windowOf(a), b)).length, `brusher ${b.user}`).toBe(1);
      for (const b of judged.bursts) expect(got.filter((a) => a.kind === 'payment_failure' && overlaps(windowOf(a), b)).length, `burst at ${b.from}`).toBeGreaterThanOrEqual(1);
      for (const b of judged.bots) {
        const times = got.filter((a) => a.kind === 'click_bot' && a.subject === b.user).map((a) => UTC.parse(a.time));
        expect(times.length, `bot ${b.user}`).toBe(1);
        expect(times[0], `bot ${b.user}`).toBeGreaterThanOrEqual(b.earliest);
        expect(times[0], `bot ${b.user}`).toBeLessThanOrEqual(b.blacklistedAt);
      }
    }, 900_000);
    const got = await alerts();
    await stopWorker(workers[1] as Worker);
    // the kill landed mid-work: alerts were committed before it, more after
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(got.length);
    expect(new Set(got.map((a) => a.alert_id)).size).toBe(got.length);
    const redis = (await values(`${namespace}.ads_redis`)).map((r) => parseScreenRecord(r));
    expect(redis.map((r) => (r.kind === 'alert' ? `${r.alert.kind}:${r.alert.subject}:${r.alert.time}` : r.kind)).sort()).toEqual(got.map((a) => a.alert_id).sort());
    console.log(`alerts on Kafka: ${got.length} (${atKill} committed before the kill -9); false: ${got.filter((a) => a.kind === 'order_brushing' && !model.brushers.some((b) => b.user === a.subject && overlaps(windowOf(a), b))).length} order_brushing, ${got.filter((a) => a.kind === 'payment_failure' && !model.bursts.some((b) => overlaps(windowOf(a), b))).length} payment_failure`);
  });
});

/**
 * The metrics port against the real stack. In process: an observed consumer's lag, read from Kafka at
 * each scrape, equals the records produced past what its group committed (a stalled consumer's lag
 * grows), and its readiness follows the consumer (not ready before it joins and after it stops); the
 * CDC reader is ready while it streams the binlog, not while MySQL cannot be reached. As a
 * process: `rtdw screen` with METRICS_PORT=0 announces its port in its target file, answers /healthz,
 * /readyz (its Redis check) and /metrics, and removes the file when it stops.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { loadCdcOptions } from '../../connectors/mysql-binlog/config.js';
import { CdcService } from '../../connectors/mysql-binlog/service.js';
import { observeConsumer } from '../../connectors/observability/consumer.js';
import { readiness } from '../../connectors/observability/health.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { serveMetrics, type MetricsEndpoint } from '../../connectors/observability/metrics.js';
import { targetsDir, type TargetGroup } from '../../connectors/observability/scrape-targets.js';
import { cdcEnv, startCdc } from '../support/cdc.js';
import { privateEnv, spawnRtdw } from '../support/rtdw-cli.js';
import { config, uniqueName } from '../support/stack.js';

const log = createLogger('metrics-it', 'warn');
const kafka = createKafka(config, 'metrics-it', log);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The value of one series in a Prometheus text exposition, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('an observed consumer on the metrics port', () => {
  const topic = uniqueName('metrics_it');
  const group = uniqueName('metrics_it_group');
  const dataDir = mkdtempSync(join(tmpdir(), 'rtdw-metrics-it-'));
  const admin = kafka.admin();
  const producer = kafka.producer();
  let consumer: Consumer | undefined;
  let endpoint: MetricsEndpoint | undefined;

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    endpoint?.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reports the lag Kafka holds for its group, growing while it commits nothing, and its readiness', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await producer.connect();
    const send = (n: number, from: number) => producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: String(from + i) })) });
    await send(30, 0);
    endpoint = await serveMetrics({ metricsPort: 0, dataDir, pipeline: { namespace: 'metrics_it' } }, 'job');
    if (endpoint === undefined) throw new Error('no endpoint');
    const url = endpoint.url;
    const metrics = async () => (await fetch(`${url}/metrics`)).text();
    const readyz = async () => {
      const res = await fetch(`${url}/readyz`);
      return { status: res.status, checks: ((await res.json()) as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks };
    };
    const lagSeries = `rtdw_kafka_consumer_lag_records{group="${group}",topic="${topic}"}`;

    const c = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    consumer = c;
    const unobserve = observeConsumer(kafka, c, { groupId: group, topics: [topic] });
    const check = `kafka consumer ${group}`;
    expect((await readyz()).checks).toContainEqual({ name: check, ok: false, detail: 'joining' });
    let seen = 0;
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    // Reads everything and commits nothing: a consumer that does not get on, as far as Kafka knows.
    await c.run({ autoCommit: false, eachMessage: async () => void (seen += 1) });
    await waitFor('the consumer to join', async () => ((await readyz()).status === 200 ? true : undefined));
    expect((await readyz()).checks).toContainEqual({ name: check, ok: true, detail: 'running' });
    expect(sample(await metrics(), `rtdw_readiness_check_ok{check="${check}"}`)).toBe(1);
    await waitFor('30 records read', async () => (seen >= 30 ? true : undefined));
    expect(sample(await metrics(), lagSeries)).toBe(30);
    await send(20, 30);
    await waitFor('50 records read', async () => (seen >= 50 ? true : undefined));
    expect(sample(await metrics(), lagSeries)).toBe(50);

    // Committed up to each partition's end: no lag left.
    const ends = await admin.fetchTopicOffsets(topic);
    await c.commitOffsets(ends.map((e) => ({ topic, partition: e.partition, offset: e.high })));
    expect(sample(await metrics(), lagSeries)).toBe(0);

    await c.stop();
    const stopped = await readyz();
    expect(stopped.status).toBe(503);
    expect(stopped.checks).toContainEqual({ name: check, ok: false, detail: 'stopped' });
    await c.disconnect();
    unobserve();
    const after = await metrics();
    expect(sample(after, lagSeries)).toBeUndefined();
    expect(after).not.toContain(check);
  });
});

describe('rtdw screen as a process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rtdw-screen-metrics-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves /healthz, /readyz and /metrics on a free port it announces in its target file, removed at its stop', async () => {
    const env = privateEnv({ RTDW_DATA_DIR: dataDir, METRICS_PORT: '0', RTDW_SCREEN_PORT: '0', RTDW_SCREEN_LAG_POLL_MS: '0', RTDW_NAMESPACE: uniqueName('scr').replace(/^_/, 's'), LOG_LEVEL: 'info' });
    const screen = spawnRtdw(['screen'], env, join(dataDir, 'screen.log'));
    try {
      const dir = targetsDir(dataDir);
      const file = await waitFor('the target file', async () => (existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(`screen-${screen.child.pid}-`) && f.endsWith('.json')) : undefined));
      const [group] = JSON.parse(readFileSync(join(dir, file), 'utf8')) as TargetGroup[];
      expect(group?.labels).toMatchObject({ process: 'screen', namespace: env.RTDW_NAMESPACE });
      const base = `http://${group?.targets[0] ?? ''}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await waitFor('readiness', async () => {
        const res = await fetch(`${base}/readyz`);
        return res.status === 200 ? ((await res.json()) as { checks: Array<{ name: string; ok: boolean }> }) : undefined;
      });
      expect(ready.checks).toEqual([{ name: 'redis', ok: true, detail: 'connected' }]);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(sample(text, 'rtdw_readiness_check_ok{check="redis"}')).toBe(1);
      expect(text).toMatch(/^rtdw_process_cpu_seconds_total /m);
      screen.child.kill('SIGTERM');
      expect((await screen.exited).code).toBe(0);
      expect(existsSync(join(dir, file))).toBe(false);
    } finally {
      if (screen.child.exitCode === null) screen.child.kill('SIGKILL');
    }
  });
});

describe('the CDC reader\'s readiness', () => {
  const check = async () => (await readiness()).checks.find((c) => c.name === 'cdc binlog reader');

  it('is ready once it streams the binlog, and has no check after its stop', async () => {
    const cdc = startCdc(cdcEnv(uniqueName('ready_none').replace(/^_/, 'r')));
    try {
      await cdc.streaming;
      expect(await check()).toEqual({ name: 'cdc binlog reader', ok: true, detail: 'streaming' });
    } finally {
      await cdc.stop();
    }
    expect(await check()).toBeUndefined();
  });

  it('is not ready while MySQL cannot be reached: restarting, retried with backoff', async () => {
    const env = cdcEnv(uniqueName('ready_down').replace(/^_/, 'r'));
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const unreachable = { ...config, mysql: { ...config.mysql, port: 1 } };
    const service = new CdcService(unreachable, loadCdcOptions(config.mysql.database, env), kafka, log);
    const running = service.run();
    try {
      const seen = await waitFor('the failed start', async () => {
        const c = await check();
        return c?.detail === 'restarting' ? c : undefined;
      });
      expect(seen.ok).toBe(false);
      expect((await readiness()).ready).toBe(false);
    } finally {
      service.stop();
      await running;
    }
  });
});

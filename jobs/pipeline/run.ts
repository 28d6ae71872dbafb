/**
 * `rtdw run`: the pipeline's parts in one process until SIGINT/SIGTERM, then a clean stop (open
 * transactions committed, read rows flushed) and exit 0. `--jobs` picks parts so processes can be
 * spread and scaled; `--progress` draws the live view on the terminal.
 */
import type { RtdwConfig } from '../../schemas/config.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { createClickHouse } from '../../connectors/clickhouse/client.js';
import { clickHouseOptions } from '../../connectors/clickhouse/config.js';
import { createLogger, type Logger } from '../../connectors/observability/logger.js';
import { serveMetrics } from '../../connectors/observability/metrics.js';
import { REDIS_SINK_TOPICS, SINK_TABLE_TOPICS, topicName } from '../../schemas/topics.js';
import { loadRedisSinkOptions } from '../../connectors/redis/config.js';
import { createPart, pipelineJobs, type PartName, type PipelinePart } from './parts.js';
import { OutageTracker, waitUntilReachable, type DependencyName } from '../../connectors/observability/outage.js';
import { probeClickHouse, probeKafka, probeMysql, probeRedis } from '../../connectors/observability/probes.js';
import { ProgressCollector, renderProgress, type WatchedStage } from './progress.js';

/** A stop that takes longer ends like a crash: every part resumes from what it committed. */
const STOP_TIMEOUT_MS = 45_000;

export interface RunOptions {
  parts: PartName[];
  /** draw the progress view every this many ms (undefined: no view) */
  progressEveryMs?: number;
  /** resolves when the run should stop (default: SIGINT or SIGTERM) */
  stopSignal?: Promise<unknown>;
  /** lines drawn under the progress view (where the screen and the metrics are served) */
  banner?: () => string[];
}

function signalled(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        setTimeout(() => {
          log.error({ timeoutMs: STOP_TIMEOUT_MS }, 'stop did not finish in time; exiting, every part resumes from its last commit');
          process.exit(1);
        }, STOP_TIMEOUT_MS).unref();
        resolve(signal);
      });
    }
  });
}

/** The services a part needs in order to start (once running, each part rides out outages on its own). */
const STARTS_WITH: Record<PartName, DependencyName[]> = {
  cdc: ['mysql', 'kafka'],
  ods: ['kafka', 'clickhouse'],
  dwd: ['kafka'],
  ads: ['kafka'],
  clickhouse: ['kafka', 'clickhouse'],
  redis: ['kafka', 'redis'],
  // It connects per run, and a run that cannot reach a service reports it (exit 2 in the report).
  reconcile: [],
};

function probe(service: DependencyName, config: RtdwConfig): Promise<void> {
  switch (service) {
    case 'mysql':
      return probeMysql({ host: config.mysql.host, port: config.mysql.port, user: config.mysql.user, password: config.mysql.password });
    case 'kafka':
      return probeKafka(config.kafka.brokers, config.kafka.clientId);
    case 'clickhouse':
      return probeClickHouse(config.clickhouse);
    case 'redis':
      return probeRedis(config.redis.url);
  }
}

/**
 * Starts a part; when that fails because a service it needs is away (a process restarted during an
 * outage), the outage is logged, the services are probed until they answer, and a fresh part starts.
 * A failure while every service answers is a real one: thrown.
 */
async function startWhenReachable(first: PipelinePart, config: RtdwConfig, log: Logger, stopping: () => boolean): Promise<PipelinePart> {
  let part = first;
  const trackers = new Map<DependencyName, OutageTracker>();
  for (;;) {
    try {
      await part.start();
      for (const t of trackers.values()) t.recovered();
      return part;
    } catch (err) {
      const needs = STARTS_WITH[part.name];
      const answers = await Promise.allSettled(needs.map((s) => probe(s, config)));
      const away = needs.filter((_, i) => answers[i]?.status === 'rejected');
      if (away.length === 0 || stopping()) throw err;
      await part.stop().catch(() => undefined);
      for (const service of away) {
        let tracker = trackers.get(service);
        if (tracker === undefined) trackers.set(service, (tracker = new OutageTracker(`${part.name}-start`, service, log)));
        tracker.failed(err, { while: `starting part ${part.name}` });
      }
      await Promise.all(away.map((service) => waitUntilReachable(() => probe(service, config), { stopped: stopping, onFailure: (e) => trackers.get(service)?.failed(e) })));
      if (stopping()) throw err;
      part = createPart(part.name, config, log);
    }
  }
}

/** What the progress view watches: every consumer group of the pipeline with its input topics. */
export function watchedStages(config: RtdwConfig): WatchedStage[] {
  const ns = config.pipeline.namespace;
  const stages: WatchedStage[] = [{ label: 'ods mirror → clickhouse', groupId: `${ns}-ods-mirror`, topics: [topicName(ns, 'ods_binlog')] }];
  for (const job of pipelineJobs(config)) {
    for (const stage of job.stages) stages.push({ label: stage.name.slice(ns.length + 1), groupId: `rtdw-${stage.name}`, topics: [stage.input] });
  }
  const sinkTopics = SINK_TABLE_TOPICS.filter((t) => t !== 'pipeline_progress').map((t) => topicName(ns, t));
  stages.push({ label: 'dwd, ads → clickhouse', groupId: `${ns}-clickhouse-sink`, topics: sinkTopics });
  stages.push({ label: 'screens → redis', groupId: loadRedisSinkOptions(ns).groupId, topics: REDIS_SINK_TOPICS.map((t) => topicName(ns, t)) });
  return stages;
}

export async function runPipeline(config: RtdwConfig, options: RunOptions): Promise<void> {
  const log = createLogger('run', config.logLevel);
  const stop = options.stopSignal ?? signalled(log);
  let stopping = false;
  void stop.then(() => {
    stopping = true;
  });
  const stopRequested = (): boolean => stopping;
  const metrics = await serveMetrics(config, 'run');
  const parts: PipelinePart[] = options.parts.map((name) => createPart(name, config, log));
  let view: NodeJS.Timeout | undefined;
  const admin = createKafka(config, 'progress', log).admin();
  const clickhouse = createClickHouse({ ...clickHouseOptions(config) });
  try {
    // The view first: it reads Kafka and ClickHouse only, so it shows the parts catching up as they start.
    if (options.progressEveryMs !== undefined) {
      await admin.connect();
      const collector = new ProgressCollector(admin, clickhouse, config.clickhouse.database, watchedStages(config));
      let drawing = false;
      view = setInterval(() => {
        if (drawing) return;
        drawing = true;
        void collector
          .sample()
          .then((snapshot) => process.stdout.write(`\u001b[2J\u001b[H${renderProgress(snapshot)}\n\n${[...(options.banner?.() ?? []), 'Ctrl-C stops the pipeline cleanly.'].join('\n')}\n`))
          .finally(() => {
            drawing = false;
          });
      }, options.progressEveryMs);
    }
    const started = await Promise.allSettled(parts.map(async (part, i) => {
      parts[i] = await startWhenReachable(part, config, log, stopRequested);
      log.info({ part: part.name }, 'part running');
    }));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const signal = await stop;
    log.info({ signal }, 'stopping: committing what every part holds');
  } finally {
    if (view !== undefined) clearInterval(view);
    // Sources first, so the parts behind them stop with less in flight; each commits on its own.
    for (const part of parts) await part.stop().catch((err: unknown) => log.error({ part: part.name, err: (err as Error).message }, 'part did not stop cleanly'));
    await admin.disconnect().catch(() => undefined);
    await clickhouse.close();
    metrics?.close();
  }
  log.info('pipeline stopped');
}

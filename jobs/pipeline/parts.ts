/**
 * The parts of a pipeline that `rtdw run` starts, each by name so `--jobs a,b` can spread them over
 * processes (N processes running the same part share its Kafka partitions):
 *
 *   cdc          binlog → <ns>.ods_binlog (Canal flat messages)
 *   ods          <ns>.ods_binlog → ClickHouse ods_<table> (the mirror)
 *   dwd          the DWD stages of the warehouse job: <ns>.ods_binlog + <ns>.ods_events → DWD topics
 *   ads          its ADS stages: DWD topics → <ns>.ads_<table>, <ns>.ads_redis
 *   clickhouse   DWD and ADS topics → ClickHouse dwd_*, dim_blacklist, ads_*, pipeline_progress
 *   redis        <ns>.ads_redis, <ns>.dim_blacklist → Redis screens, <ns>:blacklist, <ns>:watermark
 *
 * Every part commits its own progress in Kafka, so parts stop and fail independently. The dwd and
 * ads parts are stages of one job (jobs/warehouse.ts), so watermarks flow from one into the other
 * whichever processes run them.
 */
import type { RtdwConfig } from '../../schemas/config.js';
import type { Logger } from '../../connectors/observability/logger.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { loadCdcOptions } from '../../connectors/mysql-binlog/config.js';
import { createClickHouse, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { clickHouseOptions } from '../../connectors/clickhouse/config.js';
import { ClickHouseSink } from '../../connectors/clickhouse/sink.js';
import { odsMirrorFor } from '../ods/mirror.js';
import { warehouseSinkFor, type MarkedTopic } from '../warehouse-sink.js';
import { JobRunner, type JobSpec } from '../runtime/job.js';
import { dwdStageNames, warehouseJob } from '../warehouse.js';
import type { DwdJobOptions } from '../dwd/options.js';
import { redisScreens } from '../redis-screens.js';
import { watermarkWriters } from './watermark-writers.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { loadRedisSinkOptions } from '../../connectors/redis/config.js';
import { RedisSink } from '../../connectors/redis/sink.js';
import { RedisSinkService } from '../../connectors/redis/service.js';

export const PART_NAMES = ['cdc', 'ods', 'dwd', 'ads', 'clickhouse', 'redis'] as const;
export type PartName = (typeof PART_NAMES)[number];

export interface PipelinePart {
  readonly name: PartName;
  start(): Promise<void>;
  /** Commits what it holds (open transactions, read rows) and leaves its groups. */
  stop(): Promise<void>;
}

export function dwdOptions(config: RtdwConfig): DwdJobOptions {
  const p = config.pipeline;
  return {
    namespace: p.namespace,
    timeZone: p.timezone,
    outOfOrdernessMs: p.outOfOrdernessMs,
    idleTimeoutMs: p.idleTimeoutMs,
    stateRetentionMs: p.stateRetentionMs,
    allowedLatenessMs: p.allowedLatenessMs,
    blacklistClicks: p.blacklistClicks,
    sourceDatabase: config.mysql.database,
    alerts: p.alerts,
  };
}

/** The stream jobs of the pipeline, in data-flow order. */
export function pipelineJobs(config: RtdwConfig): JobSpec[] {
  return [warehouseJob(dwdOptions(config))];
}

/** The jobs' output topics that carry watermark markers, with every task writing them (one job per topic in pipeline_progress). */
export function markedTopics(jobs: readonly JobSpec[]): Map<string, MarkedTopic> {
  const marked = new Map<string, MarkedTopic>();
  for (const w of watermarkWriters(jobs)) {
    const entry = marked.get(w.topic) ?? { job: w.topic.slice(w.topic.indexOf('.') + 1), partitions: w.partitions, producers: [] };
    marked.set(w.topic, { ...entry, producers: [...entry.producers, ...w.producers] });
  }
  return marked;
}

class CdcPart implements PipelinePart {
  readonly name = 'cdc';
  private running: Promise<void> | undefined;
  private stopService: (() => void) | undefined;

  constructor(private readonly config: RtdwConfig, private readonly log: Logger) {}

  async start(): Promise<void> {
    const { CdcService } = await import('../../connectors/mysql-binlog/service.js');
    const options = loadCdcOptions(this.config.mysql.database);
    const service = new CdcService(this.config, options, createKafka(this.config, 'cdc', this.log), this.log);
    this.stopService = () => service.stop();
    // The service retries on its own with backoff; a rejection here is a configuration problem (preflight).
    this.running = service.run();
    this.running.catch((err: unknown) => this.log.fatal({ err: (err as Error).message }, 'cdc stopped: it cannot run with this configuration'));
    await Promise.race([service.streaming, this.running]);
  }

  async stop(): Promise<void> {
    this.stopService?.();
    await this.running?.catch(() => undefined);
  }
}

class SinkPart implements PipelinePart {
  private sink: ClickHouseSink | undefined;
  private client: ClickHouseClient | undefined;

  constructor(readonly name: 'ods' | 'clickhouse', private readonly config: RtdwConfig, private readonly log: Logger) {}

  async start(): Promise<void> {
    const options = clickHouseOptions(this.config);
    this.client = createClickHouse(options);
    const spec = this.name === 'ods' ? odsMirrorFor(this.config) : warehouseSinkFor(this.config, markedTopics(pipelineJobs(this.config)));
    this.sink = new ClickHouseSink(createKafka(this.config, `sink-${spec.name}`, this.log), this.client, options, spec, this.log);
    await this.sink.start();
  }

  async stop(): Promise<void> {
    await this.sink?.stop();
    await this.client?.close();
  }
}

/** The DWD or the ADS stages of the warehouse job. */
class JobsPart implements PipelinePart {
  private readonly runners: JobRunner[] = [];

  constructor(readonly name: 'dwd' | 'ads', private readonly config: RtdwConfig, private readonly log: Logger) {}

  async start(): Promise<void> {
    const kafka = createKafka(this.config, `jobs-${this.name}`, this.log);
    const dwd = dwdStageNames(dwdOptions(this.config));
    const only = this.name === 'dwd' ? (stage: string) => dwd.has(stage) : (stage: string) => !dwd.has(stage);
    for (const job of pipelineJobs(this.config)) this.runners.push(new JobRunner(kafka, job, this.log, { only }));
    await Promise.all(this.runners.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }
}

/** The Redis sink over the screens' records and the blacklist (jobs/redis-screens.ts). */
class RedisPart implements PipelinePart {
  readonly name = 'redis';
  private service: RedisSinkService | undefined;

  constructor(private readonly config: RtdwConfig, private readonly log: Logger) {}

  async start(): Promise<void> {
    const namespace = this.config.pipeline.namespace;
    const options = loadRedisSinkOptions(namespace);
    const screens = redisScreens(namespace, pipelineJobs(this.config));
    const sink = new RedisSink({ url: this.config.redis.url, clusterNodes: options.clusterNodes, ttlSeconds: options.ttlSeconds, alertsMax: options.alertsMax, retryMaxMs: options.retryMaxMs }, this.log);
    const layout = redisLayout({ namespace, hashTags: options.hashTags });
    this.service = new RedisSinkService(createKafka(this.config, 'redis-sink', this.log), sink, { ...options, topics: screens.topics, layout, recordOf: screens.recordOf, progress: screens.progress }, this.log);
    await this.service.start();
  }

  async stop(): Promise<void> {
    await this.service?.stop();
  }
}

export function createPart(name: PartName, config: RtdwConfig, log: Logger): PipelinePart {
  switch (name) {
    case 'cdc':
      return new CdcPart(config, log);
    case 'ods':
    case 'clickhouse':
      return new SinkPart(name, config, log);
    case 'dwd':
    case 'ads':
      return new JobsPart(name, config, log);
    case 'redis':
      return new RedisPart(config, log);
  }
}

export function parsePartNames(list: string | undefined): PartName[] {
  if (list === undefined || list.trim() === '') return [...PART_NAMES];
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = names.filter((n) => !(PART_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown part(s) ${unknown.join(', ')}; the parts are ${PART_NAMES.join(', ')}`);
  return [...new Set(names)] as PartName[];
}

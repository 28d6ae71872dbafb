/**
 * The parts of a pipeline that `rtdw run` starts, each by name so `--jobs a,b` can spread them over
 * processes (N processes running the same part share its Kafka partitions):
 *
 *   cdc          binlog → <ns>.ods_binlog (Canal flat messages)
 *   ods          <ns>.ods_binlog → ClickHouse ods_<table> (the mirror)
 *   dwd          the stream jobs: <ns>.ods_binlog + <ns>.ods_events → DWD topics
 *   clickhouse   DWD topics → ClickHouse dwd_order_wide, dwd_ad_event, dim_blacklist, pipeline_progress
 *   redis        <ns>.ads_redis, <ns>.dim_blacklist → Redis screens
 *
 * Every part commits its own progress in Kafka, so parts stop and fail independently.
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
import { producerId } from '../runtime/stage.js';
import { JobRunner, type JobSpec } from '../runtime/job.js';
import { orderWideJob } from '../dwd/order-wide.js';
import { adEventJob } from '../dwd/ad-event.js';
import type { DwdJobOptions } from '../dwd/options.js';

export const PART_NAMES = ['cdc', 'ods', 'dwd', 'clickhouse'] as const;
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
  const options = dwdOptions(config);
  return [orderWideJob(options), adEventJob(options)];
}

/**
 * The jobs' output topics that carry watermark markers, with the tasks writing them: the tasks of a
 * stage are one per partition of its input, whose count the job declares where it writes that input.
 */
export function markedTopics(jobs: readonly JobSpec[]): Map<string, MarkedTopic> {
  const marked = new Map<string, MarkedTopic>();
  for (const job of jobs) {
    const declared = new Map(job.stages.flatMap((s) => s.outputs).map((o) => [o.topic, o.partitions]));
    for (const stage of job.stages) {
      const tasks = declared.get(stage.input);
      for (const output of stage.outputs) {
        if (output.forwardWatermarks !== true || tasks === undefined) continue;
        const entry = marked.get(output.topic) ?? { job: output.topic.slice(output.topic.indexOf('.') + 1), partitions: output.partitions, producers: [] };
        marked.set(output.topic, { ...entry, producers: [...entry.producers, ...Array.from({ length: tasks }, (_, p) => producerId(stage.name, p))] });
      }
    }
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

class JobsPart implements PipelinePart {
  readonly name = 'dwd';
  private readonly runners: JobRunner[] = [];

  constructor(private readonly config: RtdwConfig, private readonly log: Logger) {}

  async start(): Promise<void> {
    const kafka = createKafka(this.config, 'jobs', this.log);
    for (const job of pipelineJobs(this.config)) this.runners.push(new JobRunner(kafka, job, this.log));
    await Promise.all(this.runners.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
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
      return new JobsPart(config, log);
  }
}

export function parsePartNames(list: string | undefined): PartName[] {
  if (list === undefined || list.trim() === '') return [...PART_NAMES];
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = names.filter((n) => !(PART_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown part(s) ${unknown.join(', ')}; the parts are ${PART_NAMES.join(', ')}`);
  return [...new Set(names)] as PartName[];
}

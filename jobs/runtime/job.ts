/**
 * A job: stages connected by Kafka topics. A stage whose key differs from its input's writes an
 * internal topic keyed by the next key (repartitioning) and forwards its watermark into it; the
 * stage reading that topic combines the watermarks of every task of every stage feeding it.
 * A worker process runs all stages, or those its runner selects; each stage is its own consumer
 * group, so N processes share each stage's partitions and Kafka moves them (with their state) when one dies.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../connectors/observability/logger.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { producerId, type StageOutput, type StageSpec } from './stage.js';
import { StageWorker, type WorkerOptions } from './worker.js';

export interface JobSpec {
  name: string;
  /** In data-flow order: a stage's internal outputs are created before the stages reading them start. */
  stages: StageSpec[];
}

/** Per stage, the watermark producers ("<stage>/<partition>") of the stages forwarding into its input. */
export async function resolveUpstream(kafka: Kafka, job: JobSpec): Promise<Map<string, string[]>> {
  const names = new Set<string>();
  for (const stage of job.stages) {
    if (names.has(stage.name)) throw new Error(`job ${job.name}: two stages are named ${stage.name}`);
    names.add(stage.name);
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const outputs = new Map<string, StageOutput>();
    for (const output of job.stages.flatMap((s) => s.outputs)) {
      const seen = outputs.get(output.topic);
      if (seen !== undefined && seen.partitions !== output.partitions) throw new Error(`job ${job.name}: stages write ${output.topic} with ${seen.partitions} and ${output.partitions} partitions`);
      outputs.set(output.topic, output);
    }
    await ensureTopics(admin, [...outputs.values()]);
    const inputs = [...new Set(job.stages.map((s) => s.input))];
    const meta = await admin.fetchTopicMetadata({ topics: inputs });
    const partitions = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const upstream = new Map<string, string[]>();
    for (const stage of job.stages) {
      const producers: string[] = [];
      for (const feeder of job.stages) {
        if (!feeder.outputs.some((o) => o.forwardWatermarks === true && o.topic === stage.input)) continue;
        const tasks = partitions.get(feeder.input) ?? 0;
        if (tasks === 0) throw new Error(`job ${job.name}: input topic ${feeder.input} of stage ${feeder.name} does not exist`);
        for (let p = 0; p < tasks; p++) producers.push(producerId(feeder.name, p));
      }
      upstream.set(stage.name, producers);
    }
    return upstream;
  } finally {
    await admin.disconnect();
  }
}

export interface JobRunnerOptions extends Omit<WorkerOptions, 'upstream'> {
  /**
   * Runs only the stages it accepts, so that a job's stages can be spread over processes; upstream
   * watermarks are still resolved over the whole job. Default: every stage.
   */
  only?: (stage: string) => boolean;
}

export class JobRunner {
  private readonly workers: StageWorker[] = [];
  private readonly stages: StageSpec[];

  constructor(private readonly kafka: Kafka, private readonly job: JobSpec, private readonly log: Logger, private readonly options: JobRunnerOptions = {}) {
    const { only } = options;
    this.stages = only === undefined ? job.stages : job.stages.filter((s) => only(s.name));
    if (this.stages.length === 0) throw new Error(`job ${job.name}: no stage selected (stages: ${job.stages.map((s) => s.name).join(', ')})`);
  }

  async start(): Promise<void> {
    const upstream = await resolveUpstream(this.kafka, this.job);
    const { only: _only, ...workerOptions } = this.options;
    for (const stage of this.stages) this.workers.push(new StageWorker(this.kafka, stage, this.log, { ...workerOptions, upstream: upstream.get(stage.name) ?? [] }));
    // Side by side: a start waits for its group's rebalance, which a killed member of an earlier run
    // holds up for the session timeout, once per stage if they started one after another.
    const started = await Promise.allSettled(
      this.workers.map(async (worker, i) => {
        const stage = this.stages[i] as StageSpec;
        await worker.start();
        this.log.info({ job: this.job.name, stage: stage.name, input: stage.input, upstreamTasks: upstream.get(stage.name)?.length ?? 0 }, 'stage running');
      }),
    );
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined) {
      await this.stop().catch(() => undefined);
      throw failure.reason;
    }
  }

  /** Stops every stage, each committing its open checkpoints (each is exactly-once on its own, so in any order). */
  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker, i) => {
        await worker.stop();
        this.log.info({ job: this.job.name, stage: this.stages[i]?.name }, 'stage stopped');
      }),
    );
  }
}

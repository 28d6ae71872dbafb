/** Process wiring of a job: its stage workers, metrics, signals. */
import type { RtdwConfig } from '../schemas/config.js';
import { createKafka } from '../connectors/kafka/client.js';
import { createLogger } from '../connectors/observability/logger.js';
import { serveMetrics } from '../connectors/observability/metrics.js';
import { JobRunner, type JobSpec } from './runtime/job.js';

export async function runJob(config: RtdwConfig, job: JobSpec): Promise<void> {
  const log = createLogger(`job-${job.name}`, config.logLevel);
  const metrics = config.metricsPort === undefined ? undefined : await serveMetrics(config.metricsPort);
  const runner = new JobRunner(createKafka(config, `job-${job.name}`, log), job, log);
  await runner.start();
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  log.info('stopping: committing open checkpoints');
  await runner.stop();
  metrics?.close();
}

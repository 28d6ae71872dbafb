/** Process wiring of `rtdw jobs run`: one stage worker, metrics, signals. */
import type { RtdwConfig } from '../schemas/config.js';
import { createKafka } from '../connectors/kafka/client.js';
import { createLogger } from '../connectors/observability/logger.js';
import { serveMetrics } from '../connectors/observability/metrics.js';
import type { StageSpec } from './runtime/stage.js';
import { StageWorker } from './runtime/worker.js';

export async function runStage(config: RtdwConfig, spec: StageSpec): Promise<void> {
  const log = createLogger(`job-${spec.name}`, config.logLevel);
  const metrics = config.metricsPort === undefined ? undefined : await serveMetrics(config.metricsPort);
  const worker = new StageWorker(createKafka(config, `job-${spec.name}`, log), spec, log);
  await worker.start();
  log.info({ stage: spec.name, input: spec.input }, 'stage running');
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  log.info('stopping: committing open checkpoints');
  await worker.stop();
  metrics?.close();
}

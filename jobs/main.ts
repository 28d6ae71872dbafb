/** Process wiring of a job: its stage workers, metrics, signals. */
import type { RtdwConfig } from '../schemas/config.js';
import { createKafka } from '../connectors/kafka/client.js';
import { createLogger } from '../connectors/observability/logger.js';
import { serveMetrics } from '../connectors/observability/metrics.js';
import { JobRunner, type JobSpec } from './runtime/job.js';

/** A graceful stop that takes longer ends like a crash: uncommitted work is redone by the next run, so nothing is lost. */
const STOP_TIMEOUT_MS = 30_000;

export async function runJob(config: RtdwConfig, job: JobSpec): Promise<void> {
  const log = createLogger(`job-${job.name}`, config.logLevel);
  // Listening before the start, so a signal during the start stops the job once it has started;
  // the stop's time limit runs from the signal, so even a start that hangs ends.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        setTimeout(() => {
          log.error({ timeoutMs: STOP_TIMEOUT_MS }, 'stop did not finish in time; exiting, the next run resumes from the last checkpoint');
          process.exit(1);
        }, STOP_TIMEOUT_MS).unref();
        resolve(signal);
      });
    }
  });
  const metrics = await serveMetrics(config, 'job');
  const runner = new JobRunner(createKafka(config, `job-${job.name}`, log), job, log);
  await runner.start();
  const signal = await stopRequested;
  log.info({ signal }, 'stopping: committing open checkpoints');
  await runner.stop();
  metrics?.close();
}

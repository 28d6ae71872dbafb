/** Child-process entry of the alerts integration test: runs the alert job of namespace argv[2] until SIGTERM (or a kill -9). */
import { createKafka } from '../../connectors/kafka/client.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { JobRunner } from '../../jobs/runtime/job.js';
import { loadConfig } from '../../schemas/config.js';
import { alertJob } from '../support/alert-job.js';
import { alertOptions } from './alerts-scenario.js';

const [namespace] = process.argv.slice(2);
if (namespace === undefined) throw new Error('usage: alerts-worker <namespace>');
const config = loadConfig();
const log = createLogger('alerts-worker', config.logLevel);
const runner = new JobRunner(createKafka(config, 'alerts-worker', log), alertJob(alertOptions(namespace)), log);
const stop = new Promise<void>((resolve) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
});
await runner.start();
await stop;
await runner.stop();
process.exit(0);

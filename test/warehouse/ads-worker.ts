/**
 * Child-process entry of the ADS integration test: runs the warehouse job of namespace argv[2], all of
 * its stages or (argv[3]) only its DWD or only its ADS stages, until SIGTERM (or a kill -9).
 */
import { createKafka } from '../../connectors/kafka/client.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { JobRunner } from '../../jobs/runtime/job.js';
import { warehouseJob } from '../../jobs/warehouse.js';
import { loadConfig } from '../../schemas/config.js';
import { warehouseOptions } from './ads-scenario.js';

const [namespace, part = 'all'] = process.argv.slice(2);
if (namespace === undefined || !['all', 'dwd', 'ads'].includes(part)) throw new Error('usage: ads-worker <namespace> [all|dwd|ads]');
const config = loadConfig();
const log = createLogger(`ads-worker-${part}`, config.logLevel);
const job = warehouseJob(warehouseOptions(namespace));
const isDwd = (stage: string): boolean => stage.startsWith(`${namespace}.dwd_`);
const runner = new JobRunner(createKafka(config, `ads-worker-${part}`, log), job, log, part === 'all' ? {} : { only: (stage) => isDwd(stage) === (part === 'dwd') });
const stop = new Promise<void>((resolve) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
});
await runner.start();
await stop;
await runner.stop();
process.exit(0);

/** Child-process entry of the multi-stage tests: runs graphJob until SIGTERM (or a kill -9). */
import { loadConfig } from '../../schemas/config.js';
import { runJob } from '../../jobs/main.js';
import { graphJob, TIMING } from './graph-job.js';

const [name, orders, payments] = process.argv.slice(2);
if (name === undefined || orders === undefined || payments === undefined) throw new Error('usage: run-graph-job <name> <orders topic> <payments topic>');
await runJob(loadConfig(), graphJob({ name, orders, payments, ...TIMING }));

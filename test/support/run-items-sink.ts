/** Child-process entry of the sink's kill test: runs the items sink (test/warehouse/items.ts) until SIGTERM or kill -9. */
import { loadConfig } from '../../schemas/config.js';
import { runSink } from '../../connectors/clickhouse/main.js';
import { itemsSink } from '../warehouse/items.js';

const [namespace, name, topic, table] = process.argv.slice(2);
if (namespace === undefined || name === undefined || topic === undefined || table === undefined) throw new Error('usage: run-items-sink <namespace> <name> <topic> <table>');
await runSink(loadConfig(), itemsSink(namespace, name, topic, table));

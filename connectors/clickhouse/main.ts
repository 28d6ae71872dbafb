/** Process wiring of a Kafka → ClickHouse sink: config, logger, metrics endpoint, signals. */
import type { RtdwConfig } from '../../schemas/config.js';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../observability/logger.js';
import { serveMetrics } from '../observability/metrics.js';
import { createClickHouse } from './client.js';
import { clickHouseOptions } from './config.js';
import { ClickHouseSink, type SinkSpec } from './sink.js';

/** Runs `spec` until SIGINT/SIGTERM, then flushes what was read and commits it (up to 30 s). */
export async function runSink(config: RtdwConfig, spec: SinkSpec): Promise<void> {
  const log = createLogger(`sink-${spec.name}`, config.logLevel);
  const options = clickHouseOptions(config);
  const client = createClickHouse(options);
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
  const metrics = await serveMetrics(config, 'clickhouse-sink');
  const sink = new ClickHouseSink(createKafka(config, `sink-${spec.name}`, log), client, options, spec, log);
  try {
    await sink.start();
    const signal = await stopRequested;
    log.info({ signal }, 'stopping: flushing what was read');
    await sink.stop();
  } finally {
    await client.close();
    metrics?.close();
  }
}

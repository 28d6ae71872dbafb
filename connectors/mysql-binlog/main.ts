/** Process wiring of `rtdw cdc`: config, logger, metrics endpoint, signals. */
import type { RtdwConfig } from '../../schemas/config.js';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../observability/logger.js';
import { serveMetrics } from '../observability/metrics.js';
import { loadCdcOptions } from './config.js';
import { PositionStore, type StoredPosition } from './position-store.js';
import { PublisherThread } from './publisher-thread.js';

export async function runCdc(config: RtdwConfig): Promise<void> {
  const options = loadCdcOptions(config.mysql.database);
  // The publisher thread loads its Kafka client while this thread loads the service's modules.
  const publisher = new PublisherThread();
  const log = createLogger('cdc', config.logLevel);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let service: import('./service.js').CdcService;
  try {
    const { CdcService } = await import('./service.js');
    metrics = config.metricsPort === undefined ? undefined : await serveMetrics(config.metricsPort);
    service = new CdcService(config, options, createKafka(config, 'cdc', log), log, publisher);
  } catch (err) {
    await publisher.terminate();
    throw err;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping after the current batch');
      service.stop();
    });
  }
  log.info({ name: options.name, serverId: options.serverId, topic: options.dynamicTopic || options.topic, filter: options.filterRegex }, 'cdc starting');
  try {
    await service.run();
  } finally {
    // An open metrics server would keep the process alive after SIGTERM.
    metrics?.close();
  }
  log.info('cdc stopped');
}

function store(config: RtdwConfig): PositionStore {
  const options = loadCdcOptions(config.mysql.database);
  const log = createLogger('cdc', config.logLevel);
  return new PositionStore(createKafka(config, 'cdc-admin', log), options.positionsTopic, options.name);
}

export async function showPosition(config: RtdwConfig): Promise<StoredPosition | undefined> {
  const s = store(config);
  await s.ensureTopic();
  return s.load();
}

export async function resetPosition(config: RtdwConfig): Promise<void> {
  const s = store(config);
  await s.ensureTopic();
  await s.clear();
}

/** Process wiring of `rtdw redis-sink`: config, logger, metrics endpoint, signals. */
import type { RtdwConfig } from '../../schemas/config.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../observability/logger.js';
import { serveMetrics } from '../observability/metrics.js';
import { loadRedisSinkOptions } from './config.js';
import { RedisSinkService } from './service.js';
import { RedisSink } from './sink.js';

export async function runRedisSink(config: RtdwConfig, namespace: string): Promise<void> {
  const options = loadRedisSinkOptions(namespace);
  const log = createLogger('redis-sink', config.logLevel);
  const sink = new RedisSink({ url: config.redis.url, clusterNodes: options.clusterNodes, ttlSeconds: options.ttlSeconds, alertsMax: options.alertsMax, retryMaxMs: options.retryMaxMs }, log);
  const layout = redisLayout({ namespace, hashTags: options.hashTags });
  const service = new RedisSinkService(createKafka(config, 'redis-sink', log), sink, { ...options, layout }, log);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  try {
    metrics = await serveMetrics(config, 'redis-sink');
    await service.start();
    log.info({ namespace, hashTags: options.hashTags, cluster: options.clusterNodes !== undefined, ttlSeconds: options.ttlSeconds }, 'redis sink started');
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          log.info({ signal }, 'stopping after the batches in flight');
          resolve();
        });
      }
    });
  } finally {
    // Also after a failed start: an open Redis connection or metrics server would keep the process alive.
    await service.stop();
    metrics?.close();
  }
  log.info('redis sink stopped');
}

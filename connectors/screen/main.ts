/** Process wiring of `rtdw screen`: config, Redis and Kafka clients, the web server, signals. */
import type { RtdwConfig } from '../../schemas/config.js';
import { redisLayout } from '../../schemas/redis-keys.js';
import { createKafka } from '../kafka/client.js';
import { addReadinessCheck } from '../observability/health.js';
import { createLogger } from '../observability/logger.js';
import { serveMetrics } from '../observability/metrics.js';
import { loadScreenOptions } from './config.js';
import { LagReader } from './lag.js';
import { createScreenRedis } from './reader.js';
import { createScreenServer, listen } from './server.js';
import { ScreenService } from './service.js';

/** Serves the screen until SIGINT/SIGTERM; `announce` is told the URL once the page is served. */
export async function runScreen(config: RtdwConfig, settings: { namespace: string; timezone: string }, announce: (url: string) => void): Promise<void> {
  const options = loadScreenOptions(settings);
  const log = createLogger('screen', config.logLevel);
  const redis = createScreenRedis(config.redis.url, options.clusterNodes);
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
  const lag = options.lagPollMs === 0 ? undefined : new LagReader(createKafka(config, 'screen', log).admin(), options.namespace);
  const service = new ScreenService(redis, redisLayout({ namespace: options.namespace, hashTags: options.hashTags }), lag, options, log);
  const server = createScreenServer(service);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  const removeCheck = addReadinessCheck('redis', () => (redis.status === 'ready' ? { ok: true, detail: 'connected' } : { ok: false, detail: `Redis connection ${redis.status}: the page shows the last figures read` }));
  try {
    await service.start();
    const url = await listen(server, options.host, options.port);
    metrics = await serveMetrics(config, 'screen');
    log.info({ url, namespace: options.namespace, timezone: options.timezone, pollMs: options.pollMs, lagPollMs: options.lagPollMs }, 'screen serving');
    announce(url);
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          log.info({ signal }, 'screen stopping');
          resolve();
        });
      }
    });
  } finally {
    // Also after a failed start: open sockets would keep the process alive.
    service.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    removeCheck();
    metrics?.close();
    await lag?.close();
    redis.disconnect();
  }
  log.info('screen stopped');
}

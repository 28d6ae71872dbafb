/** Prometheus metrics of the Redis sink (registered once per process). */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../observability/metrics.js';

function create() {
  return {
    records: new Counter({
      name: 'rtdw_redis_sink_records_total',
      help: 'writes by outcome: written or stale (an equal or newer version was already there) for hashes; rejected (Redis refused it) for any kind',
      labelNames: ['kind', 'result'],
      registers: [registry],
    }),
    fields: new Counter({ name: 'rtdw_redis_sink_fields_total', help: 'hash fields by outcome: written or stale', labelNames: ['result'], registers: [registry] }),
    batchWrites: new Histogram({ name: 'rtdw_redis_sink_batch_writes', help: 'writes per batch', buckets: [1, 10, 100, 1000, 10_000, 100_000], registers: [registry] }),
    batchSeconds: new Histogram({ name: 'rtdw_redis_sink_batch_seconds', help: 'latency of a batch, retries included, until Redis acknowledged every write', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30], registers: [registry] }),
    errors: new Counter({ name: 'rtdw_redis_sink_errors_total', help: 'failed writes: unavailable (the batch attempt failed and is retried) or rejected (Redis refused the write: dead-lettered)', labelNames: ['kind'], registers: [registry] }),
    retries: new Counter({ name: 'rtdw_redis_sink_retries_total', help: 'batch attempts retried because Redis was unreachable or busy', registers: [registry] }),
    outages: new Counter({ name: 'rtdw_redis_sink_outages_total', help: 'periods during which Redis could not be written', registers: [registry] }),
    available: new Gauge({ name: 'rtdw_redis_sink_available', help: '1 while the last batch reached Redis, 0 during an outage', registers: [registry] }),
    deadLetters: new Counter({ name: 'rtdw_redis_sink_dead_letters_total', help: 'records sent to the dead-letter topic, with the reason', registers: [registry] }),
    freshness: new Histogram({
      name: 'rtdw_redis_sink_freshness_seconds',
      help: 'Kafka record timestamp to its write acknowledged by Redis',
      // Fine below 2 s: the screens' goal is a p99 within 1 s.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
      registers: [registry],
    }),
  };
}

let metrics: ReturnType<typeof create> | undefined;

export function redisSinkMetrics(): ReturnType<typeof create> {
  metrics ??= create();
  return metrics;
}

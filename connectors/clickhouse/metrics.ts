/** Prometheus metrics of the Kafka → ClickHouse sinks (registered once per process), labelled by sink. */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../observability/metrics.js';

function create() {
  return {
    recordsIn: new Counter({ name: 'rtdw_clickhouse_sink_records_total', help: 'Kafka records read by the sink', labelNames: ['sink'], registers: [registry] }),
    rows: new Counter({ name: 'rtdw_clickhouse_sink_rows_total', help: 'rows inserted into ClickHouse', labelNames: ['sink', 'table'], registers: [registry] }),
    inserts: new Counter({ name: 'rtdw_clickhouse_sink_inserts_total', help: 'INSERT statements acknowledged by ClickHouse (one per table per flush)', labelNames: ['sink', 'table'], registers: [registry] }),
    batchRows: new Histogram({ name: 'rtdw_clickhouse_sink_batch_rows', help: 'rows per acknowledged INSERT (one table of one flush)', labelNames: ['sink'], buckets: [1, 10, 100, 1000, 5000, 20_000, 100_000], registers: [registry] }),
    insertSeconds: new Histogram({ name: 'rtdw_clickhouse_sink_insert_seconds', help: 'latency of one acknowledged INSERT', labelNames: ['sink'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    errors: new Counter({ name: 'rtdw_clickhouse_sink_errors_total', help: 'failed INSERT attempts: unavailable (retried) or data (rows isolated and dead-lettered)', labelNames: ['sink', 'kind'], registers: [registry] }),
    retries: new Counter({ name: 'rtdw_clickhouse_sink_retries_total', help: 'INSERTs sent again after a failure', labelNames: ['sink'], registers: [registry] }),
    deadLetters: new Counter({ name: 'rtdw_clickhouse_sink_dead_letters_total', help: 'records sent to the dead-letter topic', labelNames: ['sink'], registers: [registry] }),
    skipped: new Counter({ name: 'rtdw_clickhouse_sink_skipped_total', help: 'records that carry no row by design (e.g. DDL messages), by reason', labelNames: ['sink', 'reason'], registers: [registry] }),
    unavailable: new Gauge({ name: 'rtdw_clickhouse_sink_unavailable', help: '1 while ClickHouse refuses or cannot be reached', labelNames: ['sink'], registers: [registry] }),
    lastFlush: new Gauge({ name: 'rtdw_clickhouse_sink_last_flush_timestamp_seconds', help: 'when the sink last committed offsets after an acknowledged flush', labelNames: ['sink'], registers: [registry] }),
  };
}

let metrics: ReturnType<typeof create> | undefined;

export function sinkMetrics(): ReturnType<typeof create> {
  metrics ??= create();
  return metrics;
}

/** Prometheus metrics of the CDC reader (registered once per process). */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../observability/metrics.js';

function create() {
  return {
    rowsOut: new Counter({ name: 'rtdw_cdc_rows_total', help: 'binlog rows published to Kafka', registers: [registry] }),
    messagesOut: new Counter({ name: 'rtdw_cdc_messages_total', help: 'Canal messages published to Kafka', registers: [registry] }),
    bytesOut: new Counter({ name: 'rtdw_cdc_bytes_total', help: 'bytes of Canal JSON published to Kafka', registers: [registry] }),
    snapshotRows: new Counter({ name: 'rtdw_cdc_snapshot_rows_total', help: 'rows published by the initial snapshot', registers: [registry] }),
    deadLettered: new Counter({ name: 'rtdw_cdc_dead_letters_total', help: 'row events routed to the dead-letter topic because they could not be encoded', registers: [registry] }),
    restarts: new Counter({ name: 'rtdw_cdc_restarts_total', help: 'pipeline restarts after a MySQL or Kafka failure', registers: [registry] }),
    lagSeconds: new Gauge({ name: 'rtdw_cdc_lag_seconds', help: 'time between a transaction commit on the source and its read', registers: [registry] }),
    lagBytes: new Gauge({ name: 'rtdw_cdc_lag_bytes', help: 'binlog bytes on the server not yet read', registers: [registry] }),
    position: new Gauge({ name: 'rtdw_cdc_committed_position', help: 'binlog offset of the last position committed with its messages', labelNames: ['file'], registers: [registry] }),
    lastCommit: new Gauge({ name: 'rtdw_cdc_last_commit_timestamp_seconds', help: 'when the last Kafka transaction committed', registers: [registry] }),
    commitSeconds: new Histogram({ name: 'rtdw_cdc_commit_seconds', help: 'Kafka transaction latency per batch', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
  };
}

let metrics: ReturnType<typeof create> | undefined;

export function cdcMetrics(): ReturnType<typeof create> {
  metrics ??= create();
  return metrics;
}

/** Prometheus metrics of stream stages (registered once per process). */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../connectors/observability/metrics.js';

function create() {
  return {
    recordsIn: new Counter({ name: 'rtdw_stage_records_in_total', help: 'input records processed', labelNames: ['stage'], registers: [registry] }),
    recordsOut: new Counter({ name: 'rtdw_stage_records_out_total', help: 'records emitted (results, late, dead letters)', labelNames: ['stage'], registers: [registry] }),
    transactionFailures: new Counter({ name: 'rtdw_stage_transaction_failures_total', help: 'failed transactions (of a batch, a checkpoint, an idle marker): the partition is read again from its last checkpoint', labelNames: ['stage', 'step'], registers: [registry] }),
    restores: new Counter({ name: 'rtdw_stage_partition_restores_total', help: 'partition states restored from the changelog', labelNames: ['stage'], registers: [registry] }),
    commitSeconds: new Histogram({ name: 'rtdw_stage_checkpoint_seconds', help: 'checkpoint (changelog + offsets + commit) latency', labelNames: ['stage'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    stateKeys: new Gauge({ name: 'rtdw_stage_state_records', help: 'changelog records (panes, keys) holding the state of a partition', labelNames: ['stage', 'partition'], registers: [registry] }),
    watermark: new Gauge({ name: 'rtdw_stage_watermark_ms', help: 'current event-time watermark per partition', labelNames: ['stage', 'partition'], registers: [registry] }),
    watermarkLag: new Gauge({ name: 'rtdw_stage_watermark_lag_seconds', help: 'processing time minus the event-time watermark at the last checkpoint', labelNames: ['stage', 'partition'], registers: [registry] }),
    lateRecords: new Gauge({ name: 'rtdw_stage_late_records', help: 'records routed to the late output per partition (since the state began)', labelNames: ['stage', 'partition'], registers: [registry] }),
    lastCheckpoint: new Gauge({ name: 'rtdw_stage_last_checkpoint_timestamp_seconds', help: 'when the partition last committed', labelNames: ['stage', 'partition'], registers: [registry] }),
  };
}

let metrics: ReturnType<typeof create> | undefined;

export function runtimeMetrics(): ReturnType<typeof create> {
  metrics ??= create();
  return metrics;
}

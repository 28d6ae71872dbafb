/** Prometheus metrics of stream stages (registered once per process). */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../connectors/observability/metrics.js';
import type { Emitted } from './stage.js';

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
    deadLetters: new Counter({ name: 'rtdw_stage_dead_letters_total', help: 'records a stage sent to a dead-letter topic (malformed or unusable input, with the reason)', labelNames: ['stage'], registers: [registry] }),
    lateEvents: new Counter({ name: 'rtdw_stage_late_events_total', help: 'events a stage sent to a late topic (later than the watermark plus the allowed lateness)', labelNames: ['stage'], registers: [registry] }),
    lateChanges: new Counter({ name: 'rtdw_stage_late_changes_total', help: 'source row changes a stage sent to the late-changes topic (older than the state retention behind the watermark)', labelNames: ['stage'], registers: [registry] }),
    lastCheckpoint: new Gauge({ name: 'rtdw_stage_last_checkpoint_timestamp_seconds', help: 'when the partition last committed', labelNames: ['stage', 'partition'], registers: [registry] }),
  };
}

let metrics: ReturnType<typeof create> | undefined;

export function runtimeMetrics(): ReturnType<typeof create> {
  metrics ??= create();
  return metrics;
}

/** Drops a partition's series when its task closes: another worker (or the reopened task) reports it from now on. */
export function forgetPartition(stage: string, partition: number): void {
  const m = runtimeMetrics();
  const labels = { stage, partition: String(partition) };
  for (const gauge of [m.stateKeys, m.watermark, m.watermarkLag, m.lateRecords, m.lastCheckpoint]) gauge.remove(labels);
}

/** What a stage's output topic carries, by the topic names of schemas/topics.ts (`<ns>.dead_letter`, …) and jobs/sliding-sum.ts (`<output>-late`, …). */
export type OutputKind = 'dead_letter' | 'late_event' | 'late_change' | 'result';

export function outputKind(topic: string): OutputKind {
  if (topic.endsWith('.dead_letter') || topic.endsWith('-dead-letter')) return 'dead_letter';
  if (topic.endsWith('.late_changes')) return 'late_change';
  if (topic.endsWith('.late_events') || topic.endsWith('-late')) return 'late_event';
  return 'result';
}

/** Counts what a stage emitted for one batch: every record out, and the dead letters and late records among them. */
export function countEmitted(stage: string, out: readonly Emitted[]): void {
  const m = runtimeMetrics();
  m.recordsOut.inc({ stage }, out.length);
  let deadLetters = 0;
  let lateEvents = 0;
  let lateChanges = 0;
  for (const e of out) {
    const kind = outputKind(e.topic);
    if (kind === 'dead_letter') deadLetters += 1;
    else if (kind === 'late_event') lateEvents += 1;
    else if (kind === 'late_change') lateChanges += 1;
  }
  if (deadLetters > 0) m.deadLetters.inc({ stage }, deadLetters);
  if (lateEvents > 0) m.lateEvents.inc({ stage }, lateEvents);
  if (lateChanges > 0) m.lateChanges.inc({ stage }, lateChanges);
}

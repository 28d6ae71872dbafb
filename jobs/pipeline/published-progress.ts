/**
 * `pipeline_progress`: how far a job's rows in ClickHouse are complete, written by the sink that
 * loads them, as a row in the same flush as the rows it vouches for, inserted after them
 * (SinkSpec.insertLast), so a reader never sees progress ahead of the data.
 *
 * - Stream jobs forward their watermark into their output topics as marker records after the
 *   records they cover (jobs/runtime/watermark-marker.ts). Per partition, the watermark is the
 *   minimum over the producing tasks (idle ones left out, Flink's StatusWatermarkValve); the job's
 *   progress is the minimum over the topic's partitions.
 * - The ODS mirror has no markers: the binlog time `es` of the changes it applied stands in. Per
 *   partition the newest es read, less the binlog's one-second resolution (a later change of the
 *   same second may still follow); the progress is the minimum over the partitions, so a partition
 *   without changes holds it back.
 */
import { MIN_TIMESTAMP, WatermarkCombiner, formatUtc } from '../runtime/core/index.js';
import type { TableRow } from '../../connectors/clickhouse/sink.js';

export const PROGRESS_TABLE = 'pipeline_progress';
const BINLOG_TIME_RESOLUTION_MS = 1000;

function progressRow(job: string, watermark: number, now: number): TableRow {
  return { table: PROGRESS_TABLE, row: { job, watermark: formatUtc(watermark), updated_at: formatUtc(now) } };
}

export class MarkerProgress {
  private readonly partitions: WatermarkCombiner[];
  private published = MIN_TIMESTAMP;

  constructor(readonly job: string, partitions: number, producers: readonly string[]) {
    this.partitions = Array.from({ length: partitions }, () => new WatermarkCombiner(producers));
  }

  /** A marker read from `partition`; the progress row when the job's watermark moved. */
  onMarker(partition: number, producer: string, watermark: number | null, now = Date.now()): TableRow | undefined {
    const job = this.advance(partition, producer, watermark);
    return job === undefined ? undefined : progressRow(this.job, job, now);
  }

  /** A marker read from `partition`; the job's watermark when it moved. */
  advance(partition: number, producer: string, watermark: number | null): number | undefined {
    const combiner = this.partitions[partition];
    if (combiner === undefined) throw new Error(`${this.job}: marker from partition ${partition}, the topic has ${this.partitions.length}`);
    if (watermark === null) combiner.markIdle(producer);
    else combiner.update(producer, watermark);
    const job = Math.min(...this.partitions.map((c) => c.currentWatermark));
    if (job <= this.published || job === MIN_TIMESTAMP) return undefined;
    this.published = job;
    return job;
  }
}

export class EventTimeProgress {
  private readonly newest: number[];
  private published = MIN_TIMESTAMP;

  constructor(private readonly job: string, partitions: number) {
    this.newest = Array.from({ length: partitions }, () => MIN_TIMESTAMP);
  }

  /** A change with binlog time `es` read from `partition`; the progress row when it moved. */
  onEventTime(partition: number, es: number, now = Date.now()): TableRow | undefined {
    if (partition >= this.newest.length || !Number.isSafeInteger(es)) return undefined;
    if (es > (this.newest[partition] as number)) this.newest[partition] = es;
    const complete = Math.min(...this.newest);
    if (complete === MIN_TIMESTAMP) return undefined;
    const watermark = complete - BINLOG_TIME_RESOLUTION_MS;
    if (watermark <= this.published) return undefined;
    this.published = watermark;
    return progressRow(this.job, watermark, now);
  }
}

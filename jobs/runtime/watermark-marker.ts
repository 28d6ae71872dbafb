/**
 * Watermarks across repartitioning: a task writes its watermark into every partition of each
 * internal topic it feeds, after the records it covers and in the same transaction, so a downstream
 * task sees, in its partition's order, each upstream task's records and then its watermark, and
 * takes the minimum over all upstream tasks (Flink's StatusWatermarkValve over input channels).
 */
import type { KafkaMessage } from 'kafkajs';
import type { Emitted } from './stage.js';

/** Header naming the producing task; the value is {"watermark": n} or {"idle": true}. */
export const WATERMARK_HEADER = 'rtdw-watermark';

export interface WatermarkMarker {
  producer: string;
  /** null: the producer is idle (Flink's WatermarkStatus.IDLE) */
  watermark: number | null;
}

export function watermarkMarkers(marker: WatermarkMarker, topics: ReadonlyArray<{ topic: string; partitions: number }>): Emitted[] {
  const value = JSON.stringify(marker.watermark === null ? { idle: true } : { watermark: marker.watermark });
  const out: Emitted[] = [];
  for (const { topic, partitions } of topics) {
    for (let partition = 0; partition < partitions; partition++) out.push({ topic, partition, key: null, value, headers: { [WATERMARK_HEADER]: marker.producer } });
  }
  return out;
}

/** The marker a record carries, undefined for a data record; throws on a malformed marker. */
export function readWatermarkMarker(message: KafkaMessage): WatermarkMarker | undefined {
  const header = message.headers?.[WATERMARK_HEADER];
  if (header === undefined) return undefined;
  const producer = Array.isArray(header) ? String(header[0]) : String(header);
  const body = JSON.parse(message.value?.toString() ?? 'null') as { watermark?: unknown; idle?: unknown } | null;
  if (body?.idle === true) return { producer, watermark: null };
  if (typeof body?.watermark === 'number' && Number.isSafeInteger(body.watermark)) return { producer, watermark: body.watermark };
  throw new Error(`malformed watermark marker from ${producer}`);
}

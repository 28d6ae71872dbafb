/**
 * Sliding-window sum per key over JSON events {key, ts, value}: the runtime's reference job
 * (1 h windows sliding by 5 min by default, Flink's SlidingEventTimeWindows), used by the engine
 * benchmark and the exactly-once tests.
 */
import { slidingWindows, sumDecimal, type WindowResult } from './runtime/core/index.js';
import type { StageSpec } from './runtime/stage.js';
import { windowStage, type ParseResult } from './runtime/window-stage.js';

export interface SlidingSumOptions {
  name: string;
  input: string;
  output: string;
  partitions: number;
  sizeMs?: number;
  slideMs?: number;
  outOfOrdernessMs?: number;
  allowedLatenessMs?: number;
  checkpointIntervalMs?: number;
}

interface SumEvent {
  key: string;
  ts: number;
  value: number | string;
}

function parseEvent(value: Buffer | null): ParseResult<bigint> {
  if (value === null) return { ok: false, reason: 'empty record' };
  const e = JSON.parse(value.toString()) as Partial<SumEvent>;
  if (typeof e.key !== 'string' || e.key.length === 0) return { ok: false, reason: 'key must be a non-empty string' };
  if (typeof e.ts !== 'number' || !Number.isSafeInteger(e.ts)) return { ok: false, reason: 'ts must be an integer of epoch ms' };
  if ((typeof e.value !== 'number' || !Number.isSafeInteger(e.value)) && (typeof e.value !== 'string' || !/^-?\d+$/.test(e.value))) {
    return { ok: false, reason: 'value must be an integer' };
  }
  return { ok: true, key: e.key, timestamp: e.ts, value: BigInt(e.value) };
}

export function slidingSumJob(o: SlidingSumOptions): StageSpec {
  const late = `${o.output}-late`;
  const deadLetter = `${o.output}-dead-letter`;
  return {
    name: o.name,
    input: o.input,
    outputs: [
      { topic: o.output, partitions: o.partitions },
      { topic: late, partitions: o.partitions },
      { topic: deadLetter, partitions: 1 },
    ],
    checkpointIntervalMs: o.checkpointIntervalMs ?? 1000,
    createProcessor: windowStage({
      parse: (message) => parseEvent(message.value),
      window: { assigner: slidingWindows(o.sizeMs ?? 3_600_000, o.slideMs ?? 300_000), aggregate: sumDecimal(0), allowedLateness: o.allowedLatenessMs ?? 0 },
      watermarks: { outOfOrdernessMs: o.outOfOrdernessMs ?? 5000 },
      output: {
        topic: o.output,
        encode: (r: WindowResult<string | null>) => ({
          key: JSON.stringify([r.key, r.window.start, r.window.end]),
          value: JSON.stringify({ key: r.key, start: r.window.start, end: r.window.end, sum: r.value, kind: r.kind }),
        }),
      },
      lateTopic: late,
      deadLetterTopic: deadLetter,
    }),
  };
}

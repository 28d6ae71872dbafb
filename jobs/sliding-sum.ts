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

const KEY_PREFIX = Buffer.from('{"key":"');
const TS_FIELD = Buffer.from('","ts":');
const VALUE_FIELD = Buffer.from(',"value":');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether buf holds `literal` at `at`. */
function hasAt(buf: Buffer, at: number, literal: Buffer): boolean {
  if (at + literal.length > buf.length) return false;
  for (let i = 0; i < literal.length; i++) if (buf[at + i] !== literal[i]) return false;
  return true;
}

/** Where the integer canonicalInteger read last ends (a module variable: no tuple per call). */
let integerEnd = 0;

/**
 * A JSON integer at `at` in canonical form (optional minus, no leading zero, at most 15 digits so it
 * is exact) followed by `stop`, its end in integerEnd; undefined when it is anything else.
 */
function canonicalInteger(buf: Buffer, at: number, stop: number): number | undefined {
  let p = at;
  const negative = buf[p] === 0x2d;
  if (negative) p += 1;
  const start = p;
  let n = 0;
  while (p < buf.length && (buf[p] as number) >= 0x30 && (buf[p] as number) <= 0x39) n = n * 10 + ((buf[p++] as number) - 0x30);
  const digits = p - start;
  if (digits === 0 || digits > 15 || (digits > 1 && buf[start] === 0x30) || buf[p] !== stop) return undefined;
  integerEnd = p;
  return negative ? -n : n;
}

/**
 * The event of a record written exactly as `{"key":"…","ts":N,"value":N}` (no spaces, no escapes in
 * the key), read from the bytes without building the JSON object; undefined for any other text, which
 * JSON.parse then reads (and judges) in full. Same result as JSON.parse on the texts it accepts.
 */
function parseCanonicalEvent(buf: Buffer): ParseResult<bigint> | undefined {
  if (!hasAt(buf, 0, KEY_PREFIX)) return undefined;
  const keyStart = KEY_PREFIX.length;
  let p = keyStart;
  let ascii = true;
  for (; p < buf.length; p++) {
    const c = buf[p] as number;
    if (c === QUOTE) break;
    // escapes and control characters: JSON.parse's job
    if (c === BACKSLASH || c < 0x20) return undefined;
    if (c >= 0x80) ascii = false;
  }
  if (p === keyStart || !hasAt(buf, p, TS_FIELD)) return undefined;
  const key = buf.toString(ascii ? 'latin1' : 'utf8', keyStart, p);
  const ts = canonicalInteger(buf, p + TS_FIELD.length, 0x2c);
  if (ts === undefined || !hasAt(buf, integerEnd, VALUE_FIELD)) return undefined;
  const value = canonicalInteger(buf, integerEnd + VALUE_FIELD.length, 0x7d);
  if (value === undefined || integerEnd !== buf.length - 1) return undefined;
  return { ok: true, key, timestamp: ts, value: BigInt(value) };
}

export function parseEvent(value: Buffer | null): ParseResult<bigint> {
  if (value === null) return { ok: false, reason: 'empty record' };
  const canonical = parseCanonicalEvent(value);
  if (canonical !== undefined) return canonical;
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

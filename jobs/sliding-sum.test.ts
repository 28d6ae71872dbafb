import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseEvent } from './sliding-sum.js';

/** The event as JSON.parse reads it, written here from the job's rules: the fast path must agree. */
function byJsonParse(text: string): unknown {
  let e: { key?: unknown; ts?: unknown; value?: unknown };
  try {
    e = JSON.parse(text) as typeof e;
  } catch {
    return 'throws';
  }
  if (typeof e.key !== 'string' || e.key === '' || typeof e.ts !== 'number' || !Number.isSafeInteger(e.ts)) return 'rejected';
  if (typeof e.value === 'number' && Number.isSafeInteger(e.value)) return { ok: true, key: e.key, timestamp: e.ts, value: BigInt(e.value) };
  if (typeof e.value === 'string' && /^-?\d+$/.test(e.value)) return { ok: true, key: e.key, timestamp: e.ts, value: BigInt(e.value) };
  return 'rejected';
}

function parsed(text: string): unknown {
  try {
    const r = parseEvent(Buffer.from(text));
    return r.ok ? r : 'rejected';
  } catch {
    return 'throws';
  }
}

describe('sliding-sum parseEvent', () => {
  it('reads canonical events as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double()), fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.bigInt().map(String)), (key, ts, value) => {
        const text = JSON.stringify({ key, ts, value });
        expect(parsed(text)).toEqual(byJsonParse(text));
      }),
      { numRuns: 1000 },
    );
  }, 60_000);

  it('leaves every other text to JSON.parse', () => {
    const texts = ['{"key":"a","ts":01,"value":1}', '{"key":"a","ts":1,"value":1} ', '{"key":"a\\"b","ts":1,"value":2}', '{"key":"","ts":1,"value":1}', '{"key":"a","ts":1.5,"value":1}', '{"key":"a","ts":1,"value":1e3}', '{"key":"a","ts":1,"value":1234567890123456789}', '{"key":"a","ts":-0,"value":-0}', '{"key":"a","ts":1,"value":1,"x":2}', '{"key":"é","ts":1,"value":1}', '{"key":"a","ts":1,"value":"12"}', '{"key":"a","ts":1,"value":', 'x'];
    for (const text of texts) expect(parsed(text), text).toEqual(byJsonParse(text));
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(parsed(text)).toEqual(byJsonParse(text));
      }),
    );
  }, 60_000);
});

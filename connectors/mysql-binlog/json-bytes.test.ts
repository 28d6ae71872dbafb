import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JsonBytes } from './json-bytes.js';

function written(write: (out: JsonBytes) => void): string {
  const out = new JsonBytes(8);
  write(out);
  return out.buf.toString('utf8', 0, out.len);
}

/** Strings without lone surrogates: what decoding valid UTF-8 can give. */
const wellFormed = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', '\u0000', '\b', '\t', '\n', '\u001f', '\u007f', '\u2028', 'é', '日', '🚀'), fc.string({ unit: 'binary', maxLength: 1 })) }).filter((s) => Buffer.from(s).toString('utf8') === s);

describe('JsonBytes', () => {
  it('writes UTF-8 bytes as JSON.stringify writes the text they decode to', () => {
    fc.assert(
      fc.property(wellFormed, (s) => {
        const src = Buffer.from(`xx${s}yy`);
        expect(written((out) => expect(out.utf8String(src, 2, src.length - 2)).toBe(true))).toBe(JSON.stringify(s));
      }),
    );
  });

  it('writes nothing and says so for bytes that are not UTF-8', () => {
    const out = new JsonBytes();
    out.ascii('keep');
    expect(out.utf8String(Buffer.from([0x61, 0xc3, 0x28, 0x62]), 0, 4)).toBe(false);
    expect(out.utf8String(Buffer.from([0xed, 0xa0, 0x80]), 0, 3)).toBe(false); // an encoded surrogate
    expect(out.buf.toString('utf8', 0, out.len)).toBe('keep');
  });

  it('writes bytes as their ISO-8859-1 text, padded with NULs, as JSON.stringify does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(80), (bytes, padTo) => {
        const src = Buffer.from(bytes);
        const expected = Buffer.concat([src, Buffer.alloc(Math.max(0, padTo - src.length))]).toString('latin1');
        expect(written((out) => out.latin1String(src, 0, src.length, padTo))).toBe(JSON.stringify(expected));
      }),
    );
  });

  it('writes integers as String() does, and zongji-style zero padding (the last digits)', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(written((out) => out.integer(n))).toBe(String(n));
      }),
    );
    expect(written((out) => out.padded(7, 2))).toBe('07');
    expect(written((out) => out.padded(12345, 4))).toBe('2345');
    expect(written((out) => out.padded(0, 6))).toBe('000000');
  });

  it('writes any string as JSON.stringify does, growing as needed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(written((out) => out.string(s))).toBe(JSON.stringify(s));
      }),
    );
  });
});

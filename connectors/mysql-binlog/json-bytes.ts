/**
 * JSON written as UTF-8 bytes into a growable buffer, with exactly JSON.stringify's escaping: for the
 * hot path of rows-codec.ts, which turns binlog values into JSON without building strings.
 */
import { isUtf8 } from 'node:buffer';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** JSON.stringify's escape of each byte below 0x20, as bytes. */
const CONTROL_ESCAPES: Buffer[] = Array.from({ length: 0x20 }, (_, b) => Buffer.from(JSON.stringify(String.fromCharCode(b)).slice(1, -1), 'latin1'));

const ESCAPED_QUOTE = Buffer.from('\\"');
const ESCAPED_BACKSLASH = Buffer.from('\\\\');

function needsEscape(b: number): boolean {
  return b < 0x20 || b === QUOTE || b === BACKSLASH;
}

export class JsonBytes {
  buf: Buffer;
  len = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reset(): void {
    this.len = 0;
  }

  /** Room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** A string of ASCII characters that need no escaping (digits, separators, pre-escaped JSON). */
  ascii(s: string): void {
    this.reserve(s.length);
    const buf = this.buf;
    let p = this.len;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.len = p;
  }

  /** Any string, as JSON.stringify writes it. */
  string(s: string): void {
    const json = JSON.stringify(s);
    this.reserve(json.length * 3);
    this.len += this.buf.write(json, this.len, 'utf8');
  }

  /** Bytes as they are (already JSON). */
  copy(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.reserve(n);
    if (n < 32) {
      const buf = this.buf;
      let p = this.len;
      for (let i = start; i < end; i++) buf[p++] = src[i] as number;
      this.len = p;
    } else {
      this.len += src.copy(this.buf, this.len, start, end);
    }
  }

  /** A non-negative safe integer's decimal digits. */
  digits(n: number): void {
    if (n < 10) {
      this.byte(48 + n);
      return;
    }
    this.reserve(16);
    let width = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) width += 1;
    const buf = this.buf;
    let p = this.len + width;
    this.len = p;
    let v = n;
    do {
      buf[--p] = 48 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
  }

  /** A safe integer's decimal digits, with '-' when negative (String(n)). */
  integer(n: number): void {
    if (n < 0) {
      this.byte(45);
      this.digits(-n);
    } else {
      this.digits(n);
    }
  }

  /** The last `size` digits of a non-negative integer, zero-padded: zongji's zeroPad of an integer. */
  padded(n: number, size: number): void {
    this.reserve(size);
    const buf = this.buf;
    let v = n;
    for (let p = this.len + size - 1; p >= this.len; p--) {
      buf[p] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    this.len += size;
  }

  /**
   * UTF-8 bytes as a JSON string (quotes included), as JSON.stringify writes the text they decode to.
   * Returns false, having written nothing, when they are not valid UTF-8 (decoding would replace them).
   */
  utf8String(src: Buffer, start: number, end: number): boolean {
    const mark = this.len;
    this.reserve(end - start + 2);
    let buf = this.buf;
    let p = this.len;
    buf[p++] = QUOTE;
    let nonAscii = false;
    for (let i = start; i < end; i++) {
      const b = src[i] as number;
      if (needsEscape(b)) {
        this.len = p;
        this.reserve(end - i + 6);
        buf = this.buf;
        const escape = b < 0x20 ? (CONTROL_ESCAPES[b] as Buffer) : b === QUOTE ? ESCAPED_QUOTE : ESCAPED_BACKSLASH;
        for (let j = 0; j < escape.length; j++) buf[p++] = escape[j] as number;
      } else {
        if (b >= 0x80) nonAscii = true;
        buf[p++] = b;
      }
    }
    buf[p++] = QUOTE;
    if (nonAscii && !isUtf8(src.subarray(start, end))) {
      this.len = mark;
      return false;
    }
    this.len = p;
    return true;
  }

  /**
   * Bytes read as ISO-8859-1 (one character per byte), then `padTo - (end - start)` NUL characters, as a
   * JSON string: JSON.stringify of Buffer.toString('latin1').
   */
  latin1String(src: Buffer, start: number, end: number, padTo = 0): void {
    const pad = Math.max(0, padTo - (end - start));
    this.reserve((end - start) * 6 + pad * 6 + 2);
    const buf = this.buf;
    let p = this.len;
    buf[p++] = QUOTE;
    for (let i = start; i < end; i++) {
      const b = src[i] as number;
      if (needsEscape(b)) {
        const escape = b < 0x20 ? (CONTROL_ESCAPES[b] as Buffer) : b === QUOTE ? ESCAPED_QUOTE : ESCAPED_BACKSLASH;
        for (let j = 0; j < escape.length; j++) buf[p++] = escape[j] as number;
      } else if (b < 0x80) {
        buf[p++] = b;
      } else {
        buf[p++] = 0xc0 | (b >> 6);
        buf[p++] = 0x80 | (b & 0x3f);
      }
    }
    const nul = CONTROL_ESCAPES[0] as Buffer;
    for (let k = 0; k < pad; k++) for (let j = 0; j < nul.length; j++) buf[p++] = nul[j] as number;
    buf[p++] = QUOTE;
    this.len = p;
  }
}

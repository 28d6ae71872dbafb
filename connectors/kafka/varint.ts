/** Kafka's record varints (zigzag-encoded, as protobuf's sint), for the record batch writers. */

export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Bytes of `value` as a zigzag varint. */
export function varintBytes(value: number): number {
  let v = zigzag(value);
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n += 1;
  }
  return n;
}

import { describe, expect, it } from 'vitest';
import { Reader, crc32c, readRecordsBatch } from '@platformatic/kafka';
import { BufferPool, TransactionRecords, ValueParts } from './record-batch.js';
import { sealBatch } from './transactional-publisher.js';

/** The batches of one transaction, sealed and read back with the Kafka client's own decoder. */
function readBack(records: TransactionRecords, pool: BufferPool): Array<{ topic: string; partition: number; batches: ReturnType<typeof readRecordsBatch>[]; crcOk: boolean[] }> {
  const slots = new Map(pool.changes(true).created.map(({ id, memory }) => [id, Buffer.from(memory)]));
  return records.transfer().map((p) => {
    const sealed = p.batches.map((b, i) => sealBatch(slots.get(b.slot) as Buffer, b.end, b.count, 42n, 3, 100 * i, 1_700_000_000_000n));
    return {
      topic: p.topic,
      partition: p.partition,
      batches: sealed.map((bytes) => readRecordsBatch(Reader.from(bytes))),
      crcOk: sealed.map((bytes) => bytes.readUInt32BE(17) === crc32c(bytes.subarray(21))),
    };
  });
}

describe('TransactionRecords', () => {
  it('writes Kafka v2 record batches the client decodes: keys, values, header fields, CRC-32C', () => {
    const pool = new BufferPool();
    const records = new TransactionRecords(() => 1_000_000, pool);
    const long = 'v'.repeat(9000); // value length needs a 3-byte varint
    const longKey = `["${'k'.repeat(80)}"]`; // key length needs a 2-byte varint
    records.add('t', 0, null, '{"a":1}');
    records.add('t', 0, longKey, long);
    records.add('t', 1, '["é"]', '{"v":"日本 🚀"}');
    const parts = new ValueParts();
    parts.push(Buffer.from('{"data":['));
    parts.push(Buffer.from('xx{"id":"7"}yy'), 2, 12);
    parts.push(Buffer.from(']}'));
    const key = Buffer.from('..["7"]..');
    records.addParts('t', 0, key, 2, 7, parts);
    records.addParts('u', 2, null, 0, 0, parts);
    expect(records.records).toBe(5);
    expect(records.topics()).toEqual(['t', 'u']);

    const back = readBack(records, pool);
    expect(back.map((p) => [p.topic, p.partition, p.batches.length, p.crcOk])).toEqual([
      ['t', 0, 1, [true]],
      ['t', 1, 1, [true]],
      ['u', 2, 1, [true]],
    ]);
    const t0 = back[0]?.batches[0];
    expect(t0).toMatchObject({ magic: 2, attributes: 0x10, producerId: 42n, producerEpoch: 3, firstSequence: 0, lastOffsetDelta: 2, firstTimestamp: 1_700_000_000_000n });
    expect(t0?.records.map((r) => [r.offsetDelta, r.key?.toString() ?? null, r.value?.toString()])).toEqual([
      [0, null, '{"a":1}'],
      [1, longKey, long],
      [2, '["7"]', '{"data":[{"id":"7"}]}'],
    ]);
    expect(back[1]?.batches[0]?.records.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([['["é"]', '{"v":"日本 🚀"}']]);
    expect(back[2]?.batches[0]?.records[0]?.key).toBeNull();
  });

  it('writes tombstones (null values) from strings and from parts', () => {
    const pool = new BufferPool();
    const records = new TransactionRecords(() => 1_000_000, pool);
    records.add('t', 0, '["a"]', '{"x":1}');
    records.add('t', 0, '["a"]', null);
    const key = Buffer.from('["b"]');
    records.addParts('t', 0, key, 0, key.length, null);
    records.add('t', 0, '["c"]', '{}');
    expect(records.records).toBe(4);
    expect(records.bytes).toBe(9);
    const [part] = readBack(records, pool);
    expect(part?.crcOk).toEqual([true]);
    expect(part?.batches[0]?.records.map((r) => [r.offsetDelta, r.key?.toString(), r.value === null ? null : r.value.toString()])).toEqual([
      [0, '["a"]', '{"x":1}'],
      [1, '["a"]', null],
      [2, '["b"]', null],
      [3, '["c"]', '{}'],
    ]);
  });

  it('splits a partition into batches at the byte limit, a larger record alone in its own', () => {
    const pool = new BufferPool();
    const records = new TransactionRecords(() => 4096, pool);
    for (let i = 0; i < 20; i++) records.add('t', 0, String(i), 'x'.repeat(500));
    records.add('t', 0, 'big', 'y'.repeat(10_000));
    records.add('t', 0, 'after', 'z');
    const [part] = readBack(records, pool);
    const sizes = part?.batches.map((b) => b.records.length);
    expect(sizes?.reduce((a, b) => a + b, 0)).toBe(22);
    expect(part?.batches.every((b) => b.length + 12 <= 4096 || b.records.length === 1)).toBe(true);
    expect(part?.batches.flatMap((b) => b.records.map((r) => r.key?.toString()))).toEqual([...Array.from({ length: 20 }, (_, i) => String(i)), 'big', 'after']);
    expect(part?.crcOk.every(Boolean)).toBe(true);
  });
});

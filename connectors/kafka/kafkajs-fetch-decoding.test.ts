/**
 * The lazy record-batch decoder against kafkajs's own (loaded here in a fresh module cache, outside
 * connectors/kafka/kafkajs.ts): batches written by kafkajs's encoder decode to the same records.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRecordBatchDecoder } from './kafkajs-fetch-decoding.js';

const require = createRequire(import.meta.url);
interface Encoded {
  buffer: Buffer;
}
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (args: Record<string, unknown>) => Promise<Encoded> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: Record<string, unknown>) => Encoded;
const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<{ records: Array<Record<string, unknown>> }>;
const ours = createRecordBatchDecoder();

const fields = (record: object) => {
  const r = record as Record<string, unknown>;
  return { offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers, attributes: r.attributes, isControlRecord: r.isControlRecord, magicByte: r.magicByte, producerId: (r.batchContext as { producerId: string }).producerId };
};

describe('kafkajs fetch decoding', () => {
  it('decodes the records kafkajs decodes', async () => {
    const bytes = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: bytes, value: bytes, headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)), { maxKeys: 3 }), timestampDelta: fc.nat(1_000_000) }), { minLength: 1, maxLength: 30 }),
        fc.bigInt({ min: 0n, max: 2n ** 40n }),
        fc.boolean(),
        async (records, firstOffset, transactional) => {
          const batch = await RecordBatch({ firstOffset: firstOffset.toString(), firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_001_000_000, transactional, producerId: 77, producerEpoch: 1, lastOffsetDelta: records.length - 1, records: records.map((r, i) => Record({ ...r, offsetDelta: i })) });
          const theirs = await kafkajsDecode(new Decoder(batch.buffer));
          const mine = await ours(new Decoder(batch.buffer) as Parameters<typeof ours>[0]);
          expect(mine.records.map(fields)).toEqual(theirs.records.map(fields));
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);
});

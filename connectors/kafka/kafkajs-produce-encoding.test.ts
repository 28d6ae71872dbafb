/**
 * The replaced produce encoding against kafkajs's own modules (loaded here in a fresh module cache,
 * outside connectors/kafka/kafkajs.ts): the same murmur2 hashes and byte-identical Produce requests.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeProduceV3, murmur2, type ProduceMessage, type ProduceRequestArgs } from './kafkajs-produce-encoding.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;
const kafkajsProduceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: ProduceRequestArgs) => { encode(): Promise<{ buffer: Buffer }> };

const bytes = fc.oneof(fc.constant(null), fc.string({ unit: 'binary', maxLength: 300 }), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)));
const message: fc.Arbitrary<ProduceMessage> = fc.record({
  key: bytes,
  value: bytes,
  headers: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 3 }))), { nil: undefined }),
  timestamp: fc.option(fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), { nil: undefined }),
});

describe('kafkajs produce encoding', () => {
  it('hashes keys as kafkajs murmur2', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a))), (key) => {
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      }),
      { numRuns: 3000 },
    );
  }, 60_000);

  it('writes the Produce request kafkajs writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ topic: fc.string({ minLength: 1, maxLength: 20 }), partitions: fc.array(fc.record({ partition: fc.nat(50), firstSequence: fc.nat(1_000_000), messages: fc.array(message, { minLength: 1, maxLength: 20 }) }), { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 }),
        fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: null }),
        async (topicData, transactionalId) => {
          // Both encoders stamp records without a timestamp with Date.now(): give every record one.
          for (const t of topicData) for (const p of t.partitions) for (const m of p.messages) m.timestamp ??= 1_700_000_000_000;
          // kafkajs sorts the timestamps as text: equal digit counts make that the numeric order.
          const args: ProduceRequestArgs = { acks: -1, timeout: 30000, transactionalId, producerId: 4242, producerEpoch: 3, topicData };
          const theirs = (await kafkajsProduceV3(args).encode()).buffer;
          expect(encodeProduceV3(args).equals(theirs)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);
});

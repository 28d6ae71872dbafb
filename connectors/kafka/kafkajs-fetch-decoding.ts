/**
 * A cheaper fetch path for kafkajs 2.2.4 (the version is pinned in package.json and checked here):
 * its record-batch decoder and its consumer Batch are replaced in the module cache before kafkajs
 * loads them (see kafkajs.ts), keeping the shapes kafkajs and rtdw read.
 *
 * Why: kafkajs decodes each record through a Decoder object of its own and 64-bit emulation
 * (Long.fromValue(firstOffset).add(delta).toString() for offset and timestamp), and Batch filters
 * the records by Long.fromValue(offset).gte(fetchedOffset) per record: together about a fifth of the
 * sliding-sum worker's CPU. Here offsets and timestamps are plain numbers (exact below 2^53, which a
 * Kafka offset or an epoch-ms timestamp does not reach; a batch past that takes kafkajs's own path)
 * and the records are read straight from the batch's buffer.
 *
 * Everything this module relies on in kafkajs is checked when it is installed: a different kafkajs
 * fails at startup rather than decoding wrongly.
 */
import { createRequire, Module } from 'node:module';
import type { AbortedTransaction } from './aborted-transactions.js';

const require = createRequire(import.meta.url);
const KAFKAJS_VERSION = '2.2.4';
const INSTALLED = Symbol.for('rtdw.kafkajs.fetchDecoding');

interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  slice(size: number): KafkajsDecoder;
  forward(size: number): void;
  readAll(): Buffer;
}

type DecoderClass = new (buffer: Buffer) => KafkajsDecoder;

interface Codec {
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** A record as kafkajs's record/v0/decoder.js returns it. */
export interface DecodedRecord {
  magicByte: number;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | Array<Buffer | null>>;
  isControlRecord: boolean;
  batchContext: RecordContext;
}

interface RecordContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
/** kafkajs's TimestampTypes */
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;
const NO_HEADERS: DecodedRecord['headers'] = Object.freeze({}) as DecodedRecord['headers'];

/** Reads varints of a record from buf at `at`, numbers only (zigzag, up to 2^53). */
class RecordReader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  varint(): number {
    const buf = this.buf;
    let byte = buf[this.at++] as number;
    let raw = byte & 0x7f;
    let scale = 128;
    while (byte >= 0x80) {
      if (this.at >= buf.length) throw new RangeError('varint runs past the end of the record batch');
      byte = buf[this.at++] as number;
      raw += (byte & 0x7f) * scale;
      scale *= 128;
    }
    // zigzag: even → non-negative, odd → negative
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  bytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const start = this.at;
    this.at += length;
    if (this.at > this.buf.length) throw new RangeError('record field runs past the end of the record batch');
    return this.buf.subarray(start, this.at);
  }
}

/**
 * A record decoded lazily: its fields are located in the batch's buffer once, and offset, timestamp,
 * key and value are made (a string, a Buffer view) only when read — a window stage reads the value
 * alone, so most records cost one object and one Buffer view.
 */
class LazyRecord implements DecodedRecord {
  constructor(
    private readonly buf: Buffer,
    private readonly keyAt: number,
    private readonly keyLength: number,
    private readonly valueAt: number,
    private readonly valueLength: number,
    readonly offsetNumber: number,
    private readonly timestampNumber: number,
    private readonly logAppendTime: string | undefined,
    readonly attributes: number,
    readonly headers: DecodedRecord['headers'],
    readonly batchContext: RecordContext,
  ) {}

  get magicByte(): number {
    return this.batchContext.magicByte;
  }

  get isControlRecord(): boolean {
    return this.batchContext.isControlBatch;
  }

  get offset(): string {
    return String(this.offsetNumber);
  }

  get timestamp(): string {
    return this.logAppendTime ?? String(this.timestampNumber);
  }

  get key(): Buffer | null {
    return this.keyLength < 0 ? null : this.buf.subarray(this.keyAt, this.keyAt + this.keyLength);
  }

  get value(): Buffer | null {
    return this.valueLength < 0 ? null : this.buf.subarray(this.valueAt, this.valueAt + this.valueLength);
  }
}

/** A record's offset as a number, without making its string when it is a LazyRecord. */
function offsetOf(record: DecodedRecord): number {
  return record instanceof LazyRecord ? record.offsetNumber : Number(record.offset);
}

/** The records of an uncompressed (or decompressed) run of `count` records at reader.at. */
function decodeRecords(reader: RecordReader, count: number, context: RecordContext): DecodedRecord[] {
  const firstOffset = Number(context.firstOffset);
  const firstTimestamp = Number(context.firstTimestamp);
  // as kafkajs: under LOG_APPEND_TIME every record carries the batch's max timestamp
  const logAppendTime = context.timestampType === LOG_APPEND_TIME ? context.maxTimestamp : undefined;
  const buf = reader.buf;
  const records = new Array<DecodedRecord>(count);
  for (let i = 0; i < count; i++) {
    const length = reader.varint();
    const end = reader.at + length;
    const attributes = buf.readInt8(reader.at++);
    const timestampDelta = reader.varint();
    const offsetDelta = reader.varint();
    const keyLength = reader.varint();
    const keyAt = reader.at;
    if (keyLength > 0) reader.at += keyLength;
    const valueLength = reader.varint();
    const valueAt = reader.at;
    if (valueLength > 0) reader.at += valueLength;
    const headerCount = reader.varint();
    let headers = NO_HEADERS;
    if (headerCount > 0) {
      headers = {};
      for (let h = 0; h < headerCount; h++) {
        const name = reader.bytes()?.toString() ?? 'null';
        const headerValue = reader.bytes();
        const seen = headers[name];
        headers[name] = seen === undefined ? headerValue : Array.isArray(seen) ? seen.concat([headerValue]) : [seen, headerValue];
      }
    }
    if (reader.at !== end || end > buf.length) throw new RangeError(`record of ${length} bytes decoded as ${length + reader.at - end}`);
    records[i] = new LazyRecord(buf, keyAt, keyLength, valueAt, valueLength, firstOffset + offsetDelta, firstTimestamp + timestampDelta, logAppendTime, attributes, headers, context);
  }
  return records;
}

function safe(decimal: string): boolean {
  return Number.isSafeInteger(Number(decimal));
}

function recordBatchDecoder(kafkajsRecordDecoder: (decoder: KafkajsDecoder, context: RecordContext) => DecodedRecord, Decoder: DecoderClass, lookupCodecByAttributes: (attributes: number) => Codec | null | undefined, PartialMessageError: new (message: string) => Error) {
  // kafkajs's recordBatch/v0/decoder.js, with its per-record loop replaced.
  return async (fetchDecoder: KafkajsDecoder): Promise<RecordContext & { records: DecodedRecord[] }> => {
    const firstOffset = fetchDecoder.readInt64().toString();
    const length = fetchDecoder.readInt32();
    const decoder = fetchDecoder.slice(length);
    fetchDecoder.forward(length);
    const remainingBytes = Buffer.byteLength(decoder.buffer);
    if (remainingBytes < length) throw new PartialMessageError(`Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`);
    const partitionLeaderEpoch = decoder.readInt32();
    const magicByte = decoder.readInt8();
    decoder.readInt32(); // CRC, not checked (as kafkajs)
    const attributes = decoder.readInt16();
    const lastOffsetDelta = decoder.readInt32();
    const firstTimestamp = decoder.readInt64().toString();
    const maxTimestamp = decoder.readInt64().toString();
    const producerId = decoder.readInt64().toString();
    const producerEpoch = decoder.readInt16();
    const firstSequence = decoder.readInt32();
    const context: RecordContext = {
      firstOffset,
      firstTimestamp,
      partitionLeaderEpoch,
      inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
      isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
      lastOffsetDelta,
      producerId,
      producerEpoch,
      firstSequence,
      maxTimestamp,
      timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
      magicByte,
    };
    const count = decoder.readInt32();
    if (count <= 0) return { ...context, records: [] };
    const codec = lookupCodecByAttributes(attributes);
    const buffer = codec === undefined || codec === null ? decoder.buffer.subarray(decoder.offset) : await codec.decompress(decoder.readAll());
    if (!safe(firstOffset) || !safe(firstTimestamp) || !safe(String(Number(firstOffset) + lastOffsetDelta))) {
      const slow = new Decoder(buffer);
      const records = new Array<DecodedRecord>(count);
      for (let i = 0; i < count; i++) records[i] = kafkajsRecordDecoder(new Decoder(readLengthPrefixed(slow)), context);
      return { ...context, records };
    }
    return { ...context, records: decodeRecords(new RecordReader(buffer), count, context) };
  };
}

/** A record's bytes (its varint length prefix consumed), for kafkajs's own record decoder. */
function readLengthPrefixed(decoder: KafkajsDecoder): Buffer {
  const reader = new RecordReader(decoder.buffer);
  reader.at = decoder.offset;
  const length = reader.varint();
  const start = reader.at;
  decoder.offset = start + length;
  return decoder.buffer.subarray(start, start + length);
}

interface KafkajsBatch {
  fetchedOffset: string;
  rawMessages: DecodedRecord[];
  messagesWithinOffset: DecodedRecord[];
  messages: DecodedRecord[];
}

type BatchClass = new (topic: string, fetchedOffset: string, partitionData: { abortedTransactions: AbortedTransaction[] | null | undefined; messages: DecodedRecord[]; partition: number; highWatermark: string }) => KafkajsBatch;

type AbortedFilter = (args: { messages: DecodedRecord[]; abortedTransactions: AbortedTransaction[] | null | undefined }) => DecodedRecord[];

/** kafkajs's Batch with its per-record Long comparison replaced (records of a fetch come in offset order). */
function fastBatch(Batch: BatchClass, filterAbortedMessages: AbortedFilter): BatchClass {
  return class FastBatch extends Batch {
    constructor(topic: string, fetchedOffset: string, partitionData: { abortedTransactions: AbortedTransaction[] | null | undefined; messages: DecodedRecord[]; partition: number; highWatermark: string }) {
      super(topic, fetchedOffset, { ...partitionData, messages: [] });
      const raw = partitionData.messages;
      const from = Number(fetchedOffset);
      let first = raw.length;
      let ordered = Number.isSafeInteger(from);
      for (let i = 0, previous = -1; ordered && i < raw.length; i++) {
        const offset = offsetOf(raw[i] as DecodedRecord);
        ordered = offset > previous;
        previous = offset;
        if (offset >= from && first === raw.length) first = i;
      }
      if (!ordered) {
        // Out of the fast path's assumptions: kafkajs's own filtering.
        const slow = new Batch(topic, fetchedOffset, partitionData);
        Object.assign(this, { rawMessages: slow.rawMessages, messagesWithinOffset: slow.messagesWithinOffset, messages: slow.messages });
        return;
      }
      this.rawMessages = raw;
      this.messagesWithinOffset = first === 0 ? raw : raw.slice(first);
      const kept = filterAbortedMessages({ messages: this.messagesWithinOffset, abortedTransactions: partitionData.abortedTransactions });
      this.messages = kept.some((m) => m.isControlRecord) ? kept.filter((m) => !m.isControlRecord) : kept;
    }
  };
}

function replaceModule(path: string, exports: unknown): void {
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = exports;
  require.cache[path] = module;
}

/** kafkajs's recordBatch/v0/decoder.js replacement, made of the kafkajs pieces it needs (checked). */
export function createRecordBatchDecoder(): (fetchDecoder: KafkajsDecoder) => Promise<RecordContext & { records: DecodedRecord[] }> {
  const Decoder = require('kafkajs/src/protocol/decoder.js') as DecoderClass;
  const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodecByAttributes: (attributes: number) => Codec | null | undefined };
  const { KafkaJSPartialMessageError } = require('kafkajs/src/errors.js') as { KafkaJSPartialMessageError: new (message: string) => Error };
  const recordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (decoder: KafkajsDecoder, context: RecordContext) => DecodedRecord;
  for (const [name, value] of Object.entries({ Decoder, lookupCodecByAttributes, KafkaJSPartialMessageError, recordDecoder })) {
    if (typeof value !== 'function') throw new Error(`kafkajs no longer has ${name} where kafkajs-fetch-decoding.ts expects it`);
  }
  return recordBatchDecoder(recordDecoder, Decoder, lookupCodecByAttributes, KafkaJSPartialMessageError);
}

/**
 * Puts the replacements into the module cache; must run before kafkajs's consumer modules load
 * (kafkajs.ts calls it first thing). `filterAbortedMessages` is rtdw's read_committed filter.
 */
export function installFetchDecoding(filterAbortedMessages: AbortedFilter): void {
  const batchPath = require.resolve('kafkajs/src/consumer/batch.js');
  const batchDecoderPath = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js');
  if ((require.cache[batchPath]?.exports as Record<symbol, unknown> | undefined)?.[INSTALLED] === true) return;
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== KAFKAJS_VERSION) throw new Error(`connectors/kafka/kafkajs-fetch-decoding.ts replaces internals of kafkajs ${KAFKAJS_VERSION}, found ${version}: check the replaced modules against it`);
  if (require.cache[batchPath] !== undefined || require.cache[batchDecoderPath] !== undefined) throw new Error('kafkajs was loaded before connectors/kafka/kafkajs.ts: the fetch decoding cannot be replaced');
  replaceModule(batchDecoderPath, createRecordBatchDecoder());
  // Batch requires the (already replaced) filterAbortedMessages; load it, then shadow it.
  const Batch = require(batchPath) as BatchClass;
  if (typeof Batch !== 'function' || typeof (Batch.prototype as { lastOffset?: unknown }).lastOffset !== 'function') throw new Error(`kafkajs ${version}'s consumer Batch is not the class kafkajs-fetch-decoding.ts extends`);
  replaceModule(batchPath, Object.assign(fastBatch(Batch, filterAbortedMessages), { [INSTALLED]: true }));
}

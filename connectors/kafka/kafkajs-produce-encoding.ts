/**
 * A cheaper produce path for kafkajs 2.2.4 (pinned in package.json, checked by kafkajs-fetch-decoding.ts
 * before this installs): three kafkajs modules are replaced in the module cache before kafkajs loads
 * them (see kafkajs.ts), with the same inputs and outputs.
 *
 * - Produce request v3 (v4–v7 reuse it): kafkajs builds an Encoder, a Buffer.alloc and an object per
 *   record, then CRC-32Cs the batch in JavaScript. Here each uncompressed request is written in one
 *   pass into one growing buffer, CRC-32C by @node-rs/crc32 (native).
 *   Compressed requests keep kafkajs's encoder.
 * - groupMessagesPerPartition: kafkajs copies the partition's list for every message (O(n²)); here
 *   one pass.
 * - murmur2 (the default partitioner's hash): kafkajs multiplies through 64-bit emulation; here
 *   Math.imul over the key's UTF-8 bytes, the same 32-bit result (Kafka's Utils.murmur2).
 *
 * The kafkajs shapes relied on (the request object, an Encoder's `buf`) are checked at install.
 */
import { createRequire, Module } from 'node:module';
// @node-rs/crc32 rather than @platformatic/kafka's re-export: importing that client costs ~0.7 CPU-s at startup.
import { crc32c } from '@node-rs/crc32';
import { varintBytes, zigzag } from './varint.js';

const require = createRequire(import.meta.url);
const INSTALLED = Symbol.for('rtdw.kafkajs.produceEncoding');

interface KafkajsEncoder {
  buf: Buffer;
  writeBuffer(value: Buffer): KafkajsEncoder;
}

type EncoderClass = new () => KafkajsEncoder;

type Bytes = string | Buffer | null | undefined;

export interface ProduceMessage {
  key?: Bytes;
  value: Bytes;
  headers?: Record<string, Bytes | Bytes[]>;
  timestamp?: number | string;
}

export interface ProduceTopicData {
  topic: string;
  partitions: Array<{ partition: number; firstSequence?: number; messages: ProduceMessage[] }>;
}

export interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: { toString(): string } | number | string | bigint;
  producerEpoch?: number;
  compression?: number;
  topicData: ProduceTopicData[];
}

interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<KafkajsEncoder>;
}

const TRANSACTIONAL = 0x10;
/** Bytes of a batch header before the records: baseOffset … recordCount. */
const BATCH_HEADER = 61;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;

/** One request's bytes, written front to back; lengths unknown before their content are reserved and fixed up. */
class RequestWriter {
  buf: Buffer;
  at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(extra: number): void {
    if (this.at + extra <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + extra));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf[this.at++] = v & 0xff;
  }

  int16(v: number): void {
    this.ensure(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }

  int32(v: number): void {
    this.ensure(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.at = this.buf.writeBigInt64BE(v, this.at);
  }

  string(s: string | null): void {
    if (s === null) {
      this.int16(-1);
      return;
    }
    const bytes = Buffer.byteLength(s);
    this.int16(bytes);
    this.ensure(bytes);
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  varint(value: number): void {
    this.ensure(10);
    let v = zigzag(value);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.at++] = v;
  }

  /** Moves [start, at) so that the varint of `length` fits the `reserved` bytes before start, and writes it. */
  placeLength(lengthAt: number, reserved: number, length: number): void {
    const need = varintBytes(length);
    const start = lengthAt + reserved;
    if (need !== reserved) {
      this.ensure(need - reserved);
      this.buf.copyWithin(lengthAt + need, start, this.at);
      this.at += need - reserved;
    }
    // In place, no ensure(): growing here would copy only the bytes before lengthAt.
    let v = zigzag(length);
    let p = lengthAt;
    const buf = this.buf;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[p] = v;
  }

  /** Kafka "varint bytes": a length (-1 for null) and the bytes. */
  bytes(value: Bytes): void {
    if (value === null || value === undefined) {
      this.varint(-1);
      return;
    }
    if (typeof value !== 'string') {
      this.varint(value.length);
      this.ensure(value.length);
      this.at += value.copy(this.buf, this.at);
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit; 2 bytes reserved for the length (values below 8 KiB).
    this.ensure(2 + value.length * 3);
    const lengthAt = this.at;
    this.at += 2;
    const written = this.buf.write(value, this.at, 'utf8');
    this.at += written;
    this.placeLength(lengthAt, 2, written);
  }
}

function timestampOf(message: ProduceMessage, now: number): number {
  return message.timestamp === undefined || message.timestamp === null || message.timestamp === '' ? now : Number(message.timestamp);
}

function writeRecord(w: RequestWriter, message: ProduceMessage, offsetDelta: number, timestampDelta: number): void {
  // 2 bytes reserved for the record's length (records below 8 KiB).
  w.ensure(2);
  const lengthAt = w.at;
  w.at += 2;
  const start = w.at;
  w.int8(0); // attributes
  w.varint(timestampDelta);
  w.varint(offsetDelta);
  w.bytes(message.key);
  w.bytes(message.value);
  const headers = message.headers;
  if (headers === undefined || headers === null) {
    w.varint(0);
  } else {
    let count = 0;
    for (const name in headers) {
      const v = headers[name];
      count += Array.isArray(v) ? v.length : 1;
    }
    w.varint(count);
    for (const name in headers) {
      const v = headers[name];
      for (const one of Array.isArray(v) ? v : [v]) {
        w.bytes(name);
        w.bytes(one);
      }
    }
  }
  w.placeLength(lengthAt, 2, w.at - start);
}

function writeBatch(w: RequestWriter, messages: ProduceMessage[], producerId: bigint, producerEpoch: number, firstSequence: number, transactional: boolean): void {
  const now = Date.now();
  let first = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const m of messages) {
    const t = timestampOf(m, now);
    if (t < first) first = t;
    if (t > max) max = t;
  }
  if (messages.length === 0) first = max = now;
  w.ensure(BATCH_HEADER);
  const batchAt = w.at;
  w.at += BATCH_HEADER;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as ProduceMessage;
    writeRecord(w, m, i, timestampOf(m, now) - first);
  }
  const end = w.at;
  const buf = w.buf;
  buf.writeBigInt64BE(0n, batchAt);
  buf.writeInt32BE(end - batchAt - 12, batchAt + 8);
  buf.writeInt32BE(0, batchAt + 12); // partition leader epoch (as kafkajs)
  buf[batchAt + 16] = 2; // magic
  buf.writeInt16BE(transactional ? TRANSACTIONAL : 0, batchAt + ATTRIBUTES_AT);
  buf.writeInt32BE(messages.length - 1, batchAt + 23);
  buf.writeBigInt64BE(BigInt(first), batchAt + 27);
  buf.writeBigInt64BE(BigInt(max), batchAt + 35);
  buf.writeBigInt64BE(producerId, batchAt + 43);
  buf.writeInt16BE(producerEpoch, batchAt + 51);
  buf.writeInt32BE(firstSequence, batchAt + 53);
  buf.writeInt32BE(messages.length, batchAt + 57);
  buf.writeUInt32BE(crc32c(buf.subarray(batchAt + ATTRIBUTES_AT, end)), batchAt + CRC_AT);
}

/** The payload of an uncompressed Produce request v3, as kafkajs's v3/request.js writes it. */
export function encodeProduceV3(args: ProduceRequestArgs): Buffer {
  const transactionalId = args.transactionalId ?? null;
  const producerId = BigInt(args.producerId === undefined ? -1 : String(args.producerId));
  const producerEpoch = args.producerEpoch ?? 0;
  let estimate = 64;
  for (const t of args.topicData) for (const p of t.partitions) estimate += BATCH_HEADER + 16 + p.messages.length * 64;
  const w = new RequestWriter(estimate);
  w.string(transactionalId);
  w.int16(args.acks);
  w.int32(args.timeout);
  w.int32(args.topicData.length);
  for (const t of args.topicData) {
    w.string(t.topic);
    w.int32(t.partitions.length);
    for (const p of t.partitions) {
      w.int32(p.partition);
      w.ensure(4);
      const sizeAt = w.at;
      w.at += 4;
      writeBatch(w, p.messages, producerId, producerEpoch, p.firstSequence ?? 0, transactionalId !== null);
      w.buf.writeInt32BE(w.at - sizeAt - 4, sizeAt);
    }
  }
  return w.buf.subarray(0, w.at);
}

const M = 0x5bd1e995;

let scratch = Buffer.allocUnsafe(256);

/** Kafka's Utils.murmur2 of the key's UTF-8 bytes (kafkajs's default partitioner hash). */
export function murmur2(key: string | Buffer): number {
  let data: Buffer;
  let length: number;
  if (typeof key === 'string') {
    if (scratch.length < key.length * 3) scratch = Buffer.allocUnsafe(key.length * 3);
    length = scratch.write(key, 0, 'utf8');
    data = scratch;
  } else {
    data = key;
    length = key.length;
  }
  let h = 0x9747b28c ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length % 4;
  if (tail === 3) h ^= (data[length4 + 2] as number) << 16;
  if (tail >= 2) h ^= (data[length4 + 1] as number) << 8;
  if (tail >= 1) h = Math.imul(h ^ (data[length4] as number), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** groupMessagesPerPartition in one pass: partition → its messages, in order. */
function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: { topic: string; partitionMetadata: unknown[]; messages: ProduceMessage[]; partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: ProduceMessage }) => number }): Record<number, ProduceMessage[]> {
  const result: Record<number, ProduceMessage[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

function replaceModule(path: string, exports: unknown): void {
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = exports;
  require.cache[path] = module;
}

/** Puts the replacements into the module cache; must run before kafkajs's producer modules load (kafkajs.ts). */
export function installProduceEncoding(): void {
  const requestPath = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
  const groupPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
  const murmurPath = require.resolve('kafkajs/src/producer/partitioners/default/murmur2.js');
  // Already installed, possibly by another instance of this module (a test runner re-evaluates it per file).
  if ((require.cache[requestPath]?.exports as Record<symbol, unknown> | undefined)?.[INSTALLED] === true) return;
  for (const path of [requestPath, groupPath, murmurPath]) {
    if (require.cache[path] !== undefined) throw new Error('kafkajs was loaded before connectors/kafka/kafkajs.ts: its produce encoding cannot be replaced');
  }
  const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  const { Types } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number } };
  const original = require(requestPath) as (args: ProduceRequestArgs) => ProduceRequest;
  const probe = original({ acks: -1, timeout: 1, topicData: [] });
  if (probe.apiVersion !== 3 || probe.apiName !== 'Produce' || typeof probe.encode !== 'function' || !Buffer.isBuffer(new Encoder().buf) || Types.None !== 0) {
    throw new Error('kafkajs produce request v3 is not the shape kafkajs-produce-encoding.ts replaces');
  }
  const request = (args: ProduceRequestArgs): ProduceRequest => {
    const kafkajsRequest = original(args);
    if ((args.compression ?? Types.None) !== Types.None) return kafkajsRequest;
    return { ...kafkajsRequest, encode: async () => new Encoder().writeBuffer(encodeProduceV3(args)) };
  };
  replaceModule(requestPath, Object.assign(request, { [INSTALLED]: true }));
  replaceModule(groupPath, groupMessagesPerPartition);
  replaceModule(murmurPath, murmur2);
}

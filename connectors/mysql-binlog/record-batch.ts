/**
 * Kafka record batches (message format v2) written in place: each record goes straight from its key and
 * value into the buffer of its topic-partition's batch, so publishing a row costs a couple of buffer
 * writes, not the per-message objects, copies and validation of a client's send path. The first
 * BATCH_HEADER_BYTES of each buffer are left for the header (producer id, epoch, sequence, CRC-32C),
 * which the publisher thread fills in (transactional-publisher.ts).
 *
 * The buffers are slots of memory shared with that thread: registered with it once, then named by id,
 * so a batch changes hands without a copy and without the ArrayBuffer transfers whose repeated external
 * memory accounting made both threads collect garbage for it.
 */
import { varintBytes, zigzag } from '../kafka/varint.js';

/** Bytes before the first record: baseOffset … recordCount. */
export const BATCH_HEADER_BYTES = 61;
/** A record's bytes besides key and value, at most: length, attributes, deltas, lengths, header count. */
const RECORD_OVERHEAD = 24;

/** Short ranges byte by byte: below ~32 bytes cheaper than a native copy call (~70 ns each). */
function copyRange(src: Buffer, start: number, end: number, dst: Buffer, at: number): number {
  if (end - start >= 32) return at + src.copy(dst, at, start, end);
  let p = at;
  for (let i = start; i < end; i++) dst[p++] = src[i] as number;
  return p;
}

function writeVarint(buf: Buffer, at: number, value: number): number {
  let v = zigzag(value);
  let p = at;
  while (v >= 0x80) {
    buf[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[p++] = v;
  return p;
}

/**
 * Puts the varint of `length` into the `reserved` bytes before [start, end), moving the bytes when the
 * varint needs another width; returns the new end. Widths are reserved for the common case, so the
 * move is rare.
 */
function placeLength(buf: Buffer, reservedAt: number, reserved: number, start: number, end: number, length: number): number {
  const need = varintBytes(length);
  if (need !== reserved) buf.copyWithin(reservedAt + need, start, end);
  writeVarint(buf, reservedAt, length);
  return end + need - reserved;
}

/** A batch buffer: shared memory the publisher thread knows by `id`. */
export interface Slot {
  id: number;
  buf: Buffer;
}

/** Smallest slot: most partitions of a transaction hold few records (the position, a small table). */
const MIN_SLOT_BYTES = 64 * 1024;

/**
 * Batch buffers for reuse: a fresh multi-megabyte buffer costs a page fault per 4 KiB touched, a reused
 * one nothing. Slots in use are bounded by the batches encoded ahead; free slots beyond `keepBytes` are
 * dropped (and the publisher thread told to forget them).
 */
export class BufferPool {
  private readonly slots = new Map<number, Slot>();
  private readonly free: Slot[] = [];
  private freeBytes = 0;
  private totalBytes = 0;
  private nextId = 1;
  private created: Array<{ id: number; memory: SharedArrayBuffer }> = [];
  private dropped: number[] = [];
  /** bytes the last batch of each topic-partition came to: the next one likely needs as much */
  private readonly lastSizes = new Map<string, number>();

  constructor(private readonly keepBytes = 256 * 1024 * 1024) {}

  /** The smallest free slot of at least `bytes`, or a new one. */
  get(bytes: number): Slot {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const size = (this.free[i] as Slot).buf.length;
      if (size >= bytes && (best === -1 || size < (this.free[best] as Slot).buf.length)) best = i;
    }
    if (best !== -1) {
      const slot = this.free.splice(best, 1)[0] as Slot;
      this.freeBytes -= slot.buf.length;
      return slot;
    }
    const memory = new SharedArrayBuffer(Math.max(bytes, MIN_SLOT_BYTES));
    const slot = { id: this.nextId++, buf: Buffer.from(memory) };
    this.slots.set(slot.id, slot);
    this.created.push({ id: slot.id, memory });
    this.totalBytes += memory.byteLength;
    return slot;
  }

  release(ids: readonly number[]): void {
    for (const id of ids) {
      const slot = this.slots.get(id);
      if (slot === undefined) continue;
      if (this.freeBytes + slot.buf.length > this.keepBytes || this.totalBytes > 2 * this.keepBytes) {
        this.slots.delete(id);
        this.dropped.push(id);
        this.totalBytes -= slot.buf.length;
        continue;
      }
      this.free.push(slot);
      this.freeBytes += slot.buf.length;
    }
  }

  /** A slot for a new batch of `partition`: as big as its last batch, so that it rarely has to grow. */
  forBatch(partition: string, limit: number): Slot {
    return this.get(Math.min(limit, Math.max(MIN_SLOT_BYTES, this.lastSizes.get(partition) ?? 0)));
  }

  sized(partition: string, bytes: number): void {
    this.lastSizes.set(partition, bytes);
  }

  /**
   * Slots the publisher thread must learn (created) and may forget (dropped) since the last call; a new
   * thread (`all`) learns every slot.
   */
  changes(all: boolean): { created: Array<{ id: number; memory: SharedArrayBuffer }>; dropped: number[] } {
    const created = all ? [...this.slots.values()].map((s) => ({ id: s.id, memory: s.buf.buffer as SharedArrayBuffer })) : this.created;
    const changes = { created, dropped: all ? [] : this.dropped };
    this.created = [];
    this.dropped = [];
    return changes;
  }
}

/** A value assembled from byte ranges (reused from record to record): no copy until it lands in a batch. */
export class ValueParts {
  readonly bufs: Buffer[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  count = 0;
  bytes = 0;

  reset(): void {
    this.count = 0;
    this.bytes = 0;
  }

  push(buf: Buffer, start = 0, end = buf.length): void {
    this.bufs[this.count] = buf;
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count += 1;
    this.bytes += end - start;
  }
}

/** Where encoded messages go: the Kafka transaction being built. A null value is a tombstone (compaction deletes the key). */
export interface RecordSink {
  add(topic: string, partition: number, key: string | null, value: string | null): void;
  /** key: bytes [keyStart, keyEnd) of keyBuf, or none when keyBuf is null */
  addParts(topic: string, partition: number, keyBuf: Buffer | null, keyStart: number, keyEnd: number, value: ValueParts | null): void;
}

/** Bytes of a record with a key of `keyBytes` and a value of `valueBytes` (-1: null), offset delta `delta`. */
function recordBytes(delta: number, keyBytes: number, valueBytes: number): number {
  const body = 2 + varintBytes(delta) + varintBytes(keyBytes) + Math.max(keyBytes, 0) + varintBytes(valueBytes) + Math.max(valueBytes, 0) + 1;
  return varintBytes(body) + body;
}

/** One record batch being filled: records from BATCH_HEADER_BYTES on (timestamp delta 0: the batch's timestamp). */
export class RecordBatch {
  end = BATCH_HEADER_BYTES;
  count = 0;
  private buf: Buffer;

  constructor(
    public slot: Slot,
    private readonly pool: BufferPool,
  ) {
    this.buf = slot.buf;
  }

  /** Appends a record made of byte ranges; the sizes are known, so it is written in one pass. */
  addParts(keyBuf: Buffer | null, keyStart: number, keyEnd: number, value: ValueParts | null): void {
    const keyBytes = keyBuf === null ? -1 : keyEnd - keyStart;
    const valueBytes = value === null ? -1 : value.bytes;
    const body = 2 + varintBytes(this.count) + varintBytes(keyBytes) + Math.max(keyBytes, 0) + varintBytes(valueBytes) + Math.max(valueBytes, 0) + 1;
    this.ensure(varintBytes(body) + body);
    const buf = this.buf;
    let p = writeVarint(buf, this.end, body);
    buf[p++] = 0;
    buf[p++] = 0;
    p = writeVarint(buf, p, this.count);
    p = writeVarint(buf, p, keyBytes);
    if (keyBuf !== null) p = copyRange(keyBuf, keyStart, keyEnd, buf, p);
    p = writeVarint(buf, p, valueBytes);
    if (value !== null) for (let i = 0; i < value.count; i++) p = copyRange(value.bufs[i] as Buffer, value.starts[i] as number, value.ends[i] as number, buf, p);
    buf[p++] = 0;
    this.end = p;
    this.count += 1;
  }

  /** Appends a record from strings (a null value: a tombstone); returns the value's bytes. */
  add(key: string | null, value: string | null): number {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.ensure(RECORD_OVERHEAD + (key === null ? 0 : key.length * 3) + (value === null ? 0 : value.length * 3));
    const buf = this.buf;
    const start = this.end;
    // 2 bytes reserved for the record length (records up to 8 KiB), then attributes and timestamp delta.
    const body = start + 2;
    buf[body] = 0;
    buf[body + 1] = 0;
    let p = writeVarint(buf, body + 2, this.count);
    if (key === null) {
      buf[p++] = 1; // zigzag(-1): null key
    } else {
      // 1 byte reserved for the key length (keys up to 63 bytes).
      const written = buf.write(key, p + 1, 'utf8');
      p = placeLength(buf, p, 1, p + 1, p + 1 + written, written);
    }
    let written = 0;
    if (value === null) {
      buf[p++] = 1; // zigzag(-1): null value
    } else {
      // 2 bytes reserved for the value length (values up to 8 KiB).
      written = buf.write(value, p + 2, 'utf8');
      p = placeLength(buf, p, 2, p + 2, p + 2 + written, written);
    }
    buf[p++] = 0; // no headers
    this.end = placeLength(buf, start, 2, body, p, p - body);
    this.count += 1;
    return written;
  }

  /** A batch starts in a small slot and moves to a bigger one as it fills (a reused slot is usually big enough). */
  private ensure(extra: number): void {
    if (this.end + extra <= this.buf.length) return;
    const grown = this.pool.get(Math.max(2 * this.buf.length, this.end + extra));
    this.buf.copy(grown.buf, 0, 0, this.end);
    this.pool.release([this.slot.id]);
    this.slot = grown;
    this.buf = grown.buf;
  }
}

export interface PartitionBatches {
  topic: string;
  partition: number;
  /** topic and partition, for the pool's size memory */
  key: string;
  maxBatchBytes: number;
  batches: RecordBatch[];
}

/** Whether a record of these strings still fits the batch; byte lengths are only computed near the limit. */
function fits(batch: RecordBatch, maxBatchBytes: number, key: string | null, value: string | null): boolean {
  if (batch.count === 0) return true;
  const units = RECORD_OVERHEAD + (key?.length ?? 0) + (value?.length ?? 0);
  if (batch.end + units * 3 <= maxBatchBytes) return true;
  if (batch.end + units > maxBatchBytes) return false;
  return batch.end + RECORD_OVERHEAD + (key === null ? 0 : Buffer.byteLength(key)) + (value === null ? 0 : Buffer.byteLength(value)) <= maxBatchBytes;
}

/** A partition's batches as sent to the publisher thread: slot ids, the bytes stay where they are. */
export interface TransferredPartition {
  topic: string;
  partition: number;
  batches: Array<{ slot: number; end: number; count: number }>;
}

/**
 * The records of one Kafka transaction, per topic-partition, in arrival order, split into batches of at
 * most the topic's batch size (a batch must fit the topic's max.message.bytes; a single larger record
 * gets a batch of its own).
 */
export class TransactionRecords implements RecordSink {
  /** per topic, per partition number */
  private readonly byTopic = new Map<string, PartitionBatches[]>();
  records = 0;
  /** bytes of values (CDC_BATCH_BYTES) */
  bytes = 0;
  /** the partitions of the topic written last */
  private lastTopic = '';
  private lastPartitions: PartitionBatches[] = [];

  constructor(
    private readonly maxBatchBytes: (topic: string) => number,
    private readonly pool: BufferPool,
  ) {}

  add(topic: string, partition: number, key: string | null, value: string | null): void {
    const target = this.target(topic, partition);
    let batch = target.batches[target.batches.length - 1];
    if (batch === undefined || !fits(batch, target.maxBatchBytes, key, value)) batch = this.newBatch(target);
    this.bytes += batch.add(key, value);
    this.records += 1;
  }

  addParts(topic: string, partition: number, keyBuf: Buffer | null, keyStart: number, keyEnd: number, value: ValueParts | null): void {
    const target = this.target(topic, partition);
    let batch = target.batches[target.batches.length - 1];
    const valueBytes = value === null ? -1 : value.bytes;
    if (batch === undefined || (batch.count > 0 && batch.end + recordBytes(batch.count, keyBuf === null ? -1 : keyEnd - keyStart, valueBytes) > target.maxBatchBytes)) {
      batch = this.newBatch(target);
    }
    batch.addParts(keyBuf, keyStart, keyEnd, value);
    this.bytes += Math.max(valueBytes, 0);
    this.records += 1;
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** The batches for the publisher thread, which owns their slots until it hands them back (this object is spent). */
  transfer(): TransferredPartition[] {
    const partitions = [...this.byTopic.values()].flatMap((list) => list.filter((p) => p !== undefined)).map((p) => {
      this.pool.sized(p.key, p.batches[p.batches.length - 1]?.end ?? 0);
      return { topic: p.topic, partition: p.partition, batches: p.batches.map((b) => ({ slot: b.slot.id, end: b.end, count: b.count })) };
    });
    this.byTopic.clear();
    return partitions;
  }

  private target(topic: string, partition: number): PartitionBatches {
    if (topic !== this.lastTopic) {
      let list = this.byTopic.get(topic);
      if (list === undefined) {
        list = [];
        this.byTopic.set(topic, list);
      }
      this.lastTopic = topic;
      this.lastPartitions = list;
    }
    let target = this.lastPartitions[partition];
    if (target === undefined) {
      target = { topic, partition, key: `${topic}\u0000${partition}`, maxBatchBytes: this.maxBatchBytes(topic), batches: [] };
      this.lastPartitions[partition] = target;
    }
    return target;
  }

  private newBatch(target: PartitionBatches): RecordBatch {
    const batch = new RecordBatch(this.pool.forBatch(target.key, target.maxBatchBytes), this.pool);
    target.batches.push(batch);
    return batch;
  }
}

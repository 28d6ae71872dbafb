/**
 * Kafka transactions of pre-built record batches, over @platformatic/kafka (runs in the publisher
 * thread, publisher-worker.ts).
 *
 * The client does the protocol work that must be right (finding the coordinator, InitProducerId, which
 * fences an older instance of the same transactional id and aborts its open transaction,
 * AddPartitionsToTxn, EndTxn, connections, retries); the records go out as the batches record-batch.ts
 * built, in Produce requests written here, so a row costs no per-message work in the client. The
 * batches are idempotent: sequence numbers per partition continue across transactions of one producer
 * epoch and restart with a new epoch.
 */
import { Producer, Writer, crc32c, kGetConnection, produceV9, type Broker, type ClusterMetadata, type Connection, type MessageRecord } from '@platformatic/kafka';
import type { TransferredPartition } from './record-batch.js';

export interface PublisherOptions {
  clientId: string;
  brokers: string[];
  transactionalId: string;
}

const PRODUCE_TIMEOUT_MS = 30_000;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
/** Attributes bit 4: the batch belongs to a transaction. */
const TRANSACTIONAL = 0x10;
const EMPTY = Buffer.alloc(0);
/**
 * InitProducerId for a new producer. The client's default (id 0, epoch 0) asks to re-initialize
 * producer 0, which the coordinator refuses as fenced once the transactional id has any producer.
 */
const NEW_PRODUCER = { producerId: -1n, producerEpoch: -1 };

/** Fills in the header of the batch in buf[0, end) (records from BATCH_HEADER_BYTES on); returns its bytes. */
export function sealBatch(buf: Buffer, end: number, count: number, producerId: bigint, producerEpoch: number, baseSequence: number, timestamp: bigint): Buffer {
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(end - 12, 8);
  buf.writeInt32BE(-1, 12); // partition leader epoch: set by the broker
  buf[16] = 2; // magic
  buf.writeInt16BE(TRANSACTIONAL, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(count - 1, 23);
  buf.writeBigInt64BE(timestamp, 27);
  buf.writeBigInt64BE(timestamp, 35);
  buf.writeBigInt64BE(producerId, 43);
  buf.writeInt16BE(producerEpoch, 51);
  buf.writeInt32BE(baseSequence, 53);
  buf.writeInt32BE(count, 57);
  // Through a Writer's DynamicBuffer the CRC reads the bytes in place (a plain Buffer is copied first).
  buf.writeUInt32BE(crc32c(Writer.create().append(buf.subarray(ATTRIBUTES_OFFSET, end)).dynamicBuffer), CRC_OFFSET);
  return buf.subarray(0, end);
}

/** DefaultRecordBatch.incrementSequence: sequences wrap to 0 after Integer.MAX_VALUE. */
function nextSequence(sequence: number, increment: number): number {
  return sequence > 0x7fffffff - increment ? increment - (0x7fffffff - sequence) - 1 : sequence + increment;
}

/**
 * AddPartitionsToTxn answers CONCURRENT_TRANSACTIONS until the previous transaction's markers are
 * written (a few ms): retry that quickly, as the Java client does, and everything else with a backoff.
 */
function retryDelay(_client: unknown, operationId: string, attempt: number): number {
  return operationId === 'addPartitionsToTransaction' ? Math.min(2 * attempt, 50) : Math.min(100 * 2 ** attempt, 2000);
}

interface ProducePart {
  topic: string;
  partition: number;
  bytes: Buffer;
}

export class TransactionalPublisher {
  private readonly producer: Producer;
  private readonly sequences = new Map<string, number>();
  /** producer id and epoch the sequences belong to */
  private sequencesOf = '';

  constructor(private readonly options: PublisherOptions) {
    this.producer = new Producer({
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      idempotent: true,
      transactionalId: options.transactionalId,
      autocreateTopics: false,
      retries: 20,
      retryDelay,
    });
  }

  /** Finds the coordinator and takes the transactional id (InitProducerId), fencing any older holder. */
  async init(): Promise<void> {
    const txn = await this.producer.beginTransaction(NEW_PRODUCER);
    // Nothing was sent: dropping the transaction locally leaves the initialized producer id in place.
    await txn.cancel();
  }

  /**
   * One Kafka transaction with every batch of `parts` (in `slots`), per-partition order kept: all of it
   * commits, or none. The batches are sealed in place; their slots are free again once this returns or throws.
   */
  async publish(parts: TransferredPartition[], slots: ReadonlyMap<number, Buffer>): Promise<void> {
    const txn = await this.producer.beginTransaction(NEW_PRODUCER);
    try {
      const metadata = await this.producer.metadata({ topics: [...new Set(parts.map((p) => p.topic))] });
      const registrations: MessageRecord[] = parts.map((p) => ({ topic: p.topic, partition: p.partition, value: EMPTY }));
      await txn.addPartitions(metadata, registrations);
      this.resetSequencesOnNewEpoch();
      // A Produce request carries at most one batch per partition: the n-th batches of all partitions go together.
      const rounds = Math.max(...parts.map((p) => p.batches.length));
      const timestamp = BigInt(Date.now());
      for (let round = 0; round < rounds; round++) {
        const byLeader = new Map<number, ProducePart[]>();
        for (const part of parts) {
          const batch = part.batches[round];
          if (batch === undefined) continue;
          const leader = this.leaderOf(metadata, part);
          const id = `${part.topic}:${part.partition}`;
          const sequence = this.sequences.get(id) ?? 0;
          const buf = slots.get(batch.slot);
          if (buf === undefined) throw new Error(`batch slot ${batch.slot} was never registered`);
          const bytes = sealBatch(buf, batch.end, batch.count, this.producer.producerId ?? -1n, this.producer.producerEpoch ?? 0, sequence, timestamp);
          this.sequences.set(id, nextSequence(sequence, batch.count));
          const group = byLeader.get(leader) ?? [];
          byLeader.set(leader, group);
          group.push({ topic: part.topic, partition: part.partition, bytes });
        }
        await Promise.all([...byLeader].map(([leader, group]) => this.produce(this.brokerOf(metadata, leader), group)));
      }
      await txn.commit();
    } catch (err) {
      // A failed produce leaves the sequences unknown: the caller drops this publisher and a new one fences it.
      await txn.abort().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.producer.close(true);
  }

  private resetSequencesOnNewEpoch(): void {
    const of = `${this.producer.producerId}/${this.producer.producerEpoch}`;
    if (of === this.sequencesOf) return;
    this.sequences.clear();
    this.sequencesOf = of;
  }

  private leaderOf(metadata: ClusterMetadata, part: TransferredPartition): number {
    const leader = metadata.topics.get(part.topic)?.partitions[part.partition]?.leader;
    if (leader === undefined || leader < 0) throw new Error(`no leader for ${part.topic}-${part.partition}`);
    return leader;
  }

  private brokerOf(metadata: ClusterMetadata, id: number): Broker {
    const broker = metadata.brokers.get(id);
    if (broker === undefined) throw new Error(`broker ${id} is not in the cluster metadata`);
    return broker;
  }

  private async produce(broker: Broker, group: ProducePart[]): Promise<void> {
    const connection = await new Promise<Connection>((resolve, reject) => {
      this.producer[kGetConnection](broker, (err, conn) => (err ? reject(err) : resolve(conn as Connection)));
    });
    const topics = new Map<string, ProducePart[]>();
    for (const part of group) {
      const list = topics.get(part.topic) ?? [];
      topics.set(part.topic, list);
      list.push(part);
    }
    // Produce v9: transactional id, acks=all, timeout, [topic [partition, records]], tagged fields.
    const payload = (): Writer =>
      Writer.create()
        .appendString(this.options.transactionalId)
        .appendInt16(-1)
        .appendInt32(PRODUCE_TIMEOUT_MS)
        .appendArray([...topics], (w, [topic, partitions]) => {
          w.appendString(topic).appendArray(partitions, (pw, { partition, bytes }) => {
            pw.appendInt32(partition).appendUnsignedVarInt(bytes.length + 1).append(bytes);
          });
        })
        .appendTaggedFields();
    await new Promise<void>((resolve, reject) => {
      connection.send(0, 9, payload, produceV9.parseResponse, true, true, (err) => (err ? reject(err) : resolve()));
    });
  }
}

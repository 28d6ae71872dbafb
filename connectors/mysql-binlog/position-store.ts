/**
 * The CDC position, kept in a compacted Kafka topic keyed by connector name. The record is written
 * in the same Kafka transaction as the messages it covers, so the stored position never runs ahead
 * of (or behind) what Kafka holds.
 */
import type { Kafka, Message } from 'kafkajs';
import { readToEnd } from '../kafka/read-to-end.js';
import { ensureTopics } from '../kafka/topics.js';

/** A primary-key value as the snapshot's keyset pagination resumes from it: text, NULL, or a binary column's bytes. */
export type StoredKeyValue = string | null | { base64: string };

/** Primary keys (after, upTo], in key order: a snapshot of part of a table (`rtdw reconcile --repair`). */
export interface SnapshotKeyRange {
  /** the key the range starts after; null: from the table's first row */
  after: StoredKeyValue[] | null;
  /** the last key of the range (inclusive) */
  upTo: StoredKeyValue[];
}

export interface SnapshotTableRef {
  database: string;
  table: string;
  /** the table has no primary key (read in one chunk; its binlog events wait for it) */
  keyless?: true;
  /** only these keys; absent: the whole table */
  range?: SnapshotKeyRange;
}

/** Where a snapshot is, committed with the rows it published: a restart resumes right after them. */
export interface SnapshotProgress {
  /** tables still to read, in order; the first is being read */
  tables: SnapshotTableRef[];
  /** primary key of the last row read of tables[0] (the next chunk starts after it); null: from its first row */
  after: StoredKeyValue[] | null;
  /** rows this snapshot has published so far */
  rows: number;
}

export interface StoredPosition {
  /** 'snapshot' while a snapshot is under way (`snapshot` says where); it streams the binlog meanwhile. */
  phase: 'snapshot' | 'stream';
  /** binlog file and the offset after the last committed transaction */
  file: string;
  pos: number;
  /** executed GTIDs: a MariaDB position ('0-1-42') or a MySQL GTID set; '' when the server has none */
  gtid: string;
  /** last Canal batch id used, so ids keep growing across restarts */
  batchId: number;
  /** event time (ms) of the last committed transaction */
  eventTime: number;
  committedAt: number;
  snapshot?: SnapshotProgress;
  /** offset of the next request to read from the signal topic (`rtdw cdc snapshot`); absent: from its earliest */
  signalOffset?: string;
}

export class PositionStore {
  constructor(private readonly kafka: Kafka, readonly topic: string, readonly key: string) {}

  async ensureTopic(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [{ topic: this.topic, partitions: 1, config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' } }]);
    } finally {
      await admin.disconnect();
    }
  }

  /** The message to send inside the transaction that publishes everything up to `position`. */
  message(position: StoredPosition): Message & { key: string; value: string } {
    return { key: this.key, value: JSON.stringify(position) };
  }

  /** Reads the topic to its end (read_committed) and returns the last position stored under the key. */
  async load(): Promise<StoredPosition | undefined> {
    let latest: StoredPosition | undefined;
    await readToEnd(this.kafka, this.topic, (message) => {
      if (message.key?.toString() !== this.key) return;
      latest = message.value === null ? undefined : (JSON.parse(message.value.toString()) as StoredPosition);
    });
    return latest;
  }

  /** Forgets the position (a tombstone): the next start snapshots or starts at the end, per CDC_SNAPSHOT. */
  async clear(): Promise<void> {
    const producer = this.kafka.producer({ idempotent: true });
    await producer.connect();
    try {
      await producer.send({ topic: this.topic, acks: -1, messages: [{ key: this.key, value: null }] });
    } finally {
      await producer.disconnect();
    }
  }
}

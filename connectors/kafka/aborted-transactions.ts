/**
 * read_committed filtering of a fetched partition, as the Java consumer does it (Fetcher's
 * abortedProducerIds + a queue of aborted transactions ordered by first offset).
 *
 * kafkajs 2.2.4 takes the fetch response's aborted-transaction list in the order the broker sends it
 * (the order the transactions ended, i.e. of their abort markers) and enters at most one aborted
 * transaction per record. When two producers' aborted transactions interleave, e.g. both fenced by a
 * restart, the records of the one that began first and ended second are returned as if committed.
 * This module replaces kafkajs' filter (see kafkajs.ts).
 */

/** The fields of a decoded kafkajs record that the filter reads. */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  batchContext: { producerId: string | number; inTransaction: boolean };
  isControlRecord: boolean;
}

export interface AbortedTransaction {
  producerId: string | number;
  firstOffset: string | number;
}

/** Control record key of an ABORT marker: version 0, type 0. */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isAbortMarker(record: FetchedRecord): boolean {
  return record.isControlRecord === true && record.key !== null && Buffer.from(record.key).equals(ABORT_MARKER_KEY);
}

/**
 * The records that are not part of an aborted transaction (control records are kept: the caller
 * drops them). Records must be in offset order, as a fetch returns them.
 */
export function filterAbortedRecords<T extends FetchedRecord>({ messages, abortedTransactions }: { messages: T[]; abortedTransactions?: AbortedTransaction[] | null }): T[] {
  if (abortedTransactions === undefined || abortedTransactions === null || abortedTransactions.length === 0) return messages;
  const pending = abortedTransactions.map((t) => ({ producerId: String(t.producerId), firstOffset: BigInt(t.firstOffset) })).sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<string>();
  let next = 0;
  return messages.filter((record) => {
    const offset = BigInt(record.offset);
    // Every aborted transaction that has begun by this offset, not just the next one.
    while (next < pending.length && (pending[next] as { firstOffset: bigint }).firstOffset <= offset) abortedProducers.add((pending[next++] as { producerId: string }).producerId);
    const producerId = String(record.batchContext.producerId);
    if (isAbortMarker(record)) {
      // The aborted transaction ends here; the producer's later transactions are read normally.
      abortedProducers.delete(producerId);
      return true;
    }
    return !(record.batchContext.inTransaction && abortedProducers.has(producerId));
  });
}

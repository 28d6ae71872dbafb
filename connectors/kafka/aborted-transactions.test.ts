import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../schemas/config.js';
import { filterAbortedRecords, type FetchedRecord } from './aborted-transactions.js';
import { Kafka } from './kafkajs.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

function data(offset: number, producerId: number, inTransaction = true): FetchedRecord & { value: string } {
  return { offset: String(offset), key: Buffer.from(`k${offset}`), isControlRecord: false, batchContext: { producerId: String(producerId), inTransaction }, value: `p${producerId}@${offset}` };
}

function marker(offset: number, producerId: number, key: Buffer): FetchedRecord & { value: string } {
  return { offset: String(offset), key, isControlRecord: true, batchContext: { producerId: String(producerId), inTransaction: true }, value: '' };
}

const range = (from: number, to: number, producerId: number) => Array.from({ length: to - from + 1 }, (_, i) => data(from + i, producerId));
const values = (records: Array<{ value: string; isControlRecord: boolean }>) => records.filter((r) => !r.isControlRecord).map((r) => r.value);

/**
 * The layout a restart leaves: producer 1 wrote 0..2, producer 2 wrote 3..5, both were fenced and
 * aborted (2's marker first), then both committed a retry. The broker lists aborted transactions
 * in marker order, so producer 2's comes first.
 */
const fencedTwice = [...range(0, 2, 1), ...range(3, 5, 2), marker(6, 2, ABORT), marker(7, 1, ABORT), ...range(8, 10, 2), ...range(11, 13, 1), marker(14, 1, COMMIT), marker(15, 2, COMMIT)];
const abortedInMarkerOrder = [
  { producerId: '2', firstOffset: '3' },
  { producerId: '1', firstOffset: '0' },
];

describe('read_committed filtering of aborted transactions', () => {
  it('drops every aborted record when the broker lists the aborted transactions out of first-offset order', () => {
    expect(values(filterAbortedRecords({ messages: fencedTwice, abortedTransactions: abortedInMarkerOrder }))).toEqual(['p2@8', 'p2@9', 'p2@10', 'p1@11', 'p1@12', 'p1@13']);
  });

  it('enters every aborted transaction that began before the first fetched record', () => {
    // A fetch from offset 2: both transactions began earlier.
    const fetched = fencedTwice.slice(2);
    expect(values(filterAbortedRecords({ messages: fetched, abortedTransactions: abortedInMarkerOrder }))).toEqual(['p2@8', 'p2@9', 'p2@10', 'p1@11', 'p1@12', 'p1@13']);
  });

  it('keeps non-transactional records, committed transactions and the producer’s transactions after its abort marker', () => {
    const records = [data(0, 7, false), ...range(1, 2, 1), marker(3, 1, ABORT), data(4, 7, false), ...range(5, 6, 1), marker(7, 1, COMMIT)];
    expect(values(filterAbortedRecords({ messages: records, abortedTransactions: [{ producerId: 1, firstOffset: 1 }] }))).toEqual(['p7@0', 'p7@4', 'p1@5', 'p1@6']);
  });

  it('keeps control records for the caller and returns the input untouched without aborted transactions', () => {
    expect(filterAbortedRecords({ messages: fencedTwice, abortedTransactions: [] })).toBe(fencedTwice);
    expect(filterAbortedRecords({ messages: fencedTwice, abortedTransactions: abortedInMarkerOrder }).filter((r) => r.isControlRecord)).toHaveLength(4);
  });

  it("is the filter of kafkajs' fetched batches once connectors/kafka/kafkajs.ts is loaded", () => {
    expect(typeof Kafka).toBe('function');
    const require = createRequire(import.meta.url);
    const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: object) => { messages: Array<{ value: string }> };
    const batch = new Batch('t', '0', { partition: 0, highWatermark: '16', abortedTransactions: abortedInMarkerOrder, messages: fencedTwice });
    expect(batch.messages.map((m) => m.value)).toEqual(['p2@8', 'p2@9', 'p2@10', 'p1@11', 'p1@12', 'p1@13']);
  });

  it("no source file takes kafkajs' values from 'kafkajs' directly (they would load it unfixed)", () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.mjs'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter((f) => f !== '' && f !== 'connectors/kafka/kafkajs.ts');
    const offenders = files.filter((f) => /^import (?!type )[^;]*from 'kafkajs'/m.test(readFileSync(`${repoRoot}/${f}`, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

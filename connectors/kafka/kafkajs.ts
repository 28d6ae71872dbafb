/**
 * kafkajs, with its read_committed filter replaced by aborted-transactions.ts. Every value import of
 * kafkajs in rtdw goes through this module (type-only imports may name 'kafkajs'): kafkajs binds the
 * filter when its consumer module loads, so the replacement must be in the module cache first.
 */
import { createRequire, Module } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import { filterAbortedRecords } from './aborted-transactions.js';
import { installFetchDecoding } from './kafkajs-fetch-decoding.js';
import { installProduceEncoding } from './kafkajs-produce-encoding.js';

const require = createRequire(import.meta.url);
const INSTALLED = Symbol.for('rtdw.kafkajs.readCommittedFilter');

function installReadCommittedFilter(): void {
  const filterPath = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
  const batchPath = require.resolve('kafkajs/src/consumer/batch.js');
  // Already installed, possibly by another instance of this module (a test runner re-evaluates it per file).
  if ((require.cache[filterPath]?.exports as Record<symbol, unknown> | undefined)?.[INSTALLED] === true) return;
  if (require.cache[batchPath] !== undefined) {
    throw new Error("kafkajs was loaded before connectors/kafka/kafkajs.ts: import kafkajs's values from that module, or read_committed consumers may return aborted records");
  }
  const module = new Module(filterPath);
  module.filename = filterPath;
  module.loaded = true;
  module.exports = Object.assign((...args: Parameters<typeof filterAbortedRecords>) => filterAbortedRecords(...args), { [INSTALLED]: true });
  require.cache[filterPath] = module;
}

installReadCommittedFilter();
installFetchDecoding(filterAbortedRecords);
installProduceEncoding();
const kafkajs = require('kafkajs') as typeof KafkaJs;

export const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
export type Kafka = KafkaJs.Kafka;
export type logLevel = KafkaJs.logLevel;
export type ConfigResourceTypes = KafkaJs.ConfigResourceTypes;

/** kafkajs clients from rtdw config, logging through pino instead of kafkajs' console logger. */
import { Kafka, logLevel } from './kafkajs.js';
import type { KafkaConfig, logCreator } from 'kafkajs';
import type { RtdwConfig } from '../../schemas/config.js';
import type { Logger } from '../observability/logger.js';

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warnings that say nothing an operator can act on, logged at debug: rtdw's producers are
 * transactional (a send that gives up aborts the transaction and the stage rewinds, so limited retries
 * keep exactly-once), and every producer picks its partitions explicitly or by key hash on purpose.
 */
const BENIGN = ['Limiting retries for the idempotent producer may invalidate EoS guarantees', 'KafkaJS v2.0.0 switched default partitioner'];

function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ level, log }) => {
    const { message, ...extra } = log;
    const benign = level === logLevel.WARN && BENIGN.some((b) => message.startsWith(b));
    logger[benign ? 'debug' : (levelNames[level] ?? 'info')]({ kafka: extra }, message);
  };
}

export function createKafka(config: RtdwConfig, clientSuffix: string, logger: Logger, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: `${config.kafka.clientId}-${clientSuffix}`,
    brokers: config.kafka.brokers,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ lib: 'kafkajs' })),
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    // kafkajs' 1 s default gives up on a broker that is merely busy (a loaded 2-core machine), and
    // each give-up costs a reconnect and, for a consumer, often a rebalance.
    connectionTimeout: 10_000,
    ...overrides,
  });
}

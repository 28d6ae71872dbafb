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

function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ level, log }) => {
    const { message, ...extra } = log;
    logger[levelNames[level] ?? 'info']({ kafka: extra }, message);
  };
}

export function createKafka(config: RtdwConfig, clientSuffix: string, logger: Logger, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: `${config.kafka.clientId}-${clientSuffix}`,
    brokers: config.kafka.brokers,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ lib: 'kafkajs' })),
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    ...overrides,
  });
}

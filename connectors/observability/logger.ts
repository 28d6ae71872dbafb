/** Structured JSON logs (pino) for every long-running rtdw process. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** `destination`: stdout unless given (commands whose stdout is their output log to stderr: pino.destination(2)). */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    base: { pid: process.pid, component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Credentials never reach the logs, even when a config object is logged by mistake.
    redact: { paths: ['*.password', '*.*.password', 'password', '*.sasl', 'config.mysql', 'config.clickhouse.password'], censor: '[redacted]' },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

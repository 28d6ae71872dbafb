/** Structured JSON logs (pino) for every long-running rtdw process. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid, component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Credentials never reach the logs, even when a config object is logged by mistake.
    redact: { paths: ['*.password', '*.*.password', 'password', '*.sasl', 'config.mysql', 'config.clickhouse.password'], censor: '[redacted]' },
  });
}

/** ClickHouse connection and sink settings, from RtdwConfig (CLICKHOUSE_* variables). */
import type { RtdwConfig } from '../../schemas/config.js';

export interface ClickHouseOptions {
  url: string;
  user: string;
  password: string;
  database: string;
  /** the sink inserts once this many rows wait ... */
  batchRows: number;
  /** ... or once the oldest waiting row has waited this long */
  flushMs: number;
  /** longest pause between two attempts while ClickHouse is away */
  maxRetryDelayMs: number;
}

export function clickHouseOptions(config: RtdwConfig, overrides: Partial<ClickHouseOptions> = {}): ClickHouseOptions {
  const { url, user, password, database, batchRows, flushMs } = config.clickhouse;
  return { url, user, password, database, batchRows, flushMs, maxRetryDelayMs: 10_000, ...overrides };
}

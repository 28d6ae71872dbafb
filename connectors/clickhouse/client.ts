/**
 * @clickhouse/client over HTTP, with the settings every rtdw request relies on. Works unchanged
 * against a ClickHouse server and the local stack's chdb HTTP server (chdb is never loaded here).
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { ClickHouseOptions } from './config.js';

export type { ClickHouseClient };

/** Output every reader can parse exactly: 64-bit integers as strings, decimals with their scale. */
const READ_SETTINGS: ClickHouseSettings = {
  output_format_json_quote_64bit_integers: 1,
  output_format_decimal_trailing_zeros: 1,
};

/**
 * Inserts as the sink writes them: synchronous (acknowledged = written, which async inserts on by
 * default in chdb are not), strict about unknown fields, the plain time format the encoder writes.
 */
export const INSERT_SETTINGS: ClickHouseSettings = {
  async_insert: 0,
  insert_deduplicate: 1,
  input_format_skip_unknown_fields: 0,
  date_time_input_format: 'basic',
  // A snapshot or a catch-up carries rows of many days at once; ClickHouse's default refuses more than 100 day partitions per block.
  max_partitions_per_insert_block: '1000',
};

/** A client for `database` (the pipeline's by default); close it when done. */
export function createClickHouse(options: Pick<ClickHouseOptions, 'url' | 'user' | 'password'> & { database?: string }, requestTimeoutMs = 60_000): ClickHouseClient {
  return createClient({
    url: options.url,
    username: options.user,
    password: options.password,
    ...(options.database === undefined ? {} : { database: options.database }),
    request_timeout: requestTimeoutMs,
    clickhouse_settings: READ_SETTINGS,
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/** `name` quoted as a ClickHouse identifier. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** ClickHouse error codes of inserts whose data, not the server, is at fault: retrying cannot help. */
const DATA_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT
]);

/** The insert's rows were refused (as opposed to ClickHouse being unreachable, overloaded or not set up). */
export function isDataError(err: unknown): boolean {
  // chdb's errors are ClickHouseError-shaped but not instances of the client's class: read the code.
  const code = Number((err as { code?: unknown } | null)?.code);
  return Number.isInteger(code) && DATA_ERROR_CODES.has(code);
}

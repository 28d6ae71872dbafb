/**
 * The ClickHouse side of reconcile: @clickhouse/client over HTTP with RtdwConfig.clickhouse
 * (a server or the local stack's chdb HTTP server alike; chdb itself is never loaded here).
 * Every value is a {name:Type} parameter; identifiers are validated by the callers (sql.ts).
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { RtdwConfig } from '../../schemas/config.js';

export type QueryParams = Record<string, unknown>;

export interface ClickHouseReader {
  readonly url: string;
  readonly database: string;
  rows<T>(query: string, params?: QueryParams): Promise<T[]>;
  command(query: string, params?: QueryParams): Promise<void>;
  insert(table: string, values: Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

/** A reader whose unqualified tables are those of `options.database`; close it when done. */
export function connectClickHouse(options: RtdwConfig['clickhouse'], requestTimeoutMs = 120_000): ClickHouseReader {
  const client: ClickHouseClient = createClient({
    url: options.url,
    username: options.user,
    password: options.password,
    database: options.database,
    request_timeout: requestTimeoutMs,
    // 64-bit integers as strings from a server and chdb alike (chdb gives numbers otherwise).
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    log: { level: ClickHouseLogLevel.OFF },
  });
  return {
    url: options.url,
    database: options.database,
    async rows<T>(query: string, params: QueryParams = {}): Promise<T[]> {
      const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
      return rs.json<T>();
    },
    async command(query: string, params: QueryParams = {}): Promise<void> {
      await client.command({ query, query_params: params });
    },
    async insert(table: string, values: Record<string, unknown>[]): Promise<void> {
      await client.insert({ table, values, format: 'JSONEachRow', clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' } });
    },
    close: () => client.close(),
  };
}

/** Resolves when ClickHouse answers; throws with the reason otherwise. */
export async function assertClickHouseReachable(reader: ClickHouseReader): Promise<void> {
  try {
    await reader.rows('SELECT 1');
  } catch (err) {
    throw new Error(`ClickHouse at ${reader.url} is unreachable: ${(err as Error).message}`);
  }
}

/** Readiness check of a ClickHouse connection: a `SELECT 1` (so the credentials are checked too, which /ping does not). */
import type { CheckResult } from '../observability/health.js';
import type { ClickHouseClient } from './client.js';

export async function clickHouseReachable(client: ClickHouseClient, timeoutMs = 1500): Promise<CheckResult> {
  const result = await client.ping({ select: true, abort_signal: AbortSignal.timeout(timeoutMs) });
  return result.success ? { ok: true, detail: 'SELECT 1 answered' } : { ok: false, detail: `ClickHouse unreachable: ${result.error.message}` };
}

/**
 * Readiness of a process, asked at /readyz: each running part (a consumer, a sink's ClickHouse or
 * Redis connection, the CDC reader) registers a check while it runs and removes it when it stops.
 * The process is ready when it has at least one check and every check passes. /healthz (alive) asks
 * nothing: a process that can answer HTTP is alive.
 */

export interface CheckResult {
  ok: boolean;
  /** what the check saw, for an operator: "consumer running", "ClickHouse unreachable: ECONNREFUSED" */
  detail: string;
}

export type ReadinessCheck = () => CheckResult | Promise<CheckResult>;

export interface Readiness {
  ready: boolean;
  checks: Array<CheckResult & { name: string }>;
}

/** A check that does not answer in this time counts as failed (a dependency that hangs is not reachable). */
const CHECK_TIMEOUT_MS = 2000;

const checks = new Map<symbol, { name: string; check: ReadinessCheck }>();

/** Registers a check under `name` (names may repeat: two sinks of one kind in one process); returns its removal. */
export function addReadinessCheck(name: string, check: ReadinessCheck): () => void {
  const id = Symbol(name);
  checks.set(id, { name, check });
  return () => {
    checks.delete(id);
  };
}

async function run(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer in ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timedOut]);
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(timeoutMs = CHECK_TIMEOUT_MS): Promise<Readiness> {
  const entries = [...checks.values()];
  const results = await Promise.all(entries.map(async ({ name, check }) => ({ name, ...(await run(check, timeoutMs)) })));
  results.sort((a, b) => a.name.localeCompare(b.name));
  if (results.length === 0) return { ready: false, checks: [{ name: 'process', ok: false, detail: 'nothing running yet (starting or stopping)' }] };
  return { ready: results.every((r) => r.ok), checks: results };
}

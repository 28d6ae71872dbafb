/**
 * Outages of the services a long-running process depends on, seen the same way in every process:
 * one log line when an outage starts (warn, with the first error) and one when it ends (info, with
 * its length and the failed attempts in between), and the metrics
 *
 *   rtdw_service_available{component, service}   1 while reachable, 0 during an outage
 *   rtdw_outages_total{component, service}        outages begun
 *   rtdw_outage_seconds_total{component, service} time spent in ended outages
 *
 * `component` is the process part that saw it (cdc, ods, clickhouse, redis-sink; `part` in the log
 * lines), `service` the one it could not reach (mysql, kafka, redis, clickhouse).
 *
 * Waiting out an outage is probing (waitUntilReachable): a cheap request on a short interval
 * rather than a long backoff sleep, so that work resumes within a probe interval of the return.
 */
import { Counter, Gauge } from 'prom-client';
import type { Logger } from './logger.js';
import { registry } from './metrics.js';

export type DependencyName = 'mysql' | 'kafka' | 'redis' | 'clickhouse';

/** How often a service that is away is probed: catch-up begins at most this long after its return. */
export const PROBE_INTERVAL_MS = 500;

function create() {
  const labelNames = ['component', 'service'] as const;
  return {
    available: new Gauge({ name: 'rtdw_service_available', help: '1 while the process reaches the service, 0 during an outage', labelNames, registers: [registry] }),
    outages: new Counter({ name: 'rtdw_outages_total', help: 'outages of a service the process depends on, by when they began', labelNames, registers: [registry] }),
    seconds: new Counter({ name: 'rtdw_outage_seconds_total', help: 'length of the ended outages', labelNames, registers: [registry] }),
  };
}

let metrics: ReturnType<typeof create> | undefined;

function outageMetrics(): ReturnType<typeof create> {
  metrics ??= create();
  return metrics;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class OutageTracker {
  private since: number | undefined;
  private failures = 0;
  private readonly labels: { component: string; service: DependencyName };
  /** in log lines `part`, not `component`: loggers already carry their own `component` (logger.ts) */
  private readonly fields: { part: string; service: DependencyName };

  constructor(
    readonly component: string,
    readonly service: DependencyName,
    private readonly log: Logger,
  ) {
    this.labels = { component, service };
    this.fields = { part: component, service };
    outageMetrics().available.set(this.labels, 1);
  }

  get down(): boolean {
    return this.since !== undefined;
  }

  /** A failure to reach the service: the first of an outage is logged and counted, later ones only counted. */
  failed(err: unknown, detail: Record<string, unknown> = {}): void {
    this.failures += 1;
    if (this.since !== undefined) return;
    this.since = Date.now();
    const m = outageMetrics();
    m.outages.inc(this.labels);
    m.available.set(this.labels, 0);
    this.log.warn({ ...this.fields, ...detail, err: errorMessage(err) }, `${this.service} unavailable: outage begins`);
  }

  /** The service answered again: ends an outage (logged with its length); returns that length in ms, if there was one. */
  recovered(detail: Record<string, unknown> = {}): number | undefined {
    if (this.since === undefined) return undefined;
    const outageMs = Date.now() - this.since;
    const m = outageMetrics();
    m.available.set(this.labels, 1);
    m.seconds.inc(this.labels, outageMs / 1000);
    this.log.info({ ...this.fields, ...detail, outageMs, failures: this.failures }, `${this.service} available again`);
    this.since = undefined;
    this.failures = 0;
    return outageMs;
  }
}

/**
 * Runs `probe` every `intervalMs` until it resolves (true) or `stopped()` says to give up (false);
 * each failure goes to `onFailure` (e.g. OutageTracker.failed).
 */
export async function waitUntilReachable(
  probe: () => Promise<unknown>,
  opts: { intervalMs?: number; stopped?: () => boolean; onFailure?: (err: unknown) => void } = {},
): Promise<boolean> {
  const interval = opts.intervalMs ?? PROBE_INTERVAL_MS;
  for (;;) {
    if (opts.stopped?.() === true) return false;
    const started = Date.now();
    try {
      await probe();
      return true;
    } catch (err) {
      opts.onFailure?.(err);
    }
    // A probe that took its whole timeout is not followed by a wait.
    const wait = interval - (Date.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

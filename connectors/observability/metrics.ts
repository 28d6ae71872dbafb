/**
 * Prometheus metrics: one registry per process, served on METRICS_PORT (127.0.0.1) with the health
 * endpoints: /metrics, /healthz (alive), /readyz (every registered readiness check passes, health.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { RtdwConfig } from '../../schemas/config.js';
import { readiness } from './health.js';
import { registerTarget } from './scrape-targets.js';

export const registry = new Registry();
// Node's own figures under rtdw_: rtdw_process_cpu_seconds_total, rtdw_nodejs_eventloop_lag_seconds, …
collectDefaultMetrics({ register: registry, prefix: 'rtdw_' });

// The /readyz checks as a metric, so Prometheus can alert on a process that runs but is not ready.
new Gauge({
  name: 'rtdw_readiness_check_ok',
  help: '1 while the readiness check passes, 0 while it fails (the checks of /readyz; none while nothing runs)',
  labelNames: ['check'],
  registers: [registry],
  async collect() {
    this.reset();
    const { checks } = await readiness();
    for (const c of checks) this.set({ check: c.name }, c.ok ? 1 : 0);
  },
});

/** The long-running processes, by the name their target file and `process` label carry. */
export type ProcessName = 'cdc' | 'job' | 'redis-sink' | 'clickhouse-sink' | 'screen' | 'run';

export interface MetricsEndpoint {
  /** http://<host>:<port> */
  readonly url: string;
  readonly port: number;
  close(): void;
}

function json(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(head ? undefined : text);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  switch (path) {
    case '/metrics':
      registry
        .metrics()
        .then((body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(head ? undefined : body))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
      return;
    case '/healthz':
      json(res, 200, { status: 'ok', pid: process.pid, uptimeSeconds: Math.round(process.uptime()) }, head);
      return;
    case '/readyz':
      readiness()
        .then((r) => json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', checks: r.checks }, head))
        .catch((err: unknown) => json(res, 503, { status: 'not ready', error: String(err) }, head));
      return;
    default:
      res.writeHead(404).end();
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Serves the endpoints on METRICS_HOST:METRICS_PORT (0: a free port) and registers the process for
 * Prometheus's file discovery (scrape-targets.ts); undefined when METRICS_PORT is not set.
 */
export async function serveMetrics(
  config: { metricsPort: number | undefined; metricsHost?: string; dataDir: string; pipeline: Pick<RtdwConfig['pipeline'], 'namespace'> },
  processName: ProcessName,
): Promise<MetricsEndpoint | undefined> {
  if (config.metricsPort === undefined) return undefined;
  const host = config.metricsHost ?? '127.0.0.1';
  const server = createServer(handle);
  const port = await listen(server, host, config.metricsPort);
  // Bound to every address: a Prometheus on this machine reaches it on loopback.
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let unregister = (): void => undefined;
  try {
    unregister = registerTarget(config.dataDir, processName, reachable, port, { namespace: config.pipeline.namespace });
  } catch (err) {
    // Metrics are still served; only Prometheus's discovery of this process is missing, and said so.
    process.emitWarning(`metrics on port ${port} are not registered for Prometheus discovery: ${(err as Error).message}`);
  }
  return {
    url: `http://${reachable}:${port}`,
    port,
    close: () => {
      unregister();
      server.closeAllConnections();
      server.close();
    },
  };
}

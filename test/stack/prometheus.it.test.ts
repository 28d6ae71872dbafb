/**
 * The stack's optional Prometheus, on a private data dir and port: it loads the repository's rules,
 * discovers an rtdw process through the target file that process writes, scrapes it, and loses the
 * target when the process stops serving. Skipped (with the reason) where Debian's prometheus is not
 * installed: the default stack and `npm test` do not need it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { addReadinessCheck } from '../../connectors/observability/health.js';
import { serveMetrics } from '../../connectors/observability/metrics.js';
import { PrometheusService } from '../../docker/stack/prometheus.js';
import { config } from '../support/stack.js';

const installed = existsSync('/usr/bin/prometheus');
if (!installed) console.warn('prometheus.it: skipped, /usr/bin/prometheus is missing (apt-get install prometheus, or `rtdw stack up --with prometheus` installs it)');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Target {
  scrapePool: string;
  health: string;
  labels: Record<string, string>;
}

describe.skipIf(!installed)('the stack Prometheus', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rtdw-prometheus-'));
  let prometheus: PrometheusService;
  let base = '';

  beforeAll(async () => {
    const port = await freePort();
    prometheus = new PrometheusService({ ...config, dataDir, stack: { with: ['prometheus'], prometheusPort: port } }, () => undefined);
    const status = await prometheus.up();
    expect(status).toMatchObject({ name: 'prometheus', owner: 'stack', healthy: true });
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await prometheus?.down();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads every alert rule of docker/prometheus/rules.yml', async () => {
    const file = parse(readFileSync(new URL('../../docker/prometheus/rules.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string }> }> };
    const expected = file.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort();
    const loaded = (await (await fetch(`${base}/api/v1/rules?type=alert`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
    const rules = loaded.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(expected);
  });

  it('scrapes a process that registered itself, with its labels, and drops it once it stops', async () => {
    const removeCheck = addReadinessCheck('prometheus it', () => ({ ok: true, detail: 'fine' }));
    const endpoint = await serveMetrics({ metricsPort: 0, dataDir, pipeline: { namespace: 'prom_it' } }, 'job');
    if (endpoint === undefined) throw new Error('no endpoint');
    const instance = `127.0.0.1:${endpoint.port}`;
    try {
      const target = await waitFor('the target to be scraped', async () => {
        const body = (await (await fetch(`${base}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: Target[] } };
        return body.data.activeTargets.find((t) => t.scrapePool === 'rtdw' && t.labels.instance === instance && t.health === 'up');
      });
      expect(target.labels).toMatchObject({ job: 'rtdw', process: 'job', namespace: 'prom_it' });
      // The readiness metric of this process, as scraped: the check registered above passes.
      const value = await waitFor('the readiness series', async () => {
        const q = encodeURIComponent(`rtdw_readiness_check_ok{instance="${instance}",check="prometheus it"}`);
        const body = (await (await fetch(`${base}/api/v1/query?query=${q}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
        return body.data.result[0]?.value[1];
      });
      expect(value).toBe('1');
    } finally {
      endpoint.close();
      removeCheck();
    }
    await waitFor('the target to go', async () => {
      const body = (await (await fetch(`${base}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: Target[] } };
      return body.data.activeTargets.some((t) => t.labels.instance === instance) ? undefined : true;
    });
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addReadinessCheck } from './health.js';
import { serveMetrics, type MetricsEndpoint } from './metrics.js';
import { targetsDir } from './scrape-targets.js';

const dirs: string[] = [];
const endpoints: MetricsEndpoint[] = [];
const removals: Array<() => void> = [];

afterEach(() => {
  for (const remove of removals.splice(0)) remove();
  for (const e of endpoints.splice(0)) e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(): Promise<{ endpoint: MetricsEndpoint; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rtdw-metrics-'));
  dirs.push(dataDir);
  const endpoint = await serveMetrics({ metricsPort: 0, dataDir, pipeline: { namespace: 'obs_test' }}, 'job');
  if (endpoint === undefined) throw new Error('no endpoint served');
  endpoints.push(endpoint);
  return { endpoint, dataDir };
}

describe('the metrics port', () => {
  it('serves nothing when METRICS_PORT is not set', async () => {
    expect(await serveMetrics({ metricsPort: undefined, dataDir: tmpdir(), pipeline: { namespace: 'x' }}, 'job')).toBeUndefined();
  });

  it('serves /metrics in the Prometheus text format, /healthz while alive, and 404/405 for anything else', async () => {
    const { endpoint } = await serve();
    const metrics = await fetch(`${endpoint.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toMatch(/^# TYPE rtdw_process_cpu_seconds_total counter$/m);
    const health = await fetch(`${endpoint.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', pid: process.pid });
    expect((await fetch(`${endpoint.url}/nope`)).status).toBe(404);
    expect((await fetch(`${endpoint.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('/readyz is 503 until a part registers, 200 while every check passes, 503 naming the one that fails', async () => {
    const { endpoint } = await serve();
    const ready = async () => {
      const res = await fetch(`${endpoint.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { checks: Array<{ name: string; ok: boolean; detail: string }> } };
    };
    expect((await ready()).status).toBe(503);
    let redisUp = true;
    removals.push(addReadinessCheck('kafka consumer g', () => ({ ok: true, detail: 'running' })));
    removals.push(addReadinessCheck('redis', () => ({ ok: redisUp, detail: redisUp ? 'connected' : 'down' })));
    expect((await ready()).status).toBe(200);
    redisUp = false;
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.checks).toEqual([
      { name: 'kafka consumer g', ok: true, detail: 'running' },
      { name: 'redis', ok: false, detail: 'down' },
    ]);
    // A check that throws or hangs fails instead of hanging the endpoint.
    redisUp = true;
    removals.push(addReadinessCheck('broken', () => {
      throw new Error('boom');
    }));
    removals.push(addReadinessCheck('hangs', () => new Promise(() => undefined)));
    const failing = await ready();
    expect(failing.status).toBe(503);
    expect(failing.body.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail])).toEqual([
      ['broken', 'boom'],
      ['hangs', 'no answer in 2000 ms'],
    ]);
  });

  it('writes a Prometheus file_sd target for the port it got, and removes it on close', async () => {
    const { endpoint, dataDir } = await serve();
    const dir = targetsDir(dataDir);
    const file = join(dir, `job-${process.pid}-${endpoint.port}.json`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([{ targets: [`127.0.0.1:${endpoint.port}`], labels: { process: 'job', namespace: 'obs_test' } }]);
    endpoint.close();
    expect(existsSync(file)).toBe(false);
  });

  it('bound to every address (METRICS_HOST=0.0.0.0), it registers its loopback address as the target', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rtdw-metrics-'));
    dirs.push(dataDir);
    const endpoint = await serveMetrics({ metricsPort: 0, metricsHost: '0.0.0.0', dataDir, pipeline: { namespace: 'obs_test' } }, 'cdc');
    if (endpoint === undefined) throw new Error('no endpoint served');
    endpoints.push(endpoint);
    const [group] = JSON.parse(readFileSync(join(targetsDir(dataDir), `cdc-${process.pid}-${endpoint.port}.json`), 'utf8')) as Array<{ targets: string[] }>;
    expect(group?.targets).toEqual([`127.0.0.1:${endpoint.port}`]);
    expect((await fetch(`${endpoint.url}/healthz`)).status).toBe(200);
  });

  it("removes the target files of processes that died without removing theirs", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rtdw-metrics-'));
    dirs.push(dataDir);
    const dir = targetsDir(dataDir);
    // A pid that surely ran and is gone: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `cdc-${dead}-9400.json`), '[]');
    writeFileSync(join(dir, `screen-${process.pid}-9401.json`), '[]');
    const endpoint = await serveMetrics({ metricsPort: 0, dataDir, pipeline: { namespace: 'obs_test' }}, 'run');
    endpoints.push(endpoint as MetricsEndpoint);
    expect(readdirSync(dir).sort()).toEqual([`run-${process.pid}-${endpoint?.port}.json`, `screen-${process.pid}-9401.json`]);
  });
});

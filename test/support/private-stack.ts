/**
 * A local stack of its own (data dir and every port), beside the shared one: for tests and chaos runs
 * that stop services. Driven through the `rtdw stack` CLI, as an operator would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, repoRoot, type RtdwConfig } from '../../schemas/config.js';
import type { ServiceStatus } from '../../docker/stack/service.js';
import { config as shared } from './stack.js';

const run = promisify(execFile);

/** A port nothing listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface PrivateStack {
  dir: string;
  /** the environment of every command run against this stack */
  env: Record<string, string>;
  config: RtdwConfig;
  ports: { mysql: number; kafka: number; controller: number; redis: number; clickhouse: number };
  /** `rtdw stack <args>` against this stack; rejects with its output on a non-zero exit */
  stack(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  status(): Promise<ServiceStatus[]>;
  /** stack down and the data dir removed */
  destroy(): Promise<void>;
}

/** Picks five free ports and a fresh data dir; nothing is started until `stack('up')`. */
export async function privateStack(prefix = 'rtdw-private-'): Promise<PrivateStack> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const picked = new Set<number>();
  const pick = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!picked.has(p)) {
        picked.add(p);
        return p;
      }
    }
  };
  const ports = { mysql: await pick(), kafka: await pick(), controller: await pick(), redis: await pick(), clickhouse: await pick() };
  const inherited = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const env: Record<string, string> = {
    ...inherited,
    RTDW_DATA_DIR: join(dir, 'data'),
    // Downloads (Kafka's jars) are shared: only the data is private.
    RTDW_CACHE_DIR: shared.cacheDir,
    MYSQL_HOST: '127.0.0.1',
    MYSQL_PORT: String(ports.mysql),
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    KAFKA_CONTROLLER_PORT: String(ports.controller),
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    CLICKHOUSE_URL: `http://127.0.0.1:${ports.clickhouse}`,
  };
  delete env.METRICS_PORT;
  const stack = async (...args: string[]) => {
    try {
      return await run(process.execPath, ['bin/rtdw.mjs', 'stack', ...args], { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      throw new Error(`rtdw stack ${args.join(' ')} exited ${e.code ?? '?'}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
  };
  return {
    dir,
    env,
    config: loadConfig(env),
    ports,
    stack,
    async status() {
      // exits 1 while a service is down: the JSON is printed either way
      const out = await run(process.execPath, ['bin/rtdw.mjs', 'stack', 'status', '--json'], { cwd: repoRoot, env }).catch((err: { stdout: string }) => err);
      return JSON.parse(out.stdout) as ServiceStatus[];
    },
    async destroy() {
      await stack('down').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

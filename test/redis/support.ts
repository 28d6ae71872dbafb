/** Shared by the Redis sink tests: captured logs, a namespace's keys, a private redis-server. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { killHard } from '../support/children.js';

/** A logger whose JSON lines are kept for the test to read. */
export function capturedLogger(): { log: Logger; lines: Array<{ level: number; msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** Every key of a namespace with its type, TTL and content, for comparing whole states. */
export async function namespaceState(redis: Redis, namespace: string): Promise<Record<string, { type: string; value: unknown }>> {
  const keys = new Set<string>();
  for (const pattern of [`${namespace}:*`, `{${namespace}*`]) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      for (const k of batch) keys.add(k);
      cursor = next;
    } while (cursor !== '0');
  }
  const state: Record<string, { type: string; value: unknown }> = {};
  for (const key of [...keys].sort()) {
    const type = await redis.type(key);
    const value = type === 'hash' ? await redis.hgetall(key) : type === 'set' ? (await redis.smembers(key)).sort() : type === 'list' ? await redis.lrange(key, 0, -1) : await redis.get(key);
    state[key] = { type, value };
  }
  return state;
}

export async function deleteNamespace(redis: Redis, namespace: string): Promise<void> {
  const keys = Object.keys(await namespaceState(redis, namespace));
  if (keys.length > 0) await redis.del(...keys);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a redis-server answers PING on the port. */
async function answering(port: number): Promise<void> {
  await waitFor(`redis-server on ${port}`, async () => {
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG' ? true : undefined;
    } catch {
      return undefined;
    } finally {
      probe.disconnect();
    }
  });
}

/** A redis-server of the test's own, without persistence: a restart comes back empty. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'rtdw-redis-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on its port and waits until it answers PING. */
  async restart(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' });
    await answering(this.port);
  }

  /** kill -9 */
  async kill(): Promise<void> {
    if (this.child !== undefined) await killHard(this.child);
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Redis Cluster of the test's own: three masters without replicas or persistence. */
export class PrivateCluster {
  private readonly children: ChildProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'rtdw-redis-cluster-'));

  private constructor(readonly ports: number[]) {}

  static async start(masters = 3): Promise<PrivateCluster> {
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // The cluster bus listens on port + 10000, which must be free too.
      if (port + 10_000 <= 65_535 && !ports.includes(port)) ports.push(port);
    }
    const cluster = new PrivateCluster(ports);
    for (const port of ports) {
      const dir = join(cluster.dir, String(port));
      mkdirSync(dir);
      cluster.children.push(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--dir', dir], { stdio: 'ignore' }),
      );
    }
    const probes: Redis[] = [];
    try {
      for (const port of ports) await answering(port);
      await promisify(execFile)('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
      for (const port of ports) probes.push(new Redis(port, '127.0.0.1'));
      await waitFor('cluster_state:ok on every node', async () => ((await Promise.all(probes.map((p) => p.cluster('INFO')))).every((info) => /cluster_state:ok/.test(String(info))) ? true : undefined));
    } catch (err) {
      await cluster.stop();
      throw err;
    } finally {
      for (const p of probes) p.disconnect();
    }
    return cluster;
  }

  get nodes(): Array<{ host: string; port: number }> {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  async stop(): Promise<void> {
    for (const child of this.children) await killHard(child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

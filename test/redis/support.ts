/** Shared by the Redis sink tests: captured logs, a namespace's keys, a private redis-server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    try {
      await waitFor(`redis-server on ${this.port}`, async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG' ? true : undefined;
        } catch {
          probe.disconnect();
          return undefined;
        }
      });
    } finally {
      probe.disconnect();
    }
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

/** The project's own Redis (Debian's redis-server), loopback only, AOF persistence under the data dir. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RtdwConfig } from '../../schemas/config.js';
import { ensurePackages } from './install.js';
import { livePid, portOpen, spawnDaemon, stopPid, tail, waitUntil } from './process.js';
import { isLocalHost, type ServiceStatus, type StackService } from './service.js';

type Log = (msg: string) => void;

export class RedisService implements StackService {
  readonly name = 'redis';
  readonly endpoint: string;
  private readonly url: URL;
  private readonly dir: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(private readonly config: RtdwConfig, private readonly log: Log) {
    this.url = new URL(config.redis.url);
    this.endpoint = `${this.url.hostname}:${this.url.port || '6379'}`;
    this.dir = join(config.dataDir, 'redis');
    this.pidFile = join(this.dir, 'redis.pid');
    this.logFile = join(this.dir, 'redis.log');
  }

  private get port(): number {
    return Number(this.url.port || 6379);
  }

  async up(): Promise<ServiceStatus> {
    if (!isLocalHost(this.url.hostname)) return this.status();
    if (livePid(this.pidFile) === undefined && (await portOpen(this.url.hostname, this.port))) {
      const reused = await this.status();
      if (!reused.healthy) throw new Error(`redis: port ${this.port} is taken by something that does not answer PING: ${reused.detail ?? ''}`);
      return reused;
    }
    if (livePid(this.pidFile) === undefined) {
      await ensurePackages([{ binary: '/usr/bin/redis-server', pkg: 'redis-server' }], this.log);
      mkdirSync(this.dir, { recursive: true });
      const args = [
        '--port', String(this.port), '--bind', '127.0.0.1', '--protected-mode', 'yes',
        '--dir', this.dir, '--daemonize', 'no', '--logfile', '',
        '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
      ];
      if (this.url.password) args.push('--requirepass', decodeURIComponent(this.url.password));
      spawnDaemon({ command: '/usr/bin/redis-server', args, logFile: this.logFile, pidFile: this.pidFile });
    }
    try {
      await waitUntil('redis', async () => ((await this.status()).healthy ? true : undefined), {
        timeoutMs: 30_000,
        alive: () => livePid(this.pidFile) !== undefined,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ${this.logFile} (tail) ---\n${tail(this.logFile)}`);
    }
    return this.status();
  }

  async down(): Promise<string> {
    const pid = livePid(this.pidFile);
    if (pid === undefined) return 'not running under this stack';
    return `${await stopPid(pid, 30_000)} (pid ${pid})`;
  }

  async reset(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async status(): Promise<ServiceStatus> {
    const base = { name: this.name, endpoint: this.endpoint };
    const owner = !isLocalHost(this.url.hostname) ? 'external' : livePid(this.pidFile) !== undefined ? 'stack' : 'reused';
    const client = new Redis(this.config.redis.url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const pong = await client.ping();
      const info = await client.info('server');
      const version = /redis_version:(\S+)/.exec(info)?.[1];
      const mode = /redis_mode:(\S+)/.exec(info)?.[1];
      return { ...base, owner, healthy: pong === 'PONG', ...(version ? { version } : {}), detail: `mode ${mode ?? '?'}` };
    } catch (err) {
      return { ...base, owner: owner === 'reused' ? 'down' : owner, healthy: false, detail: (err as Error).message };
    } finally {
      client.disconnect();
    }
  }
}

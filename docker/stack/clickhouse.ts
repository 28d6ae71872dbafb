/**
 * The local ClickHouse: a process owning a chdb data dir and serving ClickHouse's HTTP
 * interface (see clickhouse/chdb-http-server.ts). With CLICKHOUSE_URL pointing elsewhere
 * nothing is started and chdb is never loaded.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { repoRoot, type RtdwConfig } from '../../schemas/config.js';
import { execFileAsync, livePid, portOpen, spawnDaemon, stopPid, tail, waitUntil } from './process.js';
import { isLocalHost, type ServiceStatus, type StackService } from './service.js';

type Log = (msg: string) => void;

export class ClickHouseService implements StackService {
  readonly name = 'clickhouse';
  readonly endpoint: string;
  private readonly url: URL;
  private readonly dir: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(private readonly config: RtdwConfig, private readonly log: Log) {
    this.url = new URL(config.clickhouse.url);
    this.endpoint = config.clickhouse.url;
    this.dir = join(config.dataDir, 'clickhouse');
    this.pidFile = join(this.dir, 'server.pid');
    this.logFile = join(this.dir, 'server.log');
  }

  private get port(): number {
    return Number(this.url.port || (this.url.protocol === 'https:' ? 8443 : 8123));
  }

  async up(): Promise<ServiceStatus> {
    if (!isLocalHost(this.url.hostname)) return this.ensureDatabase();
    if (livePid(this.pidFile) === undefined && (await portOpen(this.url.hostname, this.port))) {
      const reused = await this.status();
      if (!reused.healthy) throw new Error(`clickhouse: port ${this.port} is taken by something that is not ClickHouse: ${reused.detail ?? ''}`);
      return this.ensureDatabase();
    }
    if (livePid(this.pidFile) === undefined) {
      await this.ensureChdb();
      mkdirSync(this.dir, { recursive: true });
      spawnDaemon({
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'docker/stack/clickhouse/main.ts'), join(this.dir, 'data'), String(this.port)],
        logFile: this.logFile,
        pidFile: this.pidFile,
        cwd: repoRoot,
        env: { ...process.env, TZ: 'UTC' },
      });
    }
    try {
      await waitUntil('clickhouse', async () => ((await this.status()).healthy ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 250,
        alive: () => livePid(this.pidFile) !== undefined,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ${this.logFile} (tail) ---\n${tail(this.logFile)}`);
    }
    return this.ensureDatabase();
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
    const client = this.client();
    try {
      const ping = await client.ping();
      if (!ping.success) throw ping.error;
      const rs = await client.query({ query: 'SELECT version() AS version, uptime() AS uptime', format: 'JSONEachRow' });
      const [row] = await rs.json<{ version: string; uptime: string }>();
      const engine = owner === 'stack' ? 'chdb' : 'server';
      return { ...base, owner, healthy: true, ...(row ? { version: row.version } : {}), detail: `${engine}, up ${row?.uptime ?? '?'} s` };
    } catch (err) {
      return { ...base, owner: owner === 'reused' ? 'down' : owner, healthy: false, detail: (err as Error).message };
    } finally {
      await client.close();
    }
  }

  private client() {
    const { url, user, password } = this.config.clickhouse;
    return createClient({ url, username: user, password, request_timeout: 5000, log: { level: ClickHouseLogLevel.OFF } });
  }

  private async ensureDatabase(): Promise<ServiceStatus> {
    const client = this.client();
    try {
      await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.config.clickhouse.database}` });
    } finally {
      await client.close();
    }
    return this.status();
  }

  /** chdb is an optional dependency (~540 MB): installed on demand for the local stack only. */
  private async ensureChdb(): Promise<void> {
    const require = createRequire(join(repoRoot, 'package.json'));
    try {
      require.resolve('chdb');
      return;
    } catch {
      // not installed: fall through
    }
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
    const spec = `chdb@${pkg.optionalDependencies?.chdb ?? 'latest'}`;
    this.log(`clickhouse: installing ${spec} (npm) for the local engine`);
    await execFileAsync('npm', ['install', '--no-save', '--no-audit', '--no-fund', spec], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
    if (!existsSync(join(repoRoot, 'node_modules', 'chdb'))) throw new Error(`npm install ${spec} did not install chdb`);
  }
}

/**
 * The optional local Prometheus (Debian's `prometheus`), started by `rtdw stack up --with prometheus`
 * or RTDW_STACK_WITH=prometheus, on 127.0.0.1:RTDW_PROMETHEUS_PORT. It runs with the repository's
 * docker/prometheus/prometheus.yml and rules.yml, copied at each start into <RTDW_DATA_DIR>/prometheus
 * beside the targets/ directory the rtdw processes register themselves in, so it scrapes every rtdw
 * process on this machine; its TSDB is kept under the same directory.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, type RtdwConfig } from '../../schemas/config.js';
import { pruneTargets, targetsDir } from '../../connectors/observability/scrape-targets.js';
import { ensurePackages } from './install.js';
import { livePid, portOpen, spawnDaemon, stopPid, tail, waitUntil } from './process.js';
import type { ServiceStatus, StackService } from './service.js';

type Log = (msg: string) => void;

const BINARY = '/usr/bin/prometheus';
/** The files Prometheus runs with, from the repository (the same ones docker/compose.yml mounts). */
export const PROMETHEUS_FILES = ['prometheus.yml', 'rules.yml'] as const;

export class PrometheusService implements StackService {
  readonly name = 'prometheus';
  readonly endpoint: string;
  private readonly dir: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(private readonly config: RtdwConfig, private readonly log: Log) {
    this.endpoint = `127.0.0.1:${config.stack.prometheusPort}`;
    this.dir = join(config.dataDir, 'prometheus');
    this.pidFile = join(this.dir, 'prometheus.pid');
    this.logFile = join(this.dir, 'prometheus.log');
  }

  /** Whether this stack runs it now (then `down` and `status` include it even without --with). */
  running(): boolean {
    return livePid(this.pidFile) !== undefined;
  }

  async up(): Promise<ServiceStatus> {
    if (!this.running() && (await portOpen('127.0.0.1', this.config.stack.prometheusPort))) {
      const reused = await this.status();
      if (!reused.healthy) throw new Error(`prometheus: port ${this.config.stack.prometheusPort} is taken by something that is not Prometheus: ${reused.detail ?? ''}`);
      return reused;
    }
    if (!this.running()) {
      await ensurePackages([{ binary: BINARY, pkg: 'prometheus' }], this.log);
      mkdirSync(targetsDir(this.config.dataDir), { recursive: true });
      pruneTargets(targetsDir(this.config.dataDir));
      for (const file of PROMETHEUS_FILES) copyFileSync(join(repoRoot, 'docker/prometheus', file), join(this.dir, file));
      spawnDaemon({
        command: BINARY,
        args: [
          `--config.file=${join(this.dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(this.dir, 'data')}`,
          '--storage.tsdb.retention.time=7d',
          `--web.listen-address=127.0.0.1:${this.config.stack.prometheusPort}`,
          // reload on `rtdw stack up` after a rules change, without a restart
          '--web.enable-lifecycle',
        ],
        logFile: this.logFile,
        pidFile: this.pidFile,
        cwd: this.dir,
      });
    } else {
      // Already running: pick up changed rules or config.
      for (const file of PROMETHEUS_FILES) copyFileSync(join(repoRoot, 'docker/prometheus', file), join(this.dir, file));
      await fetch(`http://${this.endpoint}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    }
    try {
      await waitUntil('prometheus', async () => ((await this.status()).healthy ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, alive: () => this.running() });
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
    rmSync(join(this.dir, 'data'), { recursive: true, force: true });
  }

  async status(): Promise<ServiceStatus> {
    const base = { name: this.name, endpoint: this.endpoint };
    const owner = this.running() ? 'stack' : 'reused';
    try {
      const ready = await fetch(`http://${this.endpoint}/-/ready`, { signal: AbortSignal.timeout(2000) });
      if (!ready.ok) return { ...base, owner, healthy: false, detail: `/-/ready answered ${ready.status}` };
      const info = (await (await fetch(`http://${this.endpoint}/api/v1/status/buildinfo`, { signal: AbortSignal.timeout(2000) })).json()) as { data?: { version?: string } };
      const targets = (await (await fetch(`http://${this.endpoint}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(2000) })).json()) as { data?: { activeTargets?: Array<{ scrapePool: string; health: string }> } };
      const rtdw = (targets.data?.activeTargets ?? []).filter((t) => t.scrapePool === 'rtdw');
      const version = info.data?.version;
      return { ...base, owner, healthy: true, ...(version ? { version } : {}), detail: `${rtdw.filter((t) => t.health === 'up').length}/${rtdw.length} rtdw targets up` };
    } catch (err) {
      return { ...base, owner: owner === 'reused' ? 'down' : owner, healthy: false, detail: (err as Error).message };
    }
  }
}

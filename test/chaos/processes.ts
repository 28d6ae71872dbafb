/**
 * The chaos run's long-running processes (`rtdw run --jobs <part>`, `rtdw generate`): each restarted
 * when it exits, whether killed by the run (kill -9) or dying on its own, which is counted as a
 * finding. Output goes to one log file per process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../schemas/config.js';

export interface ExitRecord {
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  planned: boolean;
}

export class Supervised {
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;
  private stopping = false;
  private killing = false;
  readonly exits: ExitRecord[] = [];
  kills = 0;
  /** when the current process started */
  startedAt = 0;

  constructor(
    readonly name: string,
    private readonly args: () => string[],
    private readonly env: Record<string, string>,
    readonly logFile: string,
    /** wait before restarting after an exit */
    private readonly restartDelayMs = 500,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  static logFileIn(dir: string, name: string): string {
    return join(dir, `${name}.log`);
  }

  start(): void {
    const args = this.args();
    const child = spawn(process.execPath, ['bin/rtdw.mjs', ...args], { cwd: repoRoot, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    this.log.write(`--- ${new Date().toISOString()} chaos: start rtdw ${args.join(' ')} (pid ${child.pid})\n`);
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    child.once('exit', (code, signal) => {
      const planned = this.killing || this.stopping;
      this.killing = false;
      this.exits.push({ at: Date.now(), code, signal, planned });
      this.log.write(`--- ${new Date().toISOString()} chaos: exit ${code ?? signal}${planned ? '' : ' (NOT caused by the chaos run)'}\n`);
      if (this.stopping) return;
      setTimeout(() => {
        if (!this.stopping) this.start();
      }, this.restartDelayMs);
    });
  }

  /** kill -9 now; the exit handler restarts it. */
  killHard(): boolean {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return false;
    this.killing = true;
    this.kills += 1;
    child.kill('SIGKILL');
    return true;
  }

  /** Unplanned exits: the process died on its own. */
  get crashes(): ExitRecord[] {
    return this.exits.filter((e) => !e.planned);
  }

  /** SIGTERM (a clean stop), SIGKILL after the grace period; no restart. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}

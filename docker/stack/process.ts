/** Process plumbing for the local stack: detached daemons with pid and log files, readiness polling. */
import { spawn, execFile } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

export interface DaemonSpec {
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts a process that outlives this one (own session, output to its log file) and records its pid. */
export function spawnDaemon(spec: DaemonSpec): number {
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in pidFile if that process still runs; a stale file is removed. */
export function livePid(pidFile: string): number | undefined {
  const pid = readPid(pidFile);
  if (pid === undefined) return undefined;
  if (isAlive(pid)) return pid;
  rmSync(pidFile, { force: true });
  return undefined;
}

/** SIGTERM, wait for a clean exit, SIGKILL after the grace period. */
export async function stopPid(pid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'stopped';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `probe` until it returns a value; fails with the last probe error once the deadline passes
 * or as soon as `alive` says the process died.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; alive?: () => boolean },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = 'not ready';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (opts.alive && !opts.alive()) throw new Error(`${what}: process exited before it was ready (${lastError})`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs} ms (${lastError})`);
    await sleep(opts.intervalMs ?? 200);
  }
}

/** Last lines of a log file, for failure reports. */
export function tail(file: string, lines = 30): string {
  if (!existsSync(file) || statSync(file).size === 0) return `(no output in ${file})`;
  const text = readFileSync(file, 'utf8');
  return text.split('\n').slice(-lines - 1).join('\n');
}

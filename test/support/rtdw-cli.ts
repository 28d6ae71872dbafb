/** `rtdw` commands as child processes of a test: a private environment, stdout kept, stderr to a log file. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { repoRoot } from '../../schemas/config.js';

/** Variables a pipeline reads whose value must come from the test, never from the shell that runs it. */
const OWNED = /^(RTDW_|CDC_|CLICKHOUSE_DATABASE$|MYSQL_DATABASE$|METRICS_PORT$)/;

/** The inherited environment (endpoints, credentials) without pipeline settings, plus `own`. */
export function privateEnv(own: Record<string, string>): Record<string, string> {
  const inherited = Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !OWNED.test(e[0]));
  return { ...Object.fromEntries(inherited), ...own };
}

export interface RtdwChild {
  child: ChildProcess;
  /** the exit code (null when ended by a signal) and signal */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
}

/** `node bin/rtdw.mjs <args>`; stderr is appended to `logFile`. */
export function spawnRtdw(args: readonly string[], env: Record<string, string>, logFile: string): RtdwChild {
  const child = spawn(process.execPath, ['bin/rtdw.mjs', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`--- ${new Date().toISOString()} rtdw ${args.join(' ')} (pid ${child.pid})\n`);
  child.stderr?.pipe(log, { end: false });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      log.end(`--- exit ${code ?? signal}\n`);
      resolve({ code, signal });
    });
  });
  return { child, exited, stdout: () => out };
}

/** Runs a command to its end; fails with its output when it does not exit with `expectedCode`. */
export async function runRtdw(args: readonly string[], env: Record<string, string>, logFile: string, expectedCode = 0): Promise<string> {
  const run = spawnRtdw(args, env, logFile);
  const { code, signal } = await run.exited;
  if (code !== expectedCode) throw new Error(`rtdw ${args.join(' ')} exited ${code ?? signal}, expected ${expectedCode} (stderr in ${logFile}); stdout: ${run.stdout().slice(-2000)}`);
  return run.stdout();
}

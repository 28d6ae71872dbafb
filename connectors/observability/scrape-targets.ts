/**
 * Prometheus file-based discovery of the rtdw processes on this machine: a process serving metrics
 * writes `<dataDir>/prometheus/targets/<process>-<pid>-<port>.json` (a file_sd target group) and
 * removes it when it stops, so Prometheus scrapes every process, whatever port it got (METRICS_PORT=0
 * takes a free one). Files of processes that died without removing theirs (kill -9) are removed by
 * the next process that writes one; until then Prometheus sees them as down (`up == 0`).
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function targetsDir(dataDir: string): string {
  return join(dataDir, 'prometheus', 'targets');
}

/** One file_sd target group: Prometheus reads a JSON array of these. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

const FILE = /^(?<process>[\w-]+)-(?<pid>\d+)-(?<port>\d+)\.json$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the target files of processes that no longer run. */
export function pruneTargets(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(FILE.exec(name)?.groups?.pid);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(dir, name), { force: true });
  }
}

/** Writes this process's target file (atomically: Prometheus may read it at any moment); returns its removal. */
export function registerTarget(dataDir: string, processName: string, host: string, port: number, labels: Record<string, string>): () => void {
  const dir = targetsDir(dataDir);
  mkdirSync(dir, { recursive: true });
  pruneTargets(dir);
  const file = join(dir, `${processName}-${process.pid}-${port}.json`);
  const group: TargetGroup = { targets: [`${host}:${port}`], labels: { process: processName, ...labels } };
  writeFileSync(`${file}.tmp`, `${JSON.stringify([group], null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  const remove = (): void => {
    rmSync(file, { force: true });
    process.off('exit', remove);
  };
  // An exit without a stop (an uncaught error) still removes it; only a kill -9 leaves it for pruning.
  process.on('exit', remove);
  return remove;
}

/** Child processes of the kill tests. */
import type { ChildProcess } from 'node:child_process';

/** kill -9, waiting for the exit. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** For the job integration tests: a job in a child process (started, stopped cleanly), and a topic's data records. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { WATERMARK_HEADER } from '../../jobs/runtime/watermark-marker.js';

export interface Worker {
  child: ChildProcess;
  output: string[];
}

/** `script` (a tsx entry) with `args`, its output kept for failure messages. */
export function startWorker(script: string, args: readonly string[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  return { child, output };
}

/** SIGTERM (its checkpoint committed), SIGKILL after 40 s. */
export async function stopWorker(w: Worker): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 40_000);
  await exited;
  clearTimeout(timer);
}

/** A topic's data records, read_committed (watermark markers left out). */
export async function dataRecords(kafka: Kafka, topic: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  await readToEnd(kafka, topic, (m) => {
    if (m.headers?.[WATERMARK_HEADER] === undefined && m.value !== null) out.push(JSON.parse(m.value.toString()) as Record<string, unknown>);
  });
  return out;
}

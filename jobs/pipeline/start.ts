/**
 * `npm start`: the local stack, `rtdw setup`, generated traffic at a moderate rate and `rtdw run` with
 * its live progress view, until Ctrl-C. The generator runs as its own process (as a real application
 * would write to MySQL and Kafka); the pipeline runs in this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { RtdwConfig } from '../../schemas/config.js';
import { repoRoot } from '../../schemas/config.js';
import { setup } from '../setup.js';
import { PART_NAMES } from './parts.js';
import { runPipeline } from './run.js';

/** The metrics port of `npm start` when METRICS_PORT is not set (the OpenTelemetry Prometheus exporter's usual one). */
const DEMO_METRICS_PORT = 9464;

export interface StartOptions {
  rate: string;
  seed: string;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startDemo(config: RtdwConfig, options: StartOptions, say: (line: string) => void): Promise<void> {
  const { stackUp, formatStatusTable } = await import('../../docker/stack/stack.js');
  const { statuses, failures } = await stackUp(config, say);
  say(formatStatusTable(statuses));
  if (failures.length > 0) throw new Error(`${failures.map((f) => f.name).join(', ')} failed to start:\n${failures.map((f) => f.error).join('\n')}`);
  await setup(config, say);
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
  // The generator's own log goes to a file-like stream of its own: the progress view owns the terminal.
  const generator = spawn(process.execPath, ['bin/rtdw.mjs', 'generate', '--rate', options.rate, '--seed', options.seed, '--speed', 'realtime'], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    // The demo always serves its metrics and health endpoints (README "Metrics, health and dashboards").
    const metricsPort = config.metricsPort ?? DEMO_METRICS_PORT;
    say(metricsPort === 0 ? 'metrics: on a free port, named in the target file under <RTDW_DATA_DIR>/prometheus/targets' : `metrics: http://127.0.0.1:${metricsPort}/metrics, /healthz, /readyz (METRICS_PORT)`);
    await runPipeline({ ...config, metricsPort, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel }, { parts: [...PART_NAMES], progressEveryMs: 2000, stopSignal: stop });
  } finally {
    generator.kill('SIGTERM');
    await exited(generator);
  }
}

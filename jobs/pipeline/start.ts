/**
 * `npm start`: the local stack, `rtdw setup`, generated traffic at a moderate rate, `rtdw run` with
 * its live progress view and metrics (METRICS_PORT, default 9464), and the live screen, until Ctrl-C.
 * The generator runs as its own process (as a real application would write to MySQL and Kafka), the
 * screen as its own (as an operator would serve it); the pipeline runs in this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { RtdwConfig } from '../../schemas/config.js';
import { repoRoot } from '../../schemas/config.js';
import { setup } from '../setup.js';
import { PART_NAMES } from './parts.js';
import { runPipeline } from './run.js';

/** The Prometheus exporter's usual port, for the pipeline's metrics when METRICS_PORT is not set. */
const DEFAULT_METRICS_PORT = 9464;

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
  // The screen says its URL on stderr once it serves (other lines pass through); its own metrics stay
  // off, the pipeline's port is taken.
  const { METRICS_PORT: _metrics, ...screenEnv } = process.env;
  const screen = spawn(process.execPath, ['bin/rtdw.mjs', 'screen'], { cwd: repoRoot, env: { ...screenEnv, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let screenUrl = 'starting';
  screen.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    const url = /rtdw screen: serving (\S+)/.exec(text)?.[1];
    if (url !== undefined) screenUrl = url;
    else process.stderr.write(text);
  });
  screen.once('exit', (code) => {
    screenUrl = `not running (rtdw screen exited with ${code}; is RTDW_SCREEN_PORT free?)`;
  });
  const metricsPort = config.metricsPort ?? DEFAULT_METRICS_PORT;
  try {
    await runPipeline(
      { ...config, metricsPort, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel },
      { parts: [...PART_NAMES], progressEveryMs: 2000, stopSignal: stop, banner: () => [`screen   ${screenUrl}`, `metrics  http://127.0.0.1:${metricsPort}/metrics`] },
    );
  } finally {
    generator.kill('SIGTERM');
    screen.kill('SIGTERM');
    await Promise.all([exited(generator), exited(screen)]);
  }
}

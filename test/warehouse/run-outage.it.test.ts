/**
 * `rtdw run` started while a service it needs is away (a process restarted during an outage, as the
 * chaos run does): it must not exit, but log the outage, wait for the service, and start once it is
 * back. On a private stack (the shared Kafka is never stopped).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateStack, type PrivateStack } from '../support/private-stack.js';
import { runRtdw, spawnRtdw } from '../support/rtdw-cli.js';

/** The JSON log lines (rtdw run logs to stdout) written so far. */
function lines(text: string): Array<{ msg?: string; part?: string; service?: string; outageMs?: number }> {
  return text.split('\n').filter((l) => l.startsWith('{') && l.endsWith('}')).map((l) => JSON.parse(l) as { msg?: string });
}

async function until(what: string, probe: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('rtdw run started during a Kafka outage', () => {
  let stack: PrivateStack;
  let env: Record<string, string>;

  beforeAll(async () => {
    stack = await privateStack('rtdw-run-outage-');
    await stack.stack('up');
    env = { ...stack.env, RTDW_NAMESPACE: 'runoutage', LOG_LEVEL: 'info' };
    await runRtdw(['setup'], env, join(stack.dir, 'setup.log'));
  }, 300_000);

  afterAll(async () => {
    await stack?.destroy();
  }, 180_000);

  it('waits for Kafka, logging the outage, and starts the part once Kafka is back', async () => {
    await stack.stack('stop', 'kafka');
    const logFile = join(stack.dir, 'run.log');
    const run = spawnRtdw(['run', '--jobs', 'ods'], env, logFile);
    let exited = false;
    void run.exited.then(() => {
      exited = true;
    });
    await until('the outage logged', () => lines(run.stdout()).some((l) => l.msg === 'kafka unavailable: outage begins' && l.part === 'ods-start')).catch((err: Error) => {
      throw new Error(`${err.message}; the run's log:\n${run.stdout().slice(-3000)}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`);
    });
    expect(exited).toBe(false);
    await stack.stack('start', 'kafka');
    await until('the part running', () => lines(run.stdout()).some((l) => l.msg === 'part running'), 180_000);
    expect(exited).toBe(false);
    const ended = lines(run.stdout()).filter((l) => l.msg === 'kafka available again' && l.part === 'ods-start');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.outageMs).toBeGreaterThan(0);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
  }, 400_000);
});

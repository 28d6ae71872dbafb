/**
 * A second stack on ports of its own (the Kafka controller's included) and a data dir of its own,
 * beside the shared one: it comes up healthy on exactly those ports, one service is stopped and
 * started again with its data kept, and the shared stack stays healthy throughout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { execFileAsync } from '../../docker/stack/process.js';
import { privateStack, type PrivateStack } from '../support/private-stack.js';
import { config as shared } from '../support/stack.js';
import { stackStatus } from '../../docker/stack/stack.js';

/** Which process listens on a loopback port (ss), to prove the port is this stack's own. */
async function listener(port: number): Promise<number | undefined> {
  const { stdout } = await execFileAsync('ss', ['-ltnpH', `sport = :${port}`]);
  const pid = /pid=(\d+)/.exec(stdout)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

describe('a private stack on other ports', () => {
  let stack: PrivateStack;

  afterAll(async () => {
    await stack?.destroy();
  }, 180_000);

  it('comes up healthy on its own ports, beside the shared stack', async () => {
    stack = await privateStack();
    const { stderr } = await stack.stack('up');
    expect(stderr).toMatch(/stack up: ready/);
    const statuses = await stack.status();
    const { ports } = stack;
    expect(statuses.map((s) => [s.name, s.endpoint, s.owner, s.healthy])).toEqual([
      ['mysql', `127.0.0.1:${ports.mysql}`, 'stack', true],
      ['kafka', `127.0.0.1:${ports.kafka}`, 'stack', true],
      ['redis', `127.0.0.1:${ports.redis}`, 'stack', true],
      ['clickhouse', `http://127.0.0.1:${ports.clickhouse}`, 'stack', true],
    ]);
    // The controller listens where it was told, in the broker's process.
    const broker = await listener(ports.kafka);
    expect(broker).toBeDefined();
    expect(await listener(ports.controller)).toBe(broker);
    expect(await listener(9093)).not.toBe(broker);
    const others = await stackStatus(shared, () => undefined);
    expect(others.map((s) => [s.name, s.healthy])).toEqual([['mysql', true], ['kafka', true], ['redis', true], ['clickhouse', true]]);
  }, 300_000);

  it('stops one service and starts it again with its data', async () => {
    const redis = new Redis(stack.config.redis.url);
    await redis.set('kept', 'yes');
    // AOF fsyncs every second: a clean stop (SIGTERM) writes it out anyway.
    redis.disconnect();
    const { stdout } = await stack.stack('stop', 'redis');
    expect(stdout).toMatch(/^redis\s+stopped \(pid \d+\)/);
    const stopped = await stack.status();
    expect(stopped.map((s) => [s.name, s.healthy])).toEqual([['mysql', true], ['kafka', true], ['redis', false], ['clickhouse', true]]);
    expect(await listener(stack.ports.redis)).toBeUndefined();

    const started = await stack.stack('start', 'redis');
    expect(started.stderr).toMatch(/stack start redis: ready/);
    const again = new Redis(stack.config.redis.url);
    expect(await again.get('kept')).toBe('yes');
    again.disconnect();
    expect((await stack.status()).every((s) => s.healthy)).toBe(true);
  }, 180_000);

  it('refuses an unknown service with exit code 2', async () => {
    await expect(stack.stack('stop', 'zookeeper')).rejects.toThrow(/exited 2[\s\S]*unknown service zookeeper; the services are mysql, kafka, redis, clickhouse/);
  });
});

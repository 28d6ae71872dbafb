import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '../../schemas/config.js';
import type { ServiceStatus } from '../../docker/stack/service.js';

const run = promisify(execFile);

describe('rtdw stack', () => {
  it('status shows four healthy services with versions', async () => {
    const { stdout } = await run(process.execPath, ['bin/rtdw.mjs', 'stack', 'status', '--json'], { cwd: repoRoot });
    const statuses = JSON.parse(stdout) as ServiceStatus[];
    expect(statuses.map((s) => [s.name, s.healthy])).toEqual([['mysql', true], ['kafka', true], ['redis', true], ['clickhouse', true]]);
    for (const s of statuses) expect(s.version, s.name).toMatch(/\d+\.\d+/);
  });

  it('up is idempotent on a running stack', async () => {
    const { stdout, stderr } = await run(process.execPath, ['bin/rtdw.mjs', 'stack', 'up'], { cwd: repoRoot });
    expect(stderr).toMatch(/stack up: ready/);
    expect(stdout.match(/healthy/g)).toHaveLength(4);
  });

  it('refuses an invalid configuration with the variable named and exit code 2', async () => {
    const err = await run(process.execPath, ['bin/rtdw.mjs', 'stack', 'status'], {
      cwd: repoRoot,
      env: { ...process.env, MYSQL_PORT: 'seventy', KAFKA_BROKERS: 'no-port-here' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/MYSQL_PORT/);
    expect((err as { stderr: string }).stderr).toMatch(/KAFKA_BROKERS/);
  });
});

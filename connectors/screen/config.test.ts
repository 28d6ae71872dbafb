import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../schemas/config.js';
import { loadScreenOptions } from './config.js';

const settings = { namespace: 'shop1', timezone: 'Asia/Shanghai' };

describe('screen options', () => {
  it('defaults to loopback:8080, a read per second and lag every 5 s', () => {
    expect(loadScreenOptions(settings, {})).toEqual({
      namespace: 'shop1',
      timezone: 'Asia/Shanghai',
      host: '127.0.0.1',
      port: 8080,
      pollMs: 1000,
      lagPollMs: 5000,
      hashTags: false,
      clusterNodes: undefined,
    });
  });

  it('reads host, port, intervals and the Redis sink\'s naming variables', () => {
    const o = loadScreenOptions(settings, { RTDW_SCREEN_HOST: '::1', RTDW_SCREEN_PORT: '9000', RTDW_SCREEN_POLL_MS: '500', RTDW_SCREEN_LAG_POLL_MS: '0', RTDW_REDIS_HASH_TAGS: 'true', REDIS_CLUSTER_NODES: 'r1:7000' });
    expect(o).toMatchObject({ host: '::1', port: 9000, pollMs: 500, lagPollMs: 0, hashTags: true, clusterNodes: [{ host: 'r1', port: 7000 }] });
    expect(loadScreenOptions(settings, { RTDW_SCREEN_HOST: 'screen.internal' }).host).toBe('screen.internal');
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadScreenOptions(settings, { RTDW_SCREEN_HOST: 'http://0.0.0.0', RTDW_SCREEN_PORT: '70000', RTDW_SCREEN_POLL_MS: '10', RTDW_SCREEN_LAG_POLL_MS: '500' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['RTDW_SCREEN_HOST', 'RTDW_SCREEN_PORT', 'RTDW_SCREEN_POLL_MS', 'RTDW_SCREEN_LAG_POLL_MS']) expect(problems).toContain(name);
  });
});

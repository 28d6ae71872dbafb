import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../schemas/config.js';
import { loadConfig } from '../../schemas/config.js';
import { pipelineSettings, regularUserTopAdClicks, resolveOptions } from './options.js';

function problems(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('generator options', () => {
  it('fills defaults, takes ISO times with a zone, and ends after `minutes`', () => {
    const o = resolveOptions({ start: '2025-06-01T08:00:00+08:00', rate: 100, minutes: 2 });
    expect(o.start).toBe(Date.parse('2025-06-01T00:00:00Z'));
    expect(o.end).toBe(o.start + 120_000);
    expect(o).toMatchObject({ seed: 1, timezone: 'UTC', blacklistClicks: 100, idBase: 0, rowShare: 0.3, botsPerHour: 6 });
    expect(resolveOptions({ start: 0, rate: '5' }).end).toBe(Infinity);
  });

  it('names every bad option in one error', () => {
    const text = problems(() => resolveOptions({ start: '2025-06-01 08:00', rate: 0, seed: -1, minutes: 'soon', timezone: 'Mars/Olympus', rowShare: 2, lateShare: 0.5 }));
    for (const name of ['start:', 'rate:', 'seed:', 'minutes:', 'timezone:', 'rowShare:', 'lateShare:']) expect(text).toContain(name);
    expect(problems(() => resolveOptions({ start: 0, rate: 1, colour: 'red' } as never))).toContain('colour');
  });

  it('picks enough users that a normal user stays far below the blacklist threshold, and refuses too few', () => {
    const o = resolveOptions({ start: 0, rate: 5_000, minutes: 60 });
    expect(regularUserTopAdClicks(o, o.users)).toBeLessThanOrEqual(o.blacklistClicks / 5);
    const text = problems(() => resolveOptions({ start: 0, rate: 5_000, minutes: 600, users: 500 }));
    expect(text).toContain('users:');
    expect(text).toContain('blacklist threshold 100');
  });
});

describe('pipeline settings', () => {
  it('are the validated configuration\'s', () => {
    expect(pipelineSettings(loadConfig({}))).toEqual({ namespace: 'rtdw', timezone: 'UTC', blacklistClicks: 100 });
    expect(pipelineSettings(loadConfig({ RTDW_NAMESPACE: 'ns2', RTDW_TIMEZONE: 'Asia/Shanghai', RTDW_BLACKLIST_CLICKS: '20' }))).toEqual({ namespace: 'ns2', timezone: 'Asia/Shanghai', blacklistClicks: 20 });
  });
});

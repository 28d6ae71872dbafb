/** README "The metrics" lists every metric the code registers, with its type and labels, and nothing else. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportedMetrics } from '../../test/support/exported-metrics.js';

/** prom-client's default metrics, documented as a group. */
const DEFAULT_METRICS = /^rtdw_(process|nodejs)_/;

describe('README "The metrics"', () => {
  it('lists every metric of the registries with its type and labels', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### The metrics'), readme.indexOf('### Prometheus and the alerts'));
    const documented = [...section.matchAll(/^\| `(rtdw_\w+)` \| (\w+) \|([^|]*)\|/gm)].map((m) => ({
      name: m[1] ?? '',
      type: m[2] ?? '',
      labels: [...(m[3] ?? '').matchAll(/`(\w+)`/g)].map((l) => l[1] ?? '').sort(),
    }));
    const exported = (await exportedMetrics())
      .filter((m) => !DEFAULT_METRICS.test(m.name))
      .map((m) => ({ name: m.name, type: m.type, labels: [...m.labels].sort() }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(documented.sort(byName)).toEqual(exported.sort(byName));
  });
});

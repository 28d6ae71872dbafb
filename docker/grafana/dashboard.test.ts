/**
 * The Grafana dashboard imports (the shape Grafana's file provisioning reads, datasources that the
 * provisioning defines), every PromQL query parses and reads only metrics the rtdw processes export
 * (from the code's registries), and every Redis panel reads a key the Redis layout writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { redisLayout } from '../../schemas/redis-keys.js';
import { exportedMetrics, metricNamesIn, seriesNames, withoutGrafanaVariables } from '../../test/support/exported-metrics.js';

interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  expr?: string;
  command?: string;
  keyName?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; datasource: { uid: string }; query: { query: string } }> };
}

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
const dashboards = readdirSync(new URL('./dashboards/', import.meta.url)).filter((f) => f.endsWith('.json'));
const datasources = (parse(read('./provisioning/datasources/rtdw.yml')) as { datasources: Array<{ uid: string; type: string }> }).datasources;
const provider = (parse(read('./provisioning/dashboards/rtdw.yml')) as { providers: Array<{ type: string; options: { path: string } }> }).providers;
const compose = parse(read('../compose.yml')) as { services: { grafana: { volumes: string[] } } };

/** Series Prometheus adds to every scrape itself. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

let exported: Set<string>;
beforeAll(async () => {
  exported = new Set((await exportedMetrics()).flatMap(seriesNames));
});

describe.each(dashboards)('docker/grafana/dashboards/%s', (file) => {
  const dashboard = JSON.parse(read(`./dashboards/${file}`)) as Dashboard;
  const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
  const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

  it('has what an import needs: uid, title, schema version, unique panel ids, panels inside the 24-column grid', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title.length).toBeGreaterThan(0);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    for (const p of queryPanels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refs = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refs).size, p.title).toBe(refs.length);
    }
  });

  it('uses only the provisioned datasources, each by its uid and type', () => {
    const byUid = new Map(datasources.map((d) => [d.uid, d.type]));
    for (const p of queryPanels) expect(byUid.get(p.datasource?.uid ?? ''), p.title).toBe(p.datasource?.type);
    for (const t of targets) expect(byUid.get(t.datasource.uid), t.panel).toBe(t.datasource.type);
    for (const v of dashboard.templating.list) expect(byUid.has(v.datasource.uid), v.name).toBe(true);
  });

  it('queries, in valid PromQL, only metrics the rtdw processes export', () => {
    const queries = [...targets.filter((t) => t.expr !== undefined).map((t) => ({ where: t.panel, expr: t.expr as string })), ...dashboard.templating.list.map((v) => ({ where: `variable ${v.name}`, expr: v.query.query.replace(/^label_values\((.*), \w+\)$/, '$1') }))];
    expect(queries.length).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const q of queries) {
      const names = metricNamesIn(withoutGrafanaVariables(q.expr));
      expect(names.length, `${q.where}: ${q.expr}`).toBeGreaterThan(0);
      for (const n of names) if (!exported.has(n) && !PROMETHEUS_SERIES.has(n)) unknown.push(`${q.where}: ${n}`);
    }
    expect(unknown).toEqual([]);
  });

  it('reads, in its Redis panels, keys the Redis sink writes (namespace from the dashboard variable, hash tags off)', () => {
    const layout = redisLayout({ namespace: 'ns1', hashTags: false });
    const day = '2026-12-04';
    const redisTargets = targets.filter((t) => t.datasource.type === 'redis-datasource');
    expect(redisTargets.length).toBeGreaterThan(0);
    const written = new Set([layout.latest(), layout.watermark(), layout.blacklist(), layout.alerts(), layout.dailyKpi(day), layout.hotAdsDaily(day)]);
    for (const t of redisTargets) {
      const key = (t.keyName ?? '').replaceAll('$namespace', 'ns1').replaceAll('${__to:date:YYYY-MM-DD}', day);
      expect(written.has(key), `${t.panel}: ${t.keyName}`).toBe(true);
      expect(['hgetall', 'scard', 'llen'], t.panel).toContain(t.command);
    }
  });

  it('is found by the provisioning: compose mounts this directory where the file provider reads', () => {
    const mount = compose.services.grafana.volumes.find((v) => v.startsWith('./grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(provider[0]?.options.path);
    expect(provider[0]?.type).toBe('file');
  });
});

/**
 * What the rtdw processes export, read from the code: every module that registers metrics on the
 * process registry (found by `registers: [registry]` in the source) is imported and its metric
 * factories (`…Metrics()`) called, then the registry is asked. And the metric names a PromQL
 * expression reads, from Prometheus's own PromQL grammar (@prometheus-io/lezer-promql).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { registry } from '../../connectors/observability/metrics.js';
import { repoRoot } from '../../schemas/config.js';

export interface ExportedMetric {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The modules registering metrics on the process registry, relative to the repository. */
export function metricModules(): string[] {
  return ['connectors', 'jobs']
    .flatMap((d) => sources(join(repoRoot, d)))
    .filter((f) => readFileSync(f, 'utf8').includes('registers: [registry]'))
    .map((f) => relative(repoRoot, f))
    .sort();
}

export async function exportedMetrics(): Promise<ExportedMetric[]> {
  for (const module of metricModules()) {
    const exports = (await import(pathToFileURL(join(repoRoot, module)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) {
      if (name.endsWith('Metrics') && typeof value === 'function' && value.length === 0) (value as () => unknown)();
    }
  }
  return (registry.getMetricsAsArray() as unknown as Array<{ name: string; type: string; help: string; labelNames?: string[] }>).map((m) => ({
    name: m.name,
    type: m.type,
    help: m.help,
    labels: [...(m.labelNames ?? [])],
  }));
}

/** The series names a metric exposes: a histogram's _bucket, _sum and _count, a summary's _sum and _count. */
export function seriesNames(m: ExportedMetric): string[] {
  if (m.type === 'histogram') return [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`];
  if (m.type === 'summary') return [m.name, `${m.name}_sum`, `${m.name}_count`];
  return [m.name];
}

/** Grafana's own variables, replaced by what Grafana would put there so the text parses as PromQL. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_)?interval|\$__range/g, '5m').replace(/\$\{?(\w+)\}?/g, (_, name: string) => `grafana_var_${name}`);
}

/** The metric names a PromQL expression selects; throws on a syntax error, naming it. */
export function metricNamesIn(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  let error: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id !== null) names.push(expr.slice(id.from, id.to));
      }
    },
  });
  if (error !== undefined) throw new Error(`PromQL syntax error at ${error} in: ${expr}`);
  return names;
}

/** The outage metrics of this process (connectors/observability/outage.ts), read from the registry. */
import { registry } from '../../connectors/observability/metrics.js';

async function value(name: string, component: string, service: string): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const v = metric?.values.find((x) => x.labels.component === component && x.labels.service === service)?.value;
  return v === undefined ? undefined : Number(v);
}

/** rtdw_outages_total{component, service} */
export async function outagesCounted(component: string, service: string): Promise<number> {
  return (await value('rtdw_outages_total', component, service)) ?? 0;
}

/** rtdw_service_available{component, service} */
export function serviceAvailable(component: string, service: string): Promise<number | undefined> {
  return value('rtdw_service_available', component, service);
}

/**
 * `rtdw stack up|down|status|reset`: the four services of the local stack, started in parallel, and
 * the optional ones asked for (`--with prometheus`, RTDW_STACK_WITH); an optional service this stack
 * runs is stopped and shown like the others. `rtdw stack stop|start <service>`: one of the four, its
 * data kept (outage drills, `npm run chaos`).
 */
import { mkdirSync } from 'node:fs';
import type { OptionalService, RtdwConfig } from '../../schemas/config.js';
import { ClickHouseService } from './clickhouse.js';
import { KafkaService } from './kafka.js';
import { MariaDbService } from './mariadb.js';
import { PrometheusService } from './prometheus.js';
import { RedisService } from './redis.js';
import type { ServiceStatus, StackService } from './service.js';

type Log = (msg: string) => void;

export function stackServices(config: RtdwConfig, log: Log, withServices: readonly OptionalService[] = config.stack.with): StackService[] {
  const services: StackService[] = [new MariaDbService(config, log), new KafkaService(config, log), new RedisService(config, log), new ClickHouseService(config, log)];
  const prometheus = new PrometheusService(config, log);
  if (withServices.includes('prometheus') || prometheus.running()) services.push(prometheus);
  return services;
}

export const SERVICE_NAMES = ['mysql', 'kafka', 'redis', 'clickhouse'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}

function stackService(config: RtdwConfig, name: ServiceName, log: Log): StackService {
  const service = stackServices(config, log).find((s) => s.name === name);
  if (service === undefined) throw new Error(`no stack service named ${name}`);
  return service;
}

/** Stops one service if this stack started it (its data stays); the others keep running. */
export function stopService(config: RtdwConfig, name: ServiceName, log: Log): Promise<string> {
  return stackService(config, name, log).down();
}

/** Starts one service (idempotent) and waits until it is ready, as `stack up` does for all. */
export async function startService(config: RtdwConfig, name: ServiceName, log: Log): Promise<ServiceStatus> {
  mkdirSync(config.dataDir, { recursive: true });
  return stackService(config, name, log).up();
}

export interface StackUpResult {
  statuses: ServiceStatus[];
  failures: Array<{ name: string; error: string }>;
}

export async function stackUp(config: RtdwConfig, log: Log, withServices: readonly OptionalService[] = config.stack.with): Promise<StackUpResult> {
  mkdirSync(config.dataDir, { recursive: true });
  const services = stackServices(config, log, withServices);
  const settled = await Promise.allSettled(services.map((s) => s.up()));
  const statuses: ServiceStatus[] = [];
  const failures: StackUpResult['failures'] = [];
  settled.forEach((r, i) => {
    const service = services[i] as StackService;
    if (r.status === 'fulfilled') {
      statuses.push(r.value);
      if (!r.value.healthy) failures.push({ name: service.name, error: r.value.detail ?? 'unhealthy' });
    } else {
      failures.push({ name: service.name, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    }
  });
  return { statuses, failures };
}

export async function stackDown(config: RtdwConfig, log: Log): Promise<Array<{ name: string; result: string }>> {
  const services = stackServices(config, log);
  return Promise.all(services.map(async (s) => ({ name: s.name, result: await s.down() })));
}

export async function stackStatus(config: RtdwConfig, log: Log): Promise<ServiceStatus[]> {
  return Promise.all(stackServices(config, log).map((s) => s.status()));
}

export async function stackReset(config: RtdwConfig, log: Log): Promise<void> {
  const services = stackServices(config, log, ['prometheus']);
  await Promise.all(services.map((s) => s.down()));
  await Promise.all(services.map((s) => s.reset()));
}

export function formatStatusTable(statuses: ServiceStatus[]): string {
  const rows = statuses.map((s) => [s.name, s.endpoint, s.healthy ? 'healthy' : 'DOWN', s.owner, s.version ?? '-', s.detail ?? '']);
  const header = ['service', 'endpoint', 'health', 'owner', 'version', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

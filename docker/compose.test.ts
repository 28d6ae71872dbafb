import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { targetsDir } from '../connectors/observability/scrape-targets.js';
import { loadConfig } from '../schemas/config.js';

interface ComposeService {
  image: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  network_mode?: string;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

const compose = parse(readFileSync(new URL('./compose.yml', import.meta.url), 'utf8')) as { services: Record<string, ComposeService> };
const initSql = readFileSync(new URL('./mysql-init/01-cdc-user.sql', import.meta.url), 'utf8');
// The defaults, as a user with no rtdw variables set gets them.
const defaults = loadConfig({});

function publishedPort(service: ComposeService): number {
  const [mapping] = service.ports ?? [];
  const match = /^127\.0\.0\.1:(\d+):\d+$/.exec(mapping ?? '');
  if (!match?.[1]) throw new Error(`port mapping ${String(mapping)} is not loopback-only`);
  return Number(match[1]);
}

describe('docker/compose.yml', () => {
  it('defines the four services and Prometheus and Grafana, each with a health check, listening on loopback only', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['clickhouse', 'grafana', 'kafka', 'mysql', 'prometheus', 'redis']);
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
      // On the host's network (to reach the rtdw processes' 127.0.0.1), they must bind loopback themselves.
      if (s.network_mode === 'host') expect(JSON.stringify(s), name).toMatch(/127\.0\.0\.1/);
      else expect(() => publishedPort(s), name).not.toThrow();
    }
    const prometheus = compose.services.prometheus as ComposeService;
    expect(prometheus.command).toContain('--web.listen-address=127.0.0.1:9090');
    expect((compose.services.grafana as ComposeService).environment).toMatchObject({ GF_SERVER_HTTP_ADDR: '127.0.0.1' });
  });

  it('mounts the repository\'s Prometheus and Grafana files, and the targets directory the rtdw processes write', () => {
    const mounts = (name: string) => ((compose.services[name] as ComposeService).volumes ?? []).map((v) => v.split(':'));
    for (const [source] of [...mounts('prometheus'), ...mounts('grafana')]) {
      if (source === undefined || !source.startsWith('./')) continue;
      expect(existsSync(new URL(source, import.meta.url)), source).toBe(true);
    }
    // The default data dir seen from docker/ is the one the processes write their target files in.
    const targets = (compose.services.prometheus as ComposeService).volumes?.find((v) => v.endsWith(':/etc/prometheus/targets:ro'));
    expect(targets).toBe('${RTDW_DATA_DIR:-../.rtdw}/prometheus/targets:/etc/prometheus/targets:ro');
    expect(fileURLToPath(new URL('../.rtdw/prometheus/targets', import.meta.url))).toBe(targetsDir(defaults.dataDir));
  });

  it('publishes each service on the port the config defaults to', () => {
    const s = compose.services;
    expect(publishedPort(s.mysql as ComposeService)).toBe(defaults.mysql.port);
    expect(`127.0.0.1:${publishedPort(s.kafka as ComposeService)}`).toBe(defaults.kafka.brokers[0]);
    expect(publishedPort(s.redis as ComposeService)).toBe(Number(new URL(defaults.redis.url).port));
    expect(publishedPort(s.clickhouse as ComposeService)).toBe(Number(new URL(defaults.clickhouse.url).port));
  });

  it('runs MySQL 8 with the binlog CDC needs and the default users', () => {
    const mysql = compose.services.mysql as ComposeService;
    expect(mysql.image).toMatch(/^mysql:8/);
    expect(mysql.command).toEqual(expect.arrayContaining(['--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL', '--gtid-mode=ON', '--server-id=1']));
    expect(mysql.environment).toMatchObject({
      MYSQL_ROOT_PASSWORD: defaults.mysql.admin.password,
      MYSQL_DATABASE: defaults.mysql.database,
      MYSQL_USER: defaults.mysql.app.user,
      MYSQL_PASSWORD: defaults.mysql.app.password,
    });
    expect(initSql).toContain(`'${defaults.mysql.user}'@'%' IDENTIFIED BY '${defaults.mysql.password}'`);
    expect(initSql).toMatch(/GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON \*\.\*/);
  });

  it('runs Kafka 3.9 in KRaft mode advertising the default broker', () => {
    const kafka = compose.services.kafka as ComposeService;
    expect(kafka.image).toMatch(/^apache\/kafka:3\.9/);
    expect(kafka.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kafka.environment?.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${defaults.kafka.brokers[0]}`);
  });

  it('creates the default ClickHouse database and user, and Redis 7', () => {
    const ch = compose.services.clickhouse as ComposeService;
    expect(ch.environment).toMatchObject({ CLICKHOUSE_DB: defaults.clickhouse.database, CLICKHOUSE_USER: defaults.clickhouse.user, CLICKHOUSE_PASSWORD: defaults.clickhouse.password });
    expect((compose.services.redis as ComposeService).image).toMatch(/^redis:7/);
  });
});

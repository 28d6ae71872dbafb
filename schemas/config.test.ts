import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cdcEnvSchema, loadCdcOptions } from '../connectors/mysql-binlog/config.js';
import { redisSinkEnvSchema } from '../connectors/redis/config.js';
import { screenEnvSchema } from '../connectors/screen/config.js';
import { ConfigError, envSchema, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to the local stack', () => {
    const c = loadConfig({});
    expect(c.mysql).toMatchObject({ host: '127.0.0.1', port: 3307, database: 'shop', user: 'rtdw_cdc' });
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.redis.url).toBe('redis://127.0.0.1:6380');
    expect(c.clickhouse).toMatchObject({ url: 'http://127.0.0.1:8123', user: 'default', database: 'rtdw' });
  });

  it('reads every endpoint from the environment', () => {
    const c = loadConfig({
      MYSQL_HOST: 'db.internal',
      MYSQL_PORT: '3306',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      REDIS_URL: 'rediss://:secret@cache:6379',
      CLICKHOUSE_URL: 'https://ch.example:8443',
      CLICKHOUSE_PASSWORD: 'pw',
    });
    expect(c.mysql.host).toBe('db.internal');
    expect(c.mysql.port).toBe(3306);
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.redis.url).toBe('rediss://:secret@cache:6379');
    expect(c.clickhouse.url).toBe('https://ch.example:8443');
    expect(c.clickhouse.password).toBe('pw');
  });

  it('reads every port of the local stack, the controller port included', () => {
    expect(loadConfig({}).kafka.controllerPort).toBe(9093);
    const c = loadConfig({ MYSQL_PORT: '13307', KAFKA_BROKERS: '127.0.0.1:19092', KAFKA_CONTROLLER_PORT: '19093', REDIS_URL: 'redis://127.0.0.1:16380', CLICKHOUSE_URL: 'http://127.0.0.1:18123' });
    expect([c.mysql.port, c.kafka.brokers[0], c.kafka.controllerPort, new URL(c.redis.url).port, new URL(c.clickhouse.url).port]).toEqual([13307, '127.0.0.1:19092', 19093, '16380', '18123']);
    expect(() => loadConfig({ KAFKA_CONTROLLER_PORT: '0' })).toThrow(/KAFKA_CONTROLLER_PORT/);
  });

  it('refuses two local services on one port, and allows it for remote ones', () => {
    expect(() => loadConfig({ KAFKA_CONTROLLER_PORT: '9092' })).toThrow(/KAFKA_CONTROLLER_PORT: port 9092 is also KAFKA_BROKERS's/);
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:3307' })).toThrow(/REDIS_URL: port 3307 is also MYSQL_PORT's/);
    expect(() => loadConfig({ CLICKHOUSE_URL: 'http://localhost' })).not.toThrow();
    expect(() => loadConfig({ CLICKHOUSE_URL: 'http://localhost', METRICS_PORT: '8123' })).toThrow(/METRICS_PORT: port 8123 is also CLICKHOUSE_URL's/);
    // Ports on other hosts are not the stack's: the same number elsewhere is no clash.
    expect(loadConfig({ MYSQL_HOST: 'db.internal', MYSQL_PORT: '9092' }).mysql.port).toBe(9092);
    expect(loadConfig({ KAFKA_BROKERS: 'k1:9093' }).kafka.brokers).toEqual(['k1:9093']);
  });

  it('names every bad variable and never echoes a value', () => {
    let error: unknown;
    try {
      loadConfig({ MYSQL_PORT: '70000', KAFKA_BROKERS: 'nohostport', REDIS_URL: 'http://x', MYSQL_PASSWORD: 'p4ss', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['MYSQL_PORT', 'KAFKA_BROKERS', 'REDIS_URL', 'LOG_LEVEL']) expect(problems).toContain(name);
    expect((error as ConfigError).message).not.toContain('p4ss');
  });

  it('treats an empty variable as unset, except passwords', () => {
    const c = loadConfig({ MYSQL_PORT: '', MYSQL_PASSWORD: '' });
    expect(c.mysql.port).toBe(3307);
    expect(c.mysql.password).toBe('');
  });

  it('has pipeline defaults, and a namespace that names the ClickHouse database unless it is set', () => {
    expect(loadConfig({}).pipeline).toEqual({
      namespace: 'rtdw',
      timezone: 'UTC',
      outOfOrdernessMs: 5000,
      idleTimeoutMs: 10_000,
      stateRetentionMs: 172_800_000,
      allowedLatenessMs: 60_000,
      blacklistClicks: 100,
      detailTtlDays: 30,
      rollups: false,
      redisTtlSeconds: 172_800,
      // Siffer et al.'s q, level and d
      alerts: { q: 1e-4, level: 0.98, depth: 10, brushingCalibration: 1000, paymentCalibrationMinutes: 120, minPayments: 20, smallOrderBelow: '20.00' },
    });
    expect(loadConfig({ RTDW_NAMESPACE: 'team_b' }).clickhouse.database).toBe('team_b');
    expect(loadConfig({ RTDW_NAMESPACE: 'team_b', CLICKHOUSE_DATABASE: 'bi' }).clickhouse.database).toBe('bi');
    expect(loadConfig({ RTDW_TIMEZONE: 'asia/shanghai', RTDW_BLACKLIST_CLICKS: '5' }).pipeline).toMatchObject({ timezone: 'Asia/Shanghai', blacklistClicks: 5 });
  });

  it('refuses a namespace that is not an identifier, and a time zone that is not an IANA name', () => {
    for (const env of [{ RTDW_NAMESPACE: 'a-b' }, { RTDW_NAMESPACE: 'a.b' }, { RTDW_TIMEZONE: 'Mars/Olympus' }, { RTDW_TIMEZONE: '+08:00' }, { RTDW_IDLE_TIMEOUT_MS: '0' }]) {
      expect(() => loadConfig(env)).toThrow(Object.keys(env)[0]);
    }
  });

  it('takes the alert parameters, and refuses those SPOT cannot learn a threshold with', () => {
    expect(loadConfig({ RTDW_ALERT_Q: '0.001', RTDW_ALERT_LEVEL: '0.99', RTDW_ALERT_DEPTH: '5' }).pipeline.alerts).toMatchObject({ q: 0.001, level: 0.99, depth: 5 });
    for (const [env, name] of [
      [{ RTDW_ALERT_Q: '0' }, 'RTDW_ALERT_Q'],
      [{ RTDW_ALERT_Q: '0.05' }, 'RTDW_ALERT_Q: must be below 1 - RTDW_ALERT_LEVEL'],
      [{ RTDW_ALERT_LEVEL: '1' }, 'RTDW_ALERT_LEVEL'],
      [{ RTDW_ALERT_DEPTH: '0' }, 'RTDW_ALERT_DEPTH'],
      [{ RTDW_ALERT_BRUSHING_CALIBRATION: '40' }, 'RTDW_ALERT_BRUSHING_CALIBRATION: needs at least 50'],
      [{ RTDW_ALERT_PAYMENT_CALIBRATION_MINUTES: '59' }, 'RTDW_ALERT_PAYMENT_CALIBRATION_MINUTES'],
      [{ RTDW_ALERT_SMALL_ORDER_BELOW: '-1' }, 'RTDW_ALERT_SMALL_ORDER_BELOW'],
    ] as const) {
      expect(() => loadConfig(env)).toThrow(name);
    }
    expect(loadConfig({ RTDW_ALERT_PAYMENT_CALIBRATION_MINUTES: '60' }).pipeline.alerts.paymentCalibrationMinutes).toBe(60);
  });

  it('derives the CDC defaults from the namespace, unless they are set', () => {
    expect(loadCdcOptions('shop', { RTDW_NAMESPACE: 'team_b' })).toMatchObject({
      name: 'team_b-cdc',
      topic: 'team_b.ods_binlog',
      positionsTopic: 'team_b.cdc_positions',
      deadLetterTopic: 'team_b.cdc_dead_letter',
    });
    expect(loadCdcOptions('shop', {})).toMatchObject({ name: 'rtdw-cdc', topic: 'rtdw.ods_binlog' });
    expect(loadCdcOptions('shop', { RTDW_NAMESPACE: 'team_b', CDC_NAME: 'mine', CDC_TOPIC: 'raw' })).toMatchObject({ name: 'mine', topic: 'raw', positionsTopic: 'team_b.cdc_positions' });
    expect(() => loadCdcOptions('shop', { RTDW_NAMESPACE: 'a b' })).toThrow(/RTDW_NAMESPACE: letters, digits and _ only/);
  });

  it('documents every variable, and only real ones, in the README tables', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/^\| (`[A-Z_]+`(?: \/ `[A-Z_]+`)*) \|/gm)].flatMap((m) => [...(m[1] ?? '').matchAll(/`([A-Z_]+)`/g)].map((n) => n[1]));
    expect(documented.sort()).toEqual([...Object.keys(envSchema.shape), ...Object.keys(cdcEnvSchema.shape), ...Object.keys(redisSinkEnvSchema.shape), ...Object.keys(screenEnvSchema.shape)].sort());
  });
});

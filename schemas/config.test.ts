import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cdcEnvSchema } from '../connectors/mysql-binlog/config.js';
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

  it('documents every variable, and only real ones, in the README tables', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/^\| (`[A-Z_]+`(?: \/ `[A-Z_]+`)*) \|/gm)].flatMap((m) => [...(m[1] ?? '').matchAll(/`([A-Z_]+)`/g)].map((n) => n[1]));
    expect(documented.sort()).toEqual([...Object.keys(envSchema.shape), ...Object.keys(cdcEnvSchema.shape), ...Object.keys(redisSinkEnvSchema.shape), ...Object.keys(screenEnvSchema.shape)].sort());
  });
});

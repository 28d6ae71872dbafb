import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Repository root: the local stack keeps its data under `<root>/.rtdw` unless RTDW_DATA_DIR says otherwise. */
export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

const port = z.coerce.number().int().min(1).max(65535);
const hostPort = z
  .string()
  .regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port');

/**
 * Every endpoint and credential rtdw uses, read from the environment.
 * Defaults point at the local stack (`rtdw stack up`); set the variables to use external services.
 * Documented in README.md (keep the two in step: test/config.test.ts checks it).
 */
export const envSchema = z.object({
  RTDW_DATA_DIR: z.string().min(1).default(resolve(repoRoot, '.rtdw')),
  RTDW_CACHE_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_PORT: port.optional(),

  MYSQL_HOST: z.string().min(1).default('127.0.0.1'),
  MYSQL_PORT: port.default(3307),
  MYSQL_DATABASE: z.string().regex(/^\w+$/, 'letters, digits and _ only').default('shop'),
  MYSQL_USER: z.string().min(1).default('rtdw_cdc'),
  MYSQL_PASSWORD: z.string().default('rtdw_cdc'),
  MYSQL_APP_USER: z.string().min(1).default('rtdw_app'),
  MYSQL_APP_PASSWORD: z.string().default('rtdw_app'),
  MYSQL_ADMIN_USER: z.string().min(1).default('root'),
  MYSQL_ADMIN_PASSWORD: z.string().default('rtdw_root'),

  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
    .pipe(z.array(hostPort).min(1, 'at least one broker')),
  KAFKA_CLIENT_ID: z.string().min(1).default('rtdw'),

  REDIS_URL: z.string().url().refine((u) => /^rediss?:/.test(u), 'expected redis:// or rediss://').default('redis://127.0.0.1:6380'),

  CLICKHOUSE_URL: z.string().url().refine((u) => /^https?:/.test(u), 'expected http:// or https://').default('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().min(1).default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().regex(/^\w+$/, 'letters, digits and _ only').default('rtdw'),
});

export type EnvInput = z.input<typeof envSchema>;
type Env = z.output<typeof envSchema>;

export interface RtdwConfig {
  dataDir: string;
  cacheDir: string;
  logLevel: Env['LOG_LEVEL'];
  metricsPort: number | undefined;
  mysql: {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
    app: { user: string; password: string };
    admin: { user: string; password: string };
  };
  kafka: { brokers: string[]; clientId: string };
  redis: { url: string };
  clickhouse: { url: string; user: string; password: string; database: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment; throws a ConfigError naming every bad variable (values are never echoed: they may be secrets). */
export function loadConfig(env: Record<string, string | undefined> = process.env): RtdwConfig {
  const known = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, env[k] === '' && !k.endsWith('PASSWORD') ? undefined : env[k]]));
  const parsed = envSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    dataDir: resolve(e.RTDW_DATA_DIR),
    cacheDir: resolve(e.RTDW_CACHE_DIR ?? resolve(process.env.HOME ?? e.RTDW_DATA_DIR, '.cache', 'rtdw')),
    logLevel: e.LOG_LEVEL,
    metricsPort: e.METRICS_PORT,
    mysql: {
      host: e.MYSQL_HOST,
      port: e.MYSQL_PORT,
      database: e.MYSQL_DATABASE,
      user: e.MYSQL_USER,
      password: e.MYSQL_PASSWORD,
      app: { user: e.MYSQL_APP_USER, password: e.MYSQL_APP_PASSWORD },
      admin: { user: e.MYSQL_ADMIN_USER, password: e.MYSQL_ADMIN_PASSWORD },
    },
    kafka: { brokers: e.KAFKA_BROKERS, clientId: e.KAFKA_CLIENT_ID },
    redis: { url: e.REDIS_URL },
    clickhouse: { url: e.CLICKHOUSE_URL, user: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD, database: e.CLICKHOUSE_DATABASE },
  };
}

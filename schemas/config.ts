import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Repository root: the local stack keeps its data under `<root>/.rtdw` unless RTDW_DATA_DIR says otherwise. */
export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const identifier = z.string().regex(/^\w+$/, 'letters, digits and _ only');

/** An IANA zone name the runtime knows (Intl), e.g. UTC or Asia/Shanghai; returned in its canonical spelling. */
function canonicalTimeZone(name: string): string | undefined {
  // Intl also takes offsets such as +08:00, which are not zone names (and have no DST rules).
  if (!/^[A-Za-z][\w+\-/]*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}
/** Services of the local stack that start only when asked for (`rtdw stack up --with`, RTDW_STACK_WITH). */
export const OPTIONAL_SERVICES = ['prometheus'] as const;
export type OptionalService = (typeof OPTIONAL_SERVICES)[number];

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
  /** 0: a free port (Prometheus finds it through the process's target file, connectors/observability/scrape-targets.ts). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Address the metrics port binds: loopback unless the operator opens it to a Prometheus elsewhere on purpose. */
  METRICS_HOST: z.string().regex(/^[\w.:-]+$/, 'an IP address or a host name').default('127.0.0.1'),
  /** Optional services `rtdw stack up` starts besides the four (also `--with`): prometheus. */
  RTDW_STACK_WITH: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((n) => n.trim()).filter((n) => n.length > 0))
    .pipe(z.array(z.enum(OPTIONAL_SERVICES))),
  RTDW_PROMETHEUS_PORT: port.default(9090),

  RTDW_NAMESPACE: identifier.default('rtdw'),
  RTDW_TIMEZONE: z
    .string()
    .default('UTC')
    .refine((name) => canonicalTimeZone(name) !== undefined, 'expected an IANA time zone name, e.g. UTC or Asia/Shanghai')
    .transform((name) => canonicalTimeZone(name) ?? name),
  RTDW_OUT_OF_ORDERNESS_MS: nonNegativeInt.default(5000),
  RTDW_IDLE_TIMEOUT_MS: positiveInt.default(10_000),
  RTDW_STATE_RETENTION_MS: positiveInt.default(172_800_000),
  RTDW_ALLOWED_LATENESS_MS: nonNegativeInt.default(60_000),
  RTDW_BLACKLIST_CLICKS: positiveInt.default(100),
  RTDW_DETAIL_TTL_DAYS: positiveInt.default(30),
  /** the rollup tables (schemas/clickhouse/rollups/): refreshed every minute by ClickHouse, so opt-in */
  RTDW_ROLLUPS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  RTDW_REDIS_TTL_S: positiveInt.default(172_800),
  RTDW_ALERT_Q: z.coerce.number().gt(0).lt(1).default(1e-4),
  RTDW_ALERT_LEVEL: z.coerce.number().gt(0).lt(1).default(0.98),
  RTDW_ALERT_DEPTH: positiveInt.default(10),
  RTDW_ALERT_BRUSHING_CALIBRATION: positiveInt.default(1000),
  RTDW_ALERT_PAYMENT_CALIBRATION_MINUTES: positiveInt.default(120),
  RTDW_ALERT_MIN_PAYMENTS: positiveInt.default(20),
  RTDW_ALERT_SMALL_ORDER_BELOW: z.string().regex(/^\d{1,10}(\.\d{1,2})?$/, 'a positive amount such as 20.00').default('20.00'),

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
  /** The local stack's KRaft controller listener (127.0.0.1 only); unused with external brokers. */
  KAFKA_CONTROLLER_PORT: port.default(9093),

  REDIS_URL: z.string().url().refine((u) => /^rediss?:/.test(u), 'expected redis:// or rediss://').default('redis://127.0.0.1:6380'),

  CLICKHOUSE_URL: z.string().url().refine((u) => /^https?:/.test(u), 'expected http:// or https://').default('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().min(1).default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  /** Defaults to RTDW_NAMESPACE. */
  CLICKHOUSE_DATABASE: identifier.optional(),
  CLICKHOUSE_BATCH_ROWS: positiveInt.default(20_000),
  CLICKHOUSE_FLUSH_MS: positiveInt.default(500),
}).superRefine((e, ctx) => {
  for (const problem of portClashes(e)) ctx.addIssue({ code: 'custom', message: problem, path: [] });
});

/** Host and port of a URL, with the scheme's default port when it names none. */
function urlEndpoint(url: string, defaults: Record<string, number>): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || defaults[u.protocol] || 0) };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Two local services configured on one port would make `rtdw stack up` start one and "reuse" it as
 * the other: every loopback port of the stack (and the metrics port) must be distinct.
 */
function portClashes(e: {
  MYSQL_HOST: string; MYSQL_PORT: number; KAFKA_BROKERS: string[]; KAFKA_CONTROLLER_PORT: number;
  REDIS_URL: string; CLICKHOUSE_URL: string; METRICS_PORT?: number | undefined;
}): string[] {
  const used: Array<[string, number]> = [];
  if (LOOPBACK.has(e.MYSQL_HOST)) used.push(['MYSQL_PORT', e.MYSQL_PORT]);
  const broker = e.KAFKA_BROKERS.length === 1 ? e.KAFKA_BROKERS[0] : undefined;
  if (broker !== undefined && LOOPBACK.has(broker.slice(0, broker.lastIndexOf(':')))) {
    used.push(['KAFKA_BROKERS', Number(broker.slice(broker.lastIndexOf(':') + 1))], ['KAFKA_CONTROLLER_PORT', e.KAFKA_CONTROLLER_PORT]);
  }
  const redis = urlEndpoint(e.REDIS_URL, { 'redis:': 6379, 'rediss:': 6379 });
  if (LOOPBACK.has(redis.host)) used.push(['REDIS_URL', redis.port]);
  const clickhouse = urlEndpoint(e.CLICKHOUSE_URL, { 'http:': 8123, 'https:': 8443 });
  if (LOOPBACK.has(clickhouse.host)) used.push(['CLICKHOUSE_URL', clickhouse.port]);
  if (e.METRICS_PORT !== undefined) used.push(['METRICS_PORT', e.METRICS_PORT]);
  const problems: string[] = [];
  used.forEach(([name, p], i) => {
    const first = used.findIndex(([, q]) => q === p);
    if (first < i) problems.push(`${name}: port ${p} is also ${used[first]?.[0]}'s; every local service needs its own port`);
  });
  return problems;
}

export type EnvInput = z.input<typeof envSchema>;
type Env = z.output<typeof envSchema>;

export interface RtdwConfig {
  dataDir: string;
  cacheDir: string;
  logLevel: Env['LOG_LEVEL'];
  metricsPort: number | undefined;
  metricsHost: string;
  stack: {
    /** optional services started with the four */
    with: OptionalService[];
    prometheusPort: number;
  };
  mysql: {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
    app: { user: string; password: string };
    admin: { user: string; password: string };
  };
  kafka: { brokers: string[]; clientId: string; /** the local stack's controller listener */ controllerPort: number };
  redis: { url: string };
  clickhouse: {
    url: string;
    user: string;
    password: string;
    database: string;
    /** the sink inserts when this many rows wait, or when the oldest has waited flushMs */
    batchRows: number;
    flushMs: number;
  };
  pipeline: {
    /** prefixes Kafka topics `<ns>.<name>`, consumer groups, transactional ids, Redis keys `<ns>:`; the ClickHouse database by default */
    namespace: string;
    /** IANA zone of the source's DATETIME values and of calendar days */
    timezone: string;
    outOfOrdernessMs: number;
    idleTimeoutMs: number;
    stateRetentionMs: number;
    allowedLatenessMs: number;
    blacklistClicks: number;
    detailTtlDays: number;
    /** RTDW_ROLLUPS: rtdw setup also applies the rollup migrations */
    rollups: boolean;
    redisTtlSeconds: number;
    /** the learned-threshold alerts (jobs/alerts/alerts.ts AlertSettings) */
    alerts: {
      q: number;
      level: number;
      depth: number;
      brushingCalibration: number;
      paymentCalibrationMinutes: number;
      minPayments: number;
      smallOrderBelow: string;
    };
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function problems(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
}

/** RTDW_NAMESPACE alone, validated like loadConfig does: for option sets whose defaults follow it (CDC_*). */
export function loadNamespace(env: Record<string, string | undefined> = process.env): string {
  const parsed = envSchema.shape.RTDW_NAMESPACE.safeParse(env.RTDW_NAMESPACE === '' ? undefined : env.RTDW_NAMESPACE);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `RTDW_NAMESPACE: ${i.message}`));
  return parsed.data;
}

/** Validates the environment; throws a ConfigError naming every bad variable (values are never echoed: they may be secrets). */
export function loadConfig(env: Record<string, string | undefined> = process.env): RtdwConfig {
  const known = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, env[k] === '' && !k.endsWith('PASSWORD') ? undefined : env[k]]));
  const parsed = envSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(problems(parsed.error));
  }
  const e = parsed.data;
  const alertProblems = alertSettingProblems(e);
  if (alertProblems.length > 0) throw new ConfigError(alertProblems);
  return {
    dataDir: resolve(e.RTDW_DATA_DIR),
    cacheDir: resolve(e.RTDW_CACHE_DIR ?? resolve(process.env.HOME ?? e.RTDW_DATA_DIR, '.cache', 'rtdw')),
    logLevel: e.LOG_LEVEL,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    stack: { with: e.RTDW_STACK_WITH, prometheusPort: e.RTDW_PROMETHEUS_PORT },
    mysql: {
      host: e.MYSQL_HOST,
      port: e.MYSQL_PORT,
      database: e.MYSQL_DATABASE,
      user: e.MYSQL_USER,
      password: e.MYSQL_PASSWORD,
      app: { user: e.MYSQL_APP_USER, password: e.MYSQL_APP_PASSWORD },
      admin: { user: e.MYSQL_ADMIN_USER, password: e.MYSQL_ADMIN_PASSWORD },
    },
    kafka: { brokers: e.KAFKA_BROKERS, clientId: e.KAFKA_CLIENT_ID, controllerPort: e.KAFKA_CONTROLLER_PORT },
    redis: { url: e.REDIS_URL },
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      user: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE ?? e.RTDW_NAMESPACE,
      batchRows: e.CLICKHOUSE_BATCH_ROWS,
      flushMs: e.CLICKHOUSE_FLUSH_MS,
    },
    pipeline: {
      namespace: e.RTDW_NAMESPACE,
      timezone: e.RTDW_TIMEZONE,
      outOfOrdernessMs: e.RTDW_OUT_OF_ORDERNESS_MS,
      idleTimeoutMs: e.RTDW_IDLE_TIMEOUT_MS,
      stateRetentionMs: e.RTDW_STATE_RETENTION_MS,
      allowedLatenessMs: e.RTDW_ALLOWED_LATENESS_MS,
      blacklistClicks: e.RTDW_BLACKLIST_CLICKS,
      detailTtlDays: e.RTDW_DETAIL_TTL_DAYS,
      rollups: e.RTDW_ROLLUPS,
      redisTtlSeconds: e.RTDW_REDIS_TTL_S,
      alerts: {
        q: e.RTDW_ALERT_Q,
        level: e.RTDW_ALERT_LEVEL,
        depth: e.RTDW_ALERT_DEPTH,
        brushingCalibration: e.RTDW_ALERT_BRUSHING_CALIBRATION,
        paymentCalibrationMinutes: e.RTDW_ALERT_PAYMENT_CALIBRATION_MINUTES,
        minPayments: e.RTDW_ALERT_MIN_PAYMENTS,
        smallOrderBelow: e.RTDW_ALERT_SMALL_ORDER_BELOW,
      },
    },
  };
}

/** What SPOT needs of its settings together: a threshold above the initial one, and a calibration batch with a tail. */
function alertSettingProblems(e: Env): string[] {
  const problems: string[] = [];
  const tail = 1 - e.RTDW_ALERT_LEVEL;
  if (!(e.RTDW_ALERT_Q < tail)) problems.push(`RTDW_ALERT_Q: must be below 1 - RTDW_ALERT_LEVEL = ${tail}`);
  if (e.RTDW_ALERT_BRUSHING_CALIBRATION * tail < 1) problems.push(`RTDW_ALERT_BRUSHING_CALIBRATION: needs at least ${Math.ceil(1 / tail)} values for one above the RTDW_ALERT_LEVEL quantile`);
  if ((e.RTDW_ALERT_PAYMENT_CALIBRATION_MINUTES - e.RTDW_ALERT_DEPTH) * tail < 1) {
    problems.push(`RTDW_ALERT_PAYMENT_CALIBRATION_MINUTES: needs at least RTDW_ALERT_DEPTH + ${Math.ceil(1 / tail)} minutes (the depth fills the moving average, the rest calibrates)`);
  }
  return problems;
}

/**
 * Options of `rtdw screen`: RTDW_SCREEN_* variables, validated at start. The Redis names it reads
 * (namespace, hash tags, cluster nodes) come from the same variables as the Redis sink's, so the
 * screen reads exactly the keys the sink writes.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from '../../schemas/config.js';
import { loadRedisSinkOptions } from '../redis/config.js';

/** A loopback or interface address, or a host name; never a URL or a list. */
const host = z
  .string()
  .min(1)
  .refine((h) => isIP(h) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h), 'expected an IP address or a host name');

export const screenEnvSchema = z.object({
  /** Address the web server binds; loopback unless the operator opens it on purpose. */
  RTDW_SCREEN_HOST: host.default('127.0.0.1'),
  RTDW_SCREEN_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** How often Redis is read; a snapshot goes to the browsers only when it differs from the last one. */
  RTDW_SCREEN_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** How often consumer-group lag is read from Kafka; 0 turns it off (the metrics have it too). */
  RTDW_SCREEN_LAG_POLL_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === 0 || (ms >= 1000 && ms <= 600_000), '0 (off) or 1000..600000')
    .default(5000),
});

export interface ScreenOptions {
  namespace: string;
  /** IANA zone of "today" (RTDW_TIMEZONE) */
  timezone: string;
  host: string;
  /** 0: any free port (tests) */
  port: number;
  pollMs: number;
  /** 0: lag is not read */
  lagPollMs: number;
  hashTags: boolean;
  clusterNodes: Array<{ host: string; port: number }> | undefined;
}

export function loadScreenOptions(settings: { namespace: string; timezone: string }, env: Record<string, string | undefined> = process.env): ScreenOptions {
  const redis = loadRedisSinkOptions(settings.namespace, env);
  const known = Object.fromEntries(Object.keys(screenEnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = screenEnvSchema.safeParse(known);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  return {
    namespace: settings.namespace,
    timezone: settings.timezone,
    host: e.RTDW_SCREEN_HOST,
    port: e.RTDW_SCREEN_PORT,
    pollMs: e.RTDW_SCREEN_POLL_MS,
    lagPollMs: e.RTDW_SCREEN_LAG_POLL_MS,
    hashTags: redis.hashTags,
    clusterNodes: redis.clusterNodes,
  };
}

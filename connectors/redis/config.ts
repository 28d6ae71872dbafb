/** Redis sink options: RTDW_REDIS_* and REDIS_CLUSTER_NODES environment variables, validated at start. */
import { z } from 'zod';
import { ConfigError } from '../../schemas/config.js';
import { assertNamespace } from '../../schemas/redis-keys.js';

const positiveInt = z.coerce.number().int().positive();
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const topicList = z
  .string()
  .transform((s) => s.split(',').map((t) => t.trim()).filter((t) => t.length > 0))
  .pipe(z.array(z.string().regex(/^[\w.-]+$/, 'topic names: letters, digits, _ . - only')));

export const redisSinkEnvSchema = z.object({
  /** TTL of every window, day and trend key, renewed by each write (2 days). */
  RTDW_REDIS_TTL_S: positiveInt.default(172_800),
  /** Wrap slot-sharing key parts in {} hash tags; required with REDIS_CLUSTER_NODES. */
  RTDW_REDIS_HASH_TAGS: flag.default(false),
  /** Topics of window results for Redis (records.ts); default `<ns>.ads_redis`. */
  RTDW_REDIS_TOPICS: topicList.optional(),
  /** Consumer group of the sink; default `<ns>-redis-sink`. */
  RTDW_REDIS_GROUP: z.string().regex(/^[\w.-]+$/).optional(),
  /** Length of the `<ns>:alerts` list. */
  RTDW_REDIS_ALERTS_MAX: positiveInt.default(1000),
  /** Cap of the exponential backoff between attempts while Redis is away. */
  RTDW_REDIS_RETRY_MAX_MS: positiveInt.default(5000),
  /** Redis Cluster seed nodes `host:port,…`; when set, REDIS_URL only supplies credentials and TLS. */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((s) => s.split(',').map((n) => n.trim()).filter((n) => n.length > 0))
    .pipe(z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port')).min(1))
    .optional(),
});

export interface RedisSinkOptions {
  namespace: string;
  ttlSeconds: number;
  hashTags: boolean;
  topics: string[];
  groupId: string;
  alertsMax: number;
  retryMaxMs: number;
  /** issue 10: `<ns>.dead_letter`, with the reason, the source offset and the original bytes */
  deadLetterTopic: string;
  clusterNodes: Array<{ host: string; port: number }> | undefined;
}

export function loadRedisSinkOptions(namespace: string, env: Record<string, string | undefined> = process.env): RedisSinkOptions {
  assertNamespace(namespace);
  const known = Object.fromEntries(Object.keys(redisSinkEnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = redisSinkEnvSchema.safeParse(known);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  if (e.REDIS_CLUSTER_NODES !== undefined && !e.RTDW_REDIS_HASH_TAGS) {
    // Without tags a window's hash and its version hash hash to different slots: the script would fail with CROSSSLOT.
    throw new ConfigError(['RTDW_REDIS_HASH_TAGS: must be true with REDIS_CLUSTER_NODES (a Lua script writes a key and its version key, which must share a slot)']);
  }
  return {
    namespace,
    ttlSeconds: e.RTDW_REDIS_TTL_S,
    hashTags: e.RTDW_REDIS_HASH_TAGS,
    topics: e.RTDW_REDIS_TOPICS !== undefined && e.RTDW_REDIS_TOPICS.length > 0 ? e.RTDW_REDIS_TOPICS : [`${namespace}.ads_redis`],
    groupId: e.RTDW_REDIS_GROUP ?? `${namespace}-redis-sink`,
    alertsMax: e.RTDW_REDIS_ALERTS_MAX,
    retryMaxMs: e.RTDW_REDIS_RETRY_MAX_MS,
    deadLetterTopic: `${namespace}.dead_letter`,
    clusterNodes: e.REDIS_CLUSTER_NODES?.map((n) => {
      const at = n.lastIndexOf(':');
      return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
    }),
  };
}

/**
 * What Redis holds of the pipeline (README "Redis layout"), read by the Redis sink:
 *
 *   <ns>.ads_redis       the screens' records, as the ADS stages write them
 *   <ns>.dim_blacklist   SADD <ns>:blacklist user_id, for every row of dim_blacklist
 *   markers in both      HSET <ns>:watermark <job> <ms>, once the writes before them landed
 *
 * A screen job is the table part of the stage writing its records (`ads_order_city_1h`, …), the
 * blacklist's is `dim_blacklist`: the same names as in pipeline_progress.
 */
import { RecordError } from '../connectors/redis/records.js';
import type { ScreenProgress } from '../connectors/redis/service.js';
import { REDIS_SINK_TOPICS, topicName } from '../schemas/topics.js';
import type { JobSpec } from './runtime/job.js';
import { watermarkWriters } from './pipeline/watermark-writers.js';
import { MarkerProgress } from './pipeline/published-progress.js';

export interface RedisScreens {
  topics: string[];
  recordOf: ReadonlyMap<string, (row: unknown) => unknown>;
  progress: ScreenProgress;
}

function blacklistRecord(row: unknown): unknown {
  const userId = (row as { user_id?: unknown } | null)?.user_id;
  if (typeof userId !== 'number') throw new RecordError(`a dim_blacklist row needs a numeric user_id, got ${JSON.stringify(row)?.slice(0, 80)}`);
  return { kind: 'blacklist', user_id: userId };
}

export function redisScreens(namespace: string, jobs: readonly JobSpec[]): RedisScreens {
  const screens = topicName(namespace, 'ads_redis');
  const blacklist = topicName(namespace, 'dim_blacklist');
  const topics = REDIS_SINK_TOPICS.map((name) => topicName(namespace, name));
  /** per topic, the progress of each producer's job */
  const trackers = new Map<string, Map<string, MarkerProgress>>(topics.map((t) => [t, new Map()]));
  for (const w of watermarkWriters(jobs)) {
    const byProducer = trackers.get(w.topic);
    if (byProducer === undefined) continue;
    const job = w.topic === screens ? w.stage.slice(namespace.length + 1).split('.')[0] as string : w.topic.slice(namespace.length + 1);
    const tracker = new MarkerProgress(job, w.partitions, w.producers);
    for (const producer of w.producers) byProducer.set(producer, tracker);
  }
  return {
    topics,
    recordOf: new Map([[blacklist, blacklistRecord]]),
    progress: {
      onMarker(topic, partition, producer, watermark) {
        // A producer no stage of these jobs has (a job since changed) holds no job's progress back.
        const tracker = trackers.get(topic)?.get(producer);
        const moved = tracker?.advance(partition, producer, watermark);
        return tracker === undefined || moved === undefined ? [] : [{ job: tracker.job, watermark: moved }];
      },
    },
  };
}

/**
 * The Kafka topics a pipeline owns, all named `<ns>.<name>` (RTDW_NAMESPACE), so that pipelines with
 * different namespaces share a cluster without touching each other. `rtdw setup` creates them;
 * every producer and consumer takes its topic names and partition counts from here, since a topic
 * created twice with different counts would be refused (connectors/kafka/topics.ts).
 * Internal topics of the stream runtime (repartitioning, changelogs) are created by the jobs.
 */

/** The ClickHouse tables of the ADS layer (schemas/clickhouse/0004_ads.sql), fed by topic `<ns>.<table>` each. */
export const ADS_TABLES = [
  'ads_order_city_1h',
  'ads_order_top3_city_1h',
  'ads_order_payment_5m',
  'ads_ad_clicks_1h',
  'ads_ad_click_trend_1m',
  'ads_hot_ads_daily',
  'ads_ad_ctr_5m',
  'ads_channel_daily',
  'ads_daily_kpi',
] as const;
export type AdsTable = (typeof ADS_TABLES)[number];

export const TOPIC_NAMES = [
  'ods_binlog',
  'cdc_positions',
  'cdc_dead_letter',
  'ods_events',
  'dead_letter',
  'late_events',
  'late_changes',
  'dwd_order_wide',
  'dwd_ad_event',
  'dim_blacklist',
  'pipeline_progress',
  ...ADS_TABLES,
  'ads_redis',
  'alerts',
] as const;
export type TopicName = (typeof TOPIC_NAMES)[number];

export interface PipelineTopic {
  topic: string;
  partitions: number;
  /** topic configs, e.g. { 'cleanup.policy': 'compact' } */
  config?: Record<string, string>;
  description: string;
}

export function topicName(namespace: string, name: TopicName): string {
  return `${namespace}.${name}`;
}

/**
 * Partitions of the topics the stream jobs write (outputs, dead letters, late records): the jobs
 * create and check them with this count, so the catalog and the jobs cannot disagree.
 */
export const JOB_PARTITIONS = 3;

export interface TopicCatalogOptions {
  /** partitions of the CDC topic (CDC_PARTITIONS): the CDC creates it with this count too */
  cdcPartitions: number;
}

/** Every topic of the pipeline of `namespace`, with its partitions and configs. */
export function pipelineTopics(namespace: string, options: TopicCatalogOptions): Record<TopicName, PipelineTopic> {
  const t = (name: TopicName, partitions: number, description: string, config?: Record<string, string>): PipelineTopic => ({
    topic: topicName(namespace, name),
    partitions,
    ...(config === undefined ? {} : { config }),
    description,
  });
  return {
    ods_binlog: t('ods_binlog', options.cdcPartitions, 'Canal flat messages of every source table (rtdw cdc, CDC_TOPIC); partitioned by primary-key hash'),
    cdc_positions: t('cdc_positions', 1, 'binlog positions committed with the CDC messages (CDC_POSITIONS_TOPIC)', { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' }),
    cdc_dead_letter: t('cdc_dead_letter', 1, 'binlog row events the CDC could not encode, with the reason (CDC_DEAD_LETTER_TOPIC)'),
    ods_events: t('ods_events', 4, 'the ad/page event log, one JSON object per message (schemas/events.ts)'),
    dead_letter: t('dead_letter', JOB_PARTITIONS, 'records a job could not use (malformed, unknown type, table or column), with the reason, source topic/partition/offset and original bytes'),
    late_events: t('late_events', JOB_PARTITIONS, 'events later than the watermark plus RTDW_ALLOWED_LATENESS_MS: counted here, in no table or figure'),
    late_changes: t('late_changes', JOB_PARTITIONS, 'source row changes whose event time is older than RTDW_STATE_RETENTION_MS behind the watermark'),
    dwd_order_wide: t('dwd_order_wide', JOB_PARTITIONS, 'rows of ClickHouse dwd_order_wide (JSON objects of its columns), for the ClickHouse sink'),
    dwd_ad_event: t('dwd_ad_event', JOB_PARTITIONS, 'rows of ClickHouse dwd_ad_event, for the ClickHouse sink'),
    dim_blacklist: t('dim_blacklist', JOB_PARTITIONS, 'rows of ClickHouse dim_blacklist, for the ClickHouse sink'),
    pipeline_progress: t('pipeline_progress', 1, 'rows of ClickHouse pipeline_progress (job, watermark, updated_at), for the ClickHouse sink'),
    ...(Object.fromEntries(ADS_TABLES.map((table) => [table, t(table, JOB_PARTITIONS, `rows of ClickHouse ${table} (its columns, _version, _is_deleted), for the ClickHouse sink`)])) as Record<AdsTable, PipelineTopic>),
    ads_redis: t('ads_redis', JOB_PARTITIONS, 'screen records for the Redis sink (connectors/redis/records.ts), keyed by the Redis key they write'),
    alerts: t('alerts', JOB_PARTITIONS, 'rows of ClickHouse alerts (order_brushing, payment_failure, click_bot with their learned thresholds), for the ClickHouse sink'),
  };
}

/** The topics the ClickHouse sink reads, each into the table of the same name. */
export const SINK_TABLE_TOPICS = ['dwd_order_wide', 'dwd_ad_event', 'dim_blacklist', 'pipeline_progress', ...ADS_TABLES, 'alerts'] as const satisfies readonly TopicName[];

/** The topics the Redis sink reads: the screens' records, and dim_blacklist's rows for `<ns>:blacklist`. */
export const REDIS_SINK_TOPICS = ['ads_redis', 'dim_blacklist'] as const satisfies readonly TopicName[];

import type { AlertSettings } from '../alerts/alerts.js';

/**
 * Settings of the DWD jobs: the pipeline's namespace and event-time settings (RtdwConfig.pipeline has
 * the same names), and the topics the jobs read and write.
 */
export interface PipelineOptions {
  /** prefix of every topic, consumer group and transactional id: `<ns>.<name>` */
  readonly namespace: string;
  /** IANA zone of the source's DATETIME values and of calendar days */
  readonly timeZone: string;
  readonly outOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
  readonly stateRetentionMs: number;
  readonly allowedLatenessMs: number;
  /** clicks per user, ad and day allowed before the user is blacklisted */
  readonly blacklistClicks: number;
}

export interface DwdJobOptions extends PipelineOptions {
  /** partitions of the topics a job creates (existing ones are checked against it); default 3 */
  readonly partitions?: number;
  readonly checkpointIntervalMs?: number;
  /** read only this database's tables from the binlog topic; default: the tables of any database */
  readonly sourceDatabase?: string;
  /** the learned-threshold alerts (RTDW_ALERT_*); default ALERT_DEFAULTS */
  readonly alerts?: AlertSettings;
}

export const PIPELINE_DEFAULTS: PipelineOptions = {
  namespace: 'rtdw',
  timeZone: 'UTC',
  outOfOrdernessMs: 5000,
  idleTimeoutMs: 10_000,
  stateRetentionMs: 48 * 3_600_000,
  allowedLatenessMs: 60_000,
  blacklistClicks: 100,
};

export { JOB_PARTITIONS as DEFAULT_PARTITIONS } from '../../schemas/topics.js';

export function dwdTopics(namespace: string) {
  const topic = (name: string): string => `${namespace}.${name}`;
  return {
    odsBinlog: topic('ods_binlog'),
    odsEvents: topic('ods_events'),
    dwdOrderWide: topic('dwd_order_wide'),
    dwdAdEvent: topic('dwd_ad_event'),
    dimBlacklist: topic('dim_blacklist'),
    lateEvents: topic('late_events'),
    lateChanges: topic('late_changes'),
    deadLetter: topic('dead_letter'),
  };
}

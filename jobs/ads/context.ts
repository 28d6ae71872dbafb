/**
 * What every ADS job shares: the pipeline's settings, the topics (ClickHouse rows `<ns>.ads_<table>`,
 * screen records `<ns>.ads_redis`, internal topics between the ADS stages), and the shape of a job: what
 * it takes from the normalized DWD changelogs and the stages it runs.
 */
import { TimeZone, calendarDays, type TumblingAssigner } from '../runtime/core/index.js';
import type { StageOutput, StageSpec } from '../runtime/stage.js';
import type { Contribution } from '../runtime/signed-items.js';
import { DEFAULT_PARTITIONS, dwdTopics, type DwdJobOptions } from '../dwd/options.js';
import { ADS_TABLES, type AdsTable } from '../../schemas/topics.js';
import type { AdEventRow, OrderWide } from './rows.js';

export { ADS_TABLES, type AdsTable } from '../../schemas/topics.js';

/** Every topic the ADS jobs write for the sinks (`<ns>.<name>`): a ClickHouse table's rows each, and the Redis sink's records. */
export const ADS_TOPIC_NAMES = [...ADS_TABLES, 'ads_redis'] as const;

export function adsTopics(namespace: string) {
  const topic = (name: string): string => `${namespace}.${name}`;
  return {
    ...dwdTopics(namespace),
    tables: Object.fromEntries(ADS_TABLES.map((t) => [t, topic(t)])) as Record<AdsTable, string>,
    redis: topic('ads_redis'),
    /** internal: between ADS stages, named after the table they feed */
    internal: (table: AdsTable, step: string): string => topic(`${table}.${step}`),
  };
}

export interface AdsContext {
  readonly namespace: string;
  readonly zone: TimeZone;
  /** calendar days in the pipeline's zone */
  readonly days: TumblingAssigner;
  /** lateness of figures fed by source rows: a correction within the retention updates them */
  readonly retentionMs: number;
  /** lateness of figures fed by events only */
  readonly allowedLatenessMs: number;
  readonly partitions: number;
  readonly checkpointIntervalMs: number;
  readonly topics: ReturnType<typeof adsTopics>;
}

export function adsContext(o: DwdJobOptions): AdsContext {
  const zone = TimeZone.of(o.timeZone);
  return {
    namespace: o.namespace,
    zone,
    days: calendarDays(zone),
    retentionMs: o.stateRetentionMs,
    allowedLatenessMs: o.allowedLatenessMs,
    partitions: o.partitions ?? DEFAULT_PARTITIONS,
    checkpointIntervalMs: o.checkpointIntervalMs ?? 1000,
    topics: adsTopics(o.namespace),
  };
}

/** What a job takes from one normalized DWD changelog: the internal topics it feeds, and each row's contributions to them. */
export interface Feed<Row> {
  readonly topics: readonly StageOutput[];
  contribute(row: Row): Contribution[];
}

/** An ADS job: what it takes from the normalized changelogs of dwd_order_wide and dwd_ad_event, and its stages. */
export interface AdsJob {
  readonly orders?: Feed<OrderWide>;
  readonly events?: Feed<AdEventRow>;
  readonly stages: readonly StageSpec[];
}

/** An internal topic fed with watermarks. */
export function internalTopic(ctx: AdsContext, table: AdsTable, step: string): StageOutput {
  return { topic: ctx.topics.internal(table, step), partitions: ctx.partitions, forwardWatermarks: true };
}

/**
 * The outputs every ADS stage may write besides its own: the table's rows (with the stage's watermark
 * markers, from which the ClickHouse sink publishes the table's progress), screen records, late and
 * dead letters.
 */
export function sinkOutputs(ctx: AdsContext, table: AdsTable | undefined, lateTopic: string, screens: boolean): StageOutput[] {
  const outputs: StageOutput[] = [];
  if (table !== undefined) outputs.push({ topic: ctx.topics.tables[table], partitions: ctx.partitions, forwardWatermarks: true });
  // Screen records carry the stage's markers too: the Redis sink moves `<ns>:watermark` from them.
  if (screens) outputs.push({ topic: ctx.topics.redis, partitions: ctx.partitions, forwardWatermarks: true });
  outputs.push({ topic: lateTopic, partitions: ctx.partitions }, { topic: ctx.topics.deadLetter, partitions: ctx.partitions });
  return outputs;
}

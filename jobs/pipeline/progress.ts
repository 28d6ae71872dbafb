/**
 * The live progress view of `npm start` / `rtdw run --progress`: per stage the records/s its consumer
 * group commits, its lag, and how far behind the wall clock the published watermarks are; rows per
 * ClickHouse table. Read from Kafka and ClickHouse only, like an operator's dashboard, so it shows
 * what is committed, not what a process believes.
 */
import type { Admin } from 'kafkajs';
import { groupProgress, ratePerSecond, topicEnds, type GroupProgress, type TopicEnds } from '../../connectors/kafka/lag.js';
import type { ClickHouseClient } from '../../connectors/clickhouse/client.js';

export interface WatchedStage {
  label: string;
  groupId: string;
  topics: readonly string[];
}

export interface StageLine {
  label: string;
  perSecond: number;
  lag: bigint;
}

export interface ProgressSnapshot {
  at: number;
  stages: StageLine[];
  /** job → watermark (epoch ms) from pipeline_progress */
  watermarks: Map<string, number>;
  /** table → rows (active parts, before FINAL) */
  rows: Map<string, number>;
  errors: string[];
}

export class ProgressCollector {
  private previous = new Map<string, GroupProgress>();
  private previousAt = 0;

  constructor(
    private readonly admin: Admin,
    private readonly clickhouse: ClickHouseClient,
    private readonly database: string,
    private readonly stages: readonly WatchedStage[],
  ) {}

  async sample(now = Date.now()): Promise<ProgressSnapshot> {
    const errors: string[] = [];
    const lines: StageLine[] = [];
    const current = new Map<string, GroupProgress>();
    // Each topic's offsets once per sample, however many groups read it; the groups side by side.
    const ends = new Map<string, TopicEnds>();
    await Promise.all(
      [...new Set(this.stages.flatMap((s) => s.topics))].map(async (topic) => {
        try {
          ends.set(topic, await topicEnds(this.admin, topic));
        } catch (err) {
          errors.push(`${topic}: ${(err as Error).message}`);
        }
      }),
    );
    const sampled = await Promise.allSettled(this.stages.map((stage) => groupProgress(this.admin, stage.groupId, stage.topics.filter((t) => ends.has(t)), ends)));
    sampled.forEach((outcome, i) => {
      const stage = this.stages[i] as WatchedStage;
      if (outcome.status === 'rejected') {
        errors.push(`${stage.label}: ${(outcome.reason as Error).message}`);
        return;
      }
      current.set(stage.groupId, outcome.value);
      lines.push({ label: stage.label, perSecond: ratePerSecond(this.previous.get(stage.groupId), outcome.value, now - this.previousAt), lag: outcome.value.lag });
    });
    this.previous = current;
    this.previousAt = now;
    const watermarks = new Map<string, number>();
    const rows = new Map<string, number>();
    try {
      const progress = await this.clickhouse.query({
        query: 'SELECT job, toUnixTimestamp64Milli(watermark) AS ms FROM pipeline_progress FINAL',
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      });
      for (const r of await progress.json<{ job: string; ms: string }>()) watermarks.set(r.job, Number(r.ms));
      const parts = await this.clickhouse.query({
        query: 'SELECT table, sum(rows) AS rows FROM system.parts WHERE database = {db:String} AND active GROUP BY table ORDER BY table',
        query_params: { db: this.database },
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      });
      for (const r of await parts.json<{ table: string; rows: string }>()) rows.set(r.table, Number(r.rows));
    } catch (err) {
      errors.push(`clickhouse: ${(err as Error).message}`);
    }
    return { at: now, stages: lines, watermarks, rows, errors };
  }
}

const seconds = (ms: number): string => (ms < 0 ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** The snapshot as a terminal screen (fixed-width columns). */
export function renderProgress(s: ProgressSnapshot): string {
  const out: string[] = [];
  out.push(`rtdw pipeline — ${new Date(s.at).toISOString()}`);
  out.push('');
  out.push(`${'stage'.padEnd(34)}${'records/s'.padStart(12)}${'lag'.padStart(12)}`);
  for (const l of s.stages) out.push(`${l.label.padEnd(34)}${Math.round(l.perSecond).toLocaleString('en-US').padStart(12)}${l.lag.toLocaleString('en-US').padStart(12)}`);
  out.push('');
  out.push(`${'published watermark'.padEnd(34)}${'delay'.padStart(12)}`);
  for (const [job, ms] of [...s.watermarks].sort(([a], [b]) => (a < b ? -1 : 1))) out.push(`${job.padEnd(34)}${seconds(s.at - ms).padStart(12)}`);
  out.push('');
  out.push(`${'clickhouse table'.padEnd(34)}${'rows'.padStart(12)}`);
  for (const [table, rows] of s.rows) out.push(`${table.padEnd(34)}${rows.toLocaleString('en-US').padStart(12)}`);
  for (const e of s.errors) out.push(`! ${e}`);
  return out.join('\n');
}

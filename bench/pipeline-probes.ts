/**
 * Probes of bench/pipeline.ts: CPU seconds from /proc, the stack's service processes, and the
 * freshness probe that watches ClickHouse for rows as they become visible.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Consumer, Kafka } from 'kafkajs';
import type { ClickHouseClient } from '../connectors/clickhouse/client.js';

/** CPU seconds (user + system, all threads) the process has used so far, from /proc; NaN when it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return (cpu.reduce((a, b) => a + b, 0) - idle) / 100;
}

/** Pids of the stack's services, by command line. */
export function servicePids(): { kafka: number[]; mariadb: number[]; clickhouse: number[] } {
  const found = { kafka: [] as number[], mariadb: [] as number[], clickhouse: [] as number[] };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (/(^|\/)(mariadbd|mysqld)\0/.test(cmd)) found.mariadb.push(Number(entry));
    else if (cmd.includes('kafka.Kafka\0')) found.kafka.push(Number(entry));
    else if (cmd.includes('docker/stack/clickhouse/main.ts\0')) found.clickhouse.push(Number(entry));
  }
  return found;
}

/** p50, p99 and max (nearest rank); NaN for no values. */
export function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { p50: at(50), p99: at(99), max: sorted.at(-1) ?? Number.NaN };
}

export interface Sample {
  /** the row's time stamp (event ts, updated_at, created_at), epoch ms */
  stamp: number;
  /** when it was first seen in ClickHouse, epoch ms (midpoint of the interval it appeared in) */
  visible: number;
  /** event type */
  kind?: string;
  /** events: the Kafka record's create time (set by the generator's producer) */
  sent?: number;
}

interface PartRow {
  name: string;
  table: string;
  partition_id: string;
  min_block_number: string;
  max_block_number: string;
  level: number;
}

const POLL_MS = 150;

/** What is read of each watched table's new parts, and how its rows are keyed (first sight per key). */
const WATCHED: Record<string, { columns: string; key: (row: string[]) => string }> = {
  dwd_ad_event: { columns: 'event_id, type, toUnixTimestamp64Milli(ts), 0', key: (r) => r[0] as string },
  dwd_order_wide: { columns: 'order_id, \'\', toUnixTimestamp64Milli(created_at), _is_deleted', key: (r) => r[0] as string },
  ods_orders: { columns: 'id, _version, toUnixTimestamp64Milli(updated_at), _is_deleted', key: (r) => `${r[0]}:${r[1]}` },
};

/**
 * Polls system.parts every POLL_MS. A part not seen before is read when it is an insert (level 0) or a
 * merge holding a block no earlier answer showed (inserted and merged between two polls); its rows
 * not seen before become samples, visible at the midpoint of (previous poll's start, this answer].
 * Meanwhile the event log is read to learn each event's Kafka create time.
 */
export class FreshnessProbe {
  readonly events: Sample[] = [];
  readonly odsOrders: Sample[] = [];
  readonly orderWide: Sample[] = [];
  private readonly eventIds: string[] = [];
  private readonly sentAt = new Map<string, number>();
  private readonly seenParts = new Set<string>();
  private readonly seenBlocks = new Map<string, Set<number>>();
  private readonly seenKeys = new Map<string, Set<string>>();
  private readonly periods: number[] = [];
  private consumer: Consumer | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly ch: ClickHouseClient, private readonly kafka: Kafka, private readonly ns: string) {}

  async start(): Promise<void> {
    this.consumer = this.kafka.consumer({ groupId: `${this.ns}-bench-sent`, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: `${this.ns}.ods_events`, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const id = m.value === null ? undefined : /"event_id":"([^"]+)"/.exec(m.value.toString())?.[1];
          if (id !== undefined && !this.sentAt.has(id)) this.sentAt.set(id, Number(m.timestamp));
        }
      },
    });
    this.loop = this.poll();
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      await this.loop;
      await this.consumer?.disconnect();
      this.events.forEach((s, i) => {
        const sent = this.sentAt.get(this.eventIds[i] as string);
        if (sent !== undefined) s.sent = sent;
      });
    })();
    return this.stopped;
  }

  /** "<mean> ms (p99 <n> ms): resolution ± half of it". */
  pollPeriod(): string {
    const mean = this.periods.reduce((a, b) => a + b, 0) / Math.max(1, this.periods.length);
    const sorted = [...this.periods].sort((a, b) => a - b);
    const p99 = sorted[Math.ceil(sorted.length * 0.99) - 1] ?? Number.NaN;
    return `${POLL_MS} ms (poll period ${mean.toFixed(0)} ms on average, p99 ${p99.toFixed(0)} ms: visible time ± half of it)`;
  }

  /** How far the events' stamps trail their Kafka create time, between `from` and `to` (stamps). */
  stampOffset(from: number, to: number): string {
    const diffs = this.events.filter((s) => s.stamp >= from && s.stamp < to && s.sent !== undefined).map((s) => (s.sent as number) - s.stamp);
    const sorted = diffs.sort((a, b) => a - b);
    const at = (p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
    return `${at(1)} ms at p1, ${at(50)} ms at p50 (the generator's start-up before its first write; rows' stamps trail their commits alike)`;
  }

  private async poll(): Promise<void> {
    let previousStart = Date.now();
    while (!this.stopping) {
      const began = Date.now();
      const rs = await this.ch.query({
        query: 'SELECT name, table, partition_id, min_block_number, max_block_number, level FROM system.parts WHERE database = {db:String} AND active AND table IN {tables:Array(String)}',
        query_params: { db: this.ns, tables: Object.keys(WATCHED) },
        format: 'JSONEachRow',
      });
      const parts = await rs.json<PartRow>();
      const answered = Date.now();
      const visible = (previousStart + answered) / 2;
      this.periods.push(answered - previousStart);
      previousStart = began;
      const toRead = new Map<string, string[]>();
      for (const part of parts) {
        if (this.seenParts.has(`${part.table}/${part.name}`)) continue;
        this.seenParts.add(`${part.table}/${part.name}`);
        const blocks = this.seenBlocks.get(part.table) ?? new Set<number>();
        this.seenBlocks.set(part.table, blocks);
        const [min, max] = [Number(part.min_block_number), Number(part.max_block_number)];
        let unseen = part.level === 0;
        for (let b = min; b <= max; b++) if (!blocks.has(b)) unseen = true;
        for (let b = min; b <= max; b++) blocks.add(b);
        if (unseen) toRead.set(part.table, [...(toRead.get(part.table) ?? []), part.name]);
      }
      for (const [table, names] of toRead) await this.read(table, names, visible);
      const wait = POLL_MS - (Date.now() - began);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async read(table: string, names: string[], visible: number): Promise<void> {
    const spec = WATCHED[table] as (typeof WATCHED)[string];
    const rs = await this.ch.query({ query: `SELECT ${spec.columns} FROM ${table} WHERE _part IN {parts:Array(String)}`, query_params: { parts: names }, format: 'JSONCompactEachRow' });
    const keys = this.seenKeys.get(table) ?? new Set<string>();
    this.seenKeys.set(table, keys);
    for (const row of await rs.json<string[]>()) {
      const key = spec.key(row);
      if (keys.has(key)) continue;
      keys.add(key);
      if (Number(row[3]) === 1) continue; // a deletion: no time of its own
      const stamp = Number(row[2]);
      if (table === 'dwd_ad_event') {
        this.events.push({ stamp, visible, kind: row[1] as string });
        this.eventIds.push(key);
      } else (table === 'ods_orders' ? this.odsOrders : this.orderWide).push({ stamp, visible });
    }
  }
}

/** A Prometheus histogram's cumulative bucket counts (upper bound → count, +Inf last), as a process exports it. */
export async function scrapeHistogram(url: string, name: string): Promise<Array<[number, number]>> {
  const text = await (await fetch(url)).text();
  const buckets: Array<[number, number]> = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_bucket\\{(?:.*,)?le="([^"]+)"(?:,.*)?\\} (\\S+)$`).exec(line);
    if (m !== null) buckets.push([m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])]);
  }
  return buckets.sort((a, b) => a[0] - b[0]);
}

/**
 * Quantiles of the observations made between two scrapes of one histogram, interpolated linearly
 * within a bucket (as PromQL's histogram_quantile); the observation count with them.
 */
export function histogramQuantiles(before: Array<[number, number]>, after: Array<[number, number]>, qs: readonly number[]): { count: number; quantiles: number[] } {
  const counts = after.map(([le, n], i) => [le, n - (before.find(([b]) => b === le)?.[1] ?? 0)] as [number, number]);
  const total = counts.at(-1)?.[1] ?? 0;
  const quantiles = qs.map((q) => {
    const rank = q * total;
    for (let i = 0; i < counts.length; i++) {
      const [le, n] = counts[i] as [number, number];
      if (n < rank) continue;
      const [lower, below] = i === 0 ? [0, 0] : (counts[i - 1] as [number, number]);
      if (!Number.isFinite(le)) return lower;
      return n === below ? le : lower + ((le - lower) * (rank - below)) / (n - below);
    }
    return Number.NaN;
  });
  return { count: total, quantiles };
}

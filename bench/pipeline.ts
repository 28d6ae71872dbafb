/**
 * Pipeline benchmark: `npx tsx bench/pipeline.ts` (npm run bench:pipeline). Prints figures, asserts
 * nothing; the LAST line is `pipeline events/s: <n>`, the sustained end-to-end throughput below.
 *
 * Each phase runs a pipeline of its own: namespace and MySQL database `bench_pipe_<run>_<phase>`
 * (Kafka topics `<ns>.*`, consumer groups, ClickHouse database `<ns>`), made with `rtdw setup`, run by
 * one `rtdw run` process with every part (cdc, ods, dwd, clickhouse), fed by `rtdw generate` as its
 * own process (seeded, flat load: --diurnal 0). All removed at the end (topics, groups, databases).
 * CDC_FILTER_DDL=true (bench/private-pipeline.ts says why); every other setting is the default.
 *
 * 1. Throughput: the generator at full speed (`--speed max`, model rate BENCH_PIPELINE_RATE, default
 *    20,000/s, for BENCH_PIPELINE_MINUTES, default 0.75, of event time). Printed: the rows/s and events/s
 *    the generator wrote (its report), and the sustained end-to-end rate = (source row writes + event
 *    deliveries) / (generator's first write → the pipeline holds everything). "Holds everything" is:
 *    the CDC's committed position reaches the binlog end taken when the generator stopped, and every
 *    consumer group of the pipeline (ODS mirror, each DWD stage, the ClickHouse sink: run.ts
 *    watchedStages; connectors/kafka/lag.ts groupProgress, sampled every 250 ms) has its committed and
 *    end offsets standing still for QUIET_MS within RESIDUAL_LAG of the end; the time counted is when
 *    each got its final offsets. Each stage commits outputs and offsets in one transaction, and the
 *    sinks commit only what ClickHouse acknowledged, so then every row is in ClickHouse. (Standing
 *    still rather than lag 0: a stage that commits only up to its last record leaves the transaction
 *    markers behind it, one per upstream producer and partition; the residual lag is printed.)
 *    The generator's first write is taken as its report's arrival − its wallMs (a few ms late: the
 *    report comes after its disconnect; negligible against the window). Afterwards the ODS mirror's
 *    FINAL counts are compared with MySQL's, dwd_order_wide's orders with MySQL's (orders created over
 *    RTDW_STATE_RETENTION_MS ago are late changes by contract), and dwd_ad_event's count with the
 *    on-time distinct events (the clicks of the last out-of-orderness bound stay held: no later
 *    watermark comes).
 *    CPU seconds (utime + stime, /proc/<pid>/stat) of `rtdw run`, the broker, MariaDB, the ClickHouse
 *    server, the generator, this process and the whole machine, from the generator's start until the
 *    drain is confirmed (QUIET_MS after it: the utilisation shown is a little low, the per-CPU-second
 *    figures are not affected). The Kafka offsets each topic of the pipeline took follow.
 * 2. Freshness at a steady BENCH_PIPELINE_FRESH_RATE (10,000/s; a list runs one pipeline per rate) for
 *    BENCH_PIPELINE_FRESH_S (45) seconds (`--speed realtime`): this process polls ClickHouse every 150 ms for parts it has not seen
 *    (system.parts of dwd_ad_event, dwd_order_wide, ods_orders; a new part is an insert, or a merge
 *    holding blocks not seen before) and reads their rows; a row's visible time is the midpoint of
 *    (previous poll's start, this poll's answer], so the resolution is ± half the poll period (printed).
 *    Per row, first sight (key event_id / order_id / order id + _version) − its stamp: event `ts`, the
 *    order's `updated_at` (ods_orders), its `created_at` (dwd_order_wide, first row of the order), and,
 *    for events, − the time the generator's send created the Kafka record (read here from ods_events).
 *    Only stamps from WARMUP_S after the start (the dimension rows are written first, as fast as they
 *    go) to COOLDOWN_S before the end (the last clicks wait for a watermark that never comes) count;
 *    the same excludes backdated orders (10 min or more back). The p50 per 5 s of stamps shows whether
 *    the pipeline kept up (flat) or fell behind (growing).
 * 3. BENCH_PIPELINE_PROFILE=<dir>: the throughput phase's `rtdw run` under `node --cpu-prof`; its
 *    threads' top modules and functions by self time are printed (bench/cpu-profile.ts).
 *
 * Everything shares this machine's cores (and other people's work on them): the figures are a floor.
 * BENCH_PIPELINE_SKIP_FRESHNESS=1: throughput only. BENCH_PIPELINE_CHILD_LOG=<prefix>: children's
 * output to <prefix>.<phase>.<child>.log.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import mysql from 'mysql2/promise';
import { groupProgress } from '../connectors/kafka/lag.js';
import { quoteIdentifier } from '../connectors/clickhouse/client.js';
import type { GeneratorReport } from '../connectors/generator/run.js';
import { loadConfig } from '../schemas/config.js';
import { SOURCE_TABLES } from '../schemas/events.js';
import { formatProfile, summariseProfile } from './cpu-profile.js';
import { cpuSeconds, FreshnessProbe, histogramQuantiles, machineBusySeconds, percentiles, scrapeHistogram, servicePids, type Sample } from './pipeline-probes.js';
import { binlogEnd, comparePoints, followCdcPosition, kafka, PrivatePipeline, type BinlogPoint, type Child } from './private-pipeline.js';

const base = loadConfig();
const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const MAX_RATE = num('BENCH_PIPELINE_RATE', 20_000);
const MAX_MINUTES = num('BENCH_PIPELINE_MINUTES', 0.75);
const FRESH_RATES = (process.env.BENCH_PIPELINE_FRESH_RATE ?? '10000').split(',').map(Number);
const FRESH_SECONDS = num('BENCH_PIPELINE_FRESH_S', 45);
const WARMUP_S = 5;
const COOLDOWN_S = 10;
const DRAIN_TIMEOUT_MS = 15 * 60_000;
/** a group is done once its offsets stood still this long (over a checkpoint interval, 1 s) ... */
const QUIET_MS = 3000;
/** ... within this many records of the end (trailing transaction markers a stage may leave uncommitted) */
const RESIDUAL_LAG = 64;
const PROFILE_DIR = process.env.BENCH_PIPELINE_PROFILE;
const CHILD_LOG = process.env.BENCH_PIPELINE_CHILD_LOG;
const runId = `${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pipelines: PrivatePipeline[] = [];
/** Every pipeline made is removed at the end, whatever happened. */
const track = (p: PrivatePipeline): PrivatePipeline => (pipelines.push(p), p);

interface GroupState {
  committed: bigint;
  end: bigint;
  lag: bigint;
  /** when these offsets were first seen */
  since: number;
}

/**
 * Waits until the CDC's committed position is past `end` and every consumer group's committed and end
 * offsets stood still for QUIET_MS within RESIDUAL_LAG of the end; returns when each got there.
 */
async function awaitDrain(p: PrivatePipeline, admin: Admin, positions: { latest: () => BinlogPoint | undefined }, end: BinlogPoint): Promise<{ cdc: number; groups: Map<string, GroupState> }> {
  const groups = new Map<string, GroupState>();
  let cdc: number | undefined;
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const at = positions.latest();
    if (cdc === undefined && at !== undefined && comparePoints(at, end) >= 0) cdc = Date.now();
    for (const stage of p.stages) {
      const g = await groupProgress(admin, stage.groupId, stage.topics);
      const seen = groups.get(stage.label);
      if (seen === undefined || seen.committed !== g.committed || seen.end !== g.end) groups.set(stage.label, { committed: g.committed, end: g.end, lag: g.lag, since: Date.now() });
    }
    const still = (g: GroupState | undefined): boolean => g !== undefined && Date.now() - g.since >= QUIET_MS && g.lag <= BigInt(RESIDUAL_LAG);
    if (cdc !== undefined && p.stages.every((s) => still(groups.get(s.label)))) return { cdc, groups };
    if (Date.now() > deadline) throw new Error(`the pipeline did not drain within ${DRAIN_TIMEOUT_MS / 60_000} min: cdc ${cdc === undefined ? 'behind' : 'done'}; lags ${[...groups].map(([l, g]) => `${l} ${g.lag}`).join(', ')}`);
    if (p.run?.proc.exitCode !== null) throw new Error(`rtdw run exited:\n${p.run?.errors()}`);
    await sleep(250);
  }
}

interface CpuMark {
  at: number;
  run: number;
  kafka: number;
  mariadb: number;
  clickhouse: number;
  machine: number;
  self: number;
}

function cpuMark(p: PrivatePipeline): CpuMark {
  const pids = servicePids();
  const sum = (list: number[]): number => list.reduce((s, pid) => s + (cpuSeconds(pid) || 0), 0);
  const self = process.cpuUsage();
  return { at: Date.now(), run: p.run?.cpu() ?? Number.NaN, kafka: sum(pids.kafka), mariadb: sum(pids.mariadb), clickhouse: sum(pids.clickhouse), machine: machineBusySeconds(), self: (self.user + self.system) / 1e6 };
}

function parseReport(child: Child, what: string): GeneratorReport {
  try {
    return JSON.parse(child.stdout()) as GeneratorReport;
  } catch {
    throw new Error(`${what}: no report:\n${child.errors()}`);
  }
}

const rowWrites = (r: GeneratorReport): number => Object.values(r.written.rows).reduce((s, c) => s + c.insert + c.update + c.delete, 0);
const deliveries = (r: GeneratorReport): number => Object.values(r.written.deliveries).reduce((s, n) => s + n, 0);

async function throughputPhase(): Promise<number> {
  const p = track(new PrivatePipeline('max', runId, CHILD_LOG));
  await p.setup();
  await p.start(PROFILE_DIR);
  const positions = await followCdcPosition(p);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const before = cpuMark(p);
    const generator = p.generate(['--speed', 'max', '--rate', String(MAX_RATE), '--minutes', String(MAX_MINUTES)]);
    let reportAt = Number.NaN;
    generator.proc.stdout?.on('data', () => (reportAt = Date.now()));
    const code = await generator.exited;
    if (code !== 0) throw new Error(`rtdw generate exited with ${code}:\n${generator.errors()}`);
    const report = parseReport(generator, 'rtdw generate');
    const generatorCpu = generator.cpu();
    const firstWrite = reportAt - report.wallMs;
    const generatorEnd = Date.now();
    const drain = await awaitDrain(p, admin, positions, await binlogEnd());
    const done = Math.max(drain.cdc, ...[...drain.groups.values()].map((g) => g.since));
    const after = cpuMark(p);
    const seconds = (done - firstWrite) / 1000;
    const rows = rowWrites(report);
    const events = deliveries(report);
    const total = rows + events;
    const cores = cpus().length;
    const cpu = (k: keyof CpuMark): number => after[k] - before[k];
    console.log('');
    console.log(`throughput: rtdw generate --speed max --rate ${MAX_RATE} --minutes ${MAX_MINUTES} (seed 7, flat load) with rtdw run (all parts, one process) from the start`);
    console.log(`  generator wrote          ${fmt(rows)} source rows (${fmt(report.rowsPerSecond)} rows/s) and ${fmt(events)} events (${fmt(report.eventsPerSecond)} events/s) in ${(report.wallMs / 1000).toFixed(1)} s: ${fmt((total / report.wallMs) * 1000)} rows + events/s`);
    console.log(`  end to end               ${fmt(total)} rows + events from the first write to everything in ClickHouse in ${seconds.toFixed(1)} s: ${fmt(total / seconds)}/s sustained (${fmt(rows / seconds)} rows/s, ${fmt(events / seconds)} events/s)`);
    console.log(`  done after the generator stopped: CDC position past the binlog end +${((drain.cdc - generatorEnd) / 1000).toFixed(1)} s; each consumer group's last commit (residual lag):`);
    for (const [label, g] of drain.groups) console.log(`    ${label.padEnd(28)} +${((g.since - generatorEnd) / 1000).toFixed(1)} s  (${g.lag})`);
    const window = (after.at - before.at) / 1000;
    const runCpu = cpu('run');
    const other = cpu('machine') - runCpu - cpu('kafka') - cpu('mariadb') - cpu('clickhouse') - generatorCpu - cpu('self');
    console.log(
      `  CPU seconds (${window.toFixed(1)} s, ${cores} cores, ${fmt(cpu('machine'))} s busy = ${((cpu('machine') / window / cores) * 100).toFixed(0)} %): rtdw run ${runCpu.toFixed(1)}, kafka ${cpu('kafka').toFixed(1)}, ` +
        `mariadb ${cpu('mariadb').toFixed(1)}, clickhouse ${cpu('clickhouse').toFixed(1)} (shared services: others' use included), generator ${generatorCpu.toFixed(1)}, this bench ${cpu('self').toFixed(1)}, other processes ${other.toFixed(1)}`,
    );
    console.log(`  per CPU-second           ${fmt(total / runCpu)} rows + events per rtdw run CPU-second; ${fmt(total / (runCpu + cpu('kafka')))} per rtdw run + broker CPU-second`);
    await verify(p, report);
    await printTopicVolumes(admin, p, total);
    if (PROFILE_DIR !== undefined) {
      await p.stop();
      printProfiles(PROFILE_DIR);
    }
    return total / seconds;
  } finally {
    await admin.disconnect().catch(() => undefined);
    await positions.stop().catch(() => undefined);
    await p.stop();
  }
}

/** The ODS mirror against MySQL, table by table, and dwd_ad_event against the on-time distinct events. */
async function verify(p: PrivatePipeline, report: GeneratorReport): Promise<void> {
  const { host, port, app } = base.mysql;
  const db = await mysql.createConnection({ host, port, user: app.user, password: app.password, database: p.ns });
  const ch = p.clickhouse();
  try {
    const differ: string[] = [];
    let rows = 0;
    for (const table of SOURCE_TABLES) {
      const [m] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
      const c = await (await ch.query({ query: `SELECT count() AS n FROM ${quoteIdentifier(`ods_${table}`)} FINAL WHERE _is_deleted = 0`, format: 'JSONEachRow' })).json<{ n: string }>();
      rows += Number(m[0]?.n);
      if (Number(m[0]?.n) !== Number(c[0]?.n)) differ.push(`${table}: MySQL ${m[0]?.n}, ClickHouse ${c[0]?.n}`);
    }
    console.log(`  check: ODS mirror FINAL  ${differ.length === 0 ? `equals MySQL's row counts in all ${SOURCE_TABLES.length} tables (${fmt(rows)} rows)` : `DIFFERS: ${differ.join('; ')}`}`);
    // One dwd_order_wide row per current order: the orders MySQL has and the table lacks, with their rows.
    const [orders] = await db.query<mysql.RowDataPacket[]>("SELECT id, status, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS created, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated FROM orders");
    const wide = await (await ch.query({ query: 'SELECT toString(order_id) AS id FROM dwd_order_wide FINAL WHERE _is_deleted = 0', format: 'JSONEachRow' })).json<{ id: string }>();
    const present = new Set(wide.map((r) => r.id));
    const missing = orders.filter((o) => !present.has(String(o.id)));
    const extra = wide.length - (orders.length - missing.length);
    // An order created longer than the state retention before the watermark is a late change by contract (late_changes).
    const oldest = Date.now() - p.config.pipeline.stateRetentionMs;
    const unexplained = missing.filter((o) => Date.parse(`${String(o.created).replace(' ', 'T')}Z`) >= oldest);
    const listed = unexplained.slice(0, 5).map((o) => `${o.id} (${o.status}, created ${o.created}, updated ${o.updated})`);
    const retention = `${p.config.pipeline.stateRetentionMs / 3_600_000} h`;
    console.log(
      `  check: dwd_order_wide    ${fmt(wide.length)} rows for ${fmt(orders.length)} orders; ${fmt(missing.length - unexplained.length)} missing orders were created over ${retention} ago (late_changes by contract)` +
        (unexplained.length > 0 ? `; ${fmt(unexplained.length)} MISSING otherwise: ${listed.join('; ')}` : '') +
        (extra !== 0 ? `; ${fmt(extra)} rows of orders MySQL no longer has` : ''),
    );
    const expected = Object.values(report.written.events).reduce((s, n) => s + n, 0) - report.written.deliveries.late;
    const got = await (await ch.query({ query: 'SELECT count() AS n FROM dwd_ad_event FINAL', format: 'JSONEachRow' })).json<{ n: string }>();
    const held = expected - Number(got[0]?.n);
    console.log(`  check: dwd_ad_event      ${fmt(Number(got[0]?.n))} rows of ${fmt(expected)} on-time distinct events; ${fmt(held)} not (yet) there: clicks behind the last watermark, or dead-lettered`);
  } finally {
    await db.end();
    await ch.close();
  }
}

/** What the pipeline's topics hold: offsets count records and transaction markers alike. */
async function printTopicVolumes(admin: Admin, p: PrivatePipeline, sourceRecords: number): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${p.ns}.`)).sort();
  const volumes: Array<[string, number]> = [];
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    volumes.push([topic.slice(p.ns.length + 1), offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0)]);
  }
  const written = volumes.reduce((s, [, n]) => s + n, 0);
  console.log(`  Kafka offsets written    ${fmt(written)} in the pipeline's topics (records + transaction markers; ${(written / sourceRecords).toFixed(1)} per source row or event):`);
  console.log(`    ${volumes.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${fmt(n)}`).join(', ')}`);
}

function printProfiles(dir: string): void {
  if (!existsSync(dir)) return;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const summaries = files.map((f) => ({ f, s: summariseProfile(join(dir, f)) })).sort((a, b) => b.s.busyMs - a.s.busyMs);
  console.log(`  CPU profile of rtdw run (${dir}; ${files.length} thread profiles, the busiest first):`);
  for (const { f, s } of summaries) {
    if (s.busyMs < 500) continue;
    console.log(`   ${f}`);
    for (const line of formatProfile(s)) console.log(line);
  }
}

async function freshnessPhase(rate: number): Promise<void> {
  const p = track(new PrivatePipeline(`fresh${rate}`, runId, CHILD_LOG));
  await p.setup();
  await p.start();
  const ch = p.clickhouse();
  const probe = new FreshnessProbe(ch, kafka, p.ns);
  await probe.start();
  try {
    const metrics = `http://127.0.0.1:${p.metricsPort}/metrics`;
    const screenHistogram = (): Promise<Array<[number, number]>> => scrapeHistogram(metrics, 'rtdw_redis_sink_freshness_seconds');
    const generator = p.generate(['--speed', 'realtime', '--rate', String(rate), '--minutes', String(FRESH_SECONDS / 60)]);
    // The screens' freshness over the sampled span: the Redis sink's histogram, scraped at its two ends.
    const screensFrom = sleep(WARMUP_S * 1000).then(screenHistogram);
    const screensTo = sleep((FRESH_SECONDS - COOLDOWN_S) * 1000).then(screenHistogram);
    const code = await generator.exited;
    if (code !== 0) throw new Error(`rtdw generate exited with ${code}:\n${generator.errors()}`);
    const report = parseReport(generator, 'rtdw generate');
    const start = Date.parse(report.start);
    const from = start + WARMUP_S * 1000;
    const to = start + (FRESH_SECONDS - COOLDOWN_S) * 1000;
    // Rows stamped before `to` have had COOLDOWN_S to arrive; give the slow ones as long again.
    const waitUntil = Date.now() + COOLDOWN_S * 1000;
    while (Date.now() < waitUntil) await sleep(200);
    await probe.stop();
    const inWindow = (samples: Sample[]): Sample[] => samples.filter((s) => s.stamp >= from && s.stamp < to);
    const achieved = ((rowWrites(report) + deliveries(report)) / report.wallMs) * 1000;
    console.log('');
    console.log(`freshness: rtdw generate --speed realtime --rate ${rate} --minutes ${(FRESH_SECONDS / 60).toFixed(2)} (flat load), rtdw run from the start`);
    console.log(`  generator                ${fmt(achieved)} rows + events/s achieved (${fmt(report.rowsPerSecond)} rows/s, ${fmt(report.eventsPerSecond)} events/s); at most ${fmt(report.maxLagMs)} ms behind its schedule`);
    console.log(`  sampled                  stamps in [start + ${WARMUP_S} s, start + ${FRESH_SECONDS - COOLDOWN_S} s); ClickHouse polled every ${probe.pollPeriod()}; the generator's stamps trail its Kafka record times by ${probe.stampOffset(from, to)}`);
    const show = (label: string, samples: Sample[]): void => {
      const q = percentiles(samples.map((s) => s.visible - s.stamp));
      console.log(`  ${label.padEnd(40)} p50 ${fmt(q.p50).padStart(6)} ms  p99 ${fmt(q.p99).padStart(6)} ms  max ${fmt(q.max).padStart(6)} ms  (${fmt(samples.length)} rows)`);
    };
    const events = inWindow(probe.events);
    const clicks = events.filter((s) => s.kind === 'ad_click');
    const others = events.filter((s) => s.kind !== 'ad_click');
    show('event ts → visible in dwd_ad_event', events);
    show('  page views + impressions', others);
    show('  clicks (emitted once the watermark passes)', clicks);
    const written = (list: Sample[]): Sample[] => list.flatMap((s) => (s.sent === undefined ? [] : [{ ...s, stamp: s.sent }]));
    show('event sent to Kafka → visible', written(events));
    show('  page views + impressions', written(others));
    show('  clicks', written(clicks));
    const buckets: number[][] = [];
    for (const s of others) (buckets[Math.floor((s.stamp - from) / 5000)] ??= []).push(s.visible - s.stamp);
    console.log(`    page views + impressions, p50 per 5 s of stamps: ${Array.from(buckets, (b) => `${((percentiles(b ?? []).p50) / 1000).toFixed(1)} s`).join(', ')}  (flat: it keeps up; growing: it falls behind)`);
    show('order updated_at → visible in ods_orders', inWindow(probe.odsOrders));
    show('order created_at → row in dwd_order_wide', inWindow(probe.orderWide));
    const screens = histogramQuantiles(await screensFrom, await screensTo, [0.5, 0.99]);
    const [s50, s99] = screens.quantiles.map((q) => fmt(q * 1000)) as [string, string];
    console.log(`  ${'window fired → its Redis key written'.padEnd(40)} p50 ${s50.padStart(6)} ms  p99 ${s99.padStart(6)} ms  (${fmt(screens.count)} screen records; rtdw_redis_sink_freshness_seconds, Kafka record time → Redis acknowledged, interpolated in its buckets)`);
  } finally {
    await probe.stop();
    await ch.close();
    await p.stop();
  }
}

async function main(): Promise<void> {
  const load = loadavg();
  console.log(`rtdw pipeline benchmark: ${cpus().length} cores shared by MariaDB, Kafka, ClickHouse, rtdw run, the generator, this process (and whatever else runs); load average ${load.map((l) => l.toFixed(1)).join(' ')}`);
  const sustained = await throughputPhase();
  if (process.env.BENCH_PIPELINE_SKIP_FRESHNESS !== '1') for (const rate of FRESH_RATES) await freshnessPhase(rate);
  await cleanOnce();
  console.log('');
  console.log(`(bench took ${((Date.now() - benchStarted) / 1000).toFixed(0)} s; load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log(`pipeline events/s: ${Math.round(sustained)}`);
}

let cleaning: Promise<void> | undefined;
const cleanOnce = (): Promise<void> => (cleaning ??= Promise.all(pipelines.map((p) => p.cleanup())).then(() => undefined));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanOnce().finally(() => process.exit(130));
  });
}

const benchStarted = Date.now();
main()
  .catch((err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    console.log('pipeline events/s: 0');
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanOnce();
    process.exit();
  });

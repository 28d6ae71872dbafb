/**
 * The lower half of the warehouse end to end, as an operator runs it, on the real stack in a private
 * namespace: `rtdw setup`, three minutes of `rtdw generate` in real time (click bots, brushing users,
 * failure bursts, late and duplicated events, orders synced days late), `rtdw run` killed with
 * kill -9 twice mid-load and restarted, then stopped with SIGTERM once it has settled. Then:
 *
 * - every ODS mirror `ods_<t> FINAL WHERE _is_deleted = 0` equals the MySQL table, value for value;
 * - `dwd_order_wide` equals SQL over MySQL written here (orders ⟕ areas ⟕ the earliest success
 *   payment within [created_at, created_at + 30 min]), times converted from the source zone to UTC;
 *   orders synced beyond the state retention are in `late_changes`, not in the table;
 * - `dim_blacklist` equals the blacklist computed here from the event log's deliveries
 *   (test/support/blacklist-model.ts), never from the pipeline's outputs;
 * - `ads_order_city_1h` equals the hourly windows (sliding by 5 min) computed here over MySQL's counted
 *   orders, `ads_ad_click_trend_1m` and its Redis hashes the minutes of the model's counted clicks;
 *   Redis `<ns>:blacklist` holds the model's blacklisted users, `<ns>:watermark` the jobs' watermarks;
 * - `pipeline_progress` holds each job's final watermark; `rtdw reconcile` exits 0.
 *
 * The event log is unbounded, so no watermark would pass its last few seconds: once the generator has
 * finished, the test appends an end-of-input page view per partition, later than every event by more
 * than the out-of-orderness and the allowed lateness (what a bounded source's final watermark does in
 * Flink). Page views do not enter the blacklist.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../schemas/config.js';
import { SOURCE_TABLES, type AdEvent } from '../../schemas/events.js';
import { quoteIdentifier, type ClickHouseClient } from '../../connectors/clickhouse/client.js';
import { groupProgress } from '../../connectors/kafka/lag.js';
import type { GeneratorReport } from '../../connectors/generator/run.js';
import type { ReconcileReport } from '../../jobs/reconcile/report.js';
import { Redis } from 'ioredis';
import { ADS_TABLES } from '../../schemas/topics.js';
import { countedClicks, eventModel, type Delivery } from '../support/blacklist-model.js';
import { killHard } from '../support/children.js';
import { firstDifference, mirrorLines, sourceColumns, sourceLines, type SourceColumn } from '../support/mirror-text.js';
import { privateEnv, runRtdw, spawnRtdw, type RtdwChild } from '../support/rtdw-cli.js';
import { config, uniqueName } from '../support/stack.js';
import { groupsOf, readingOf, type GroupTopics } from '../support/unread.js';
import { clickhouse, dropDatabase, kafka, produce, query, readTopic, waitFor } from './support.js';

const ZONE = 'Asia/Shanghai';
/** Asia/Shanghai has had no DST since 1991: CONVERT_TZ with fixed offsets needs no time-zone tables. */
const ZONE_OFFSET = '+08:00';
const ZONE_OFFSET_MS = 8 * 3_600_000;
const BLACKLIST_CLICKS = 30;
const GENERATE = ['--speed', 'realtime', '--minutes', '3', '--rate', '300', '--seed', '11', '--bots-per-hour', '60', '--brushers-per-hour', '20', '--failure-bursts-per-hour', '20', '--users', '3000', '--json'];
/** kill -9 of `rtdw run` this long after the generator started */
const KILL_AFTER_MS = [60_000, 120_000];
/** orders created this long before the scenario's start are beyond the 48 h state retention */
const RETAINED_MS = 47 * 3_600_000;
const END_OF_INPUT = 'e2e-end-of-input';
const SEP = '\u001f';

const namespace = uniqueName('e2e');
const database = uniqueName('e2e_src');
const env = privateEnv({
  RTDW_NAMESPACE: namespace,
  MYSQL_DATABASE: database,
  RTDW_TIMEZONE: ZONE,
  RTDW_BLACKLIST_CLICKS: String(BLACKLIST_CLICKS),
  CDC_SERVER_ID: String(randomInt(10_000, 4_000_000)),
  LOG_LEVEL: 'warn',
});
/** the settings the children read from `env` (CLICKHOUSE_DATABASE follows the namespace) */
const settings = loadConfig(env);
const chDatabase = settings.clickhouse.database;
const topic = (name: string): string => `${namespace}.${name}`;
const logDir = join(tmpdir(), namespace);
const logFile = (name: string): string => join(logDir, `${name}.log`);

const utcText = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const seconds = (ms: number): number => Math.round(ms / 100) / 10;

interface KillPoint {
  /** ms since the generator started */
  atMs: number;
  mysqlOrders: number;
  mysqlMaxOrderId: number;
  odsOrders: number;
  orderWideRows: number;
  adEventRows: number;
  /** ms from the restart until ClickHouse held the newest order MySQL had at the kill */
  catchUpMs?: number;
}

interface Figures {
  namespace: string;
  logs: string;
  kills: KillPoint[];
  generator?: { wallMs: number; start: string; exitedAt: string; users: number; maxLagMs: number; rows: GeneratorReport['written']['rows']; deliveries: GeneratorReport['written']['deliveries']; bots: number };
  /** ms from the generator's exit until the pipeline had settled */
  settleMs?: number;
  /** while settling: ms after the generator's exit, and what was still missing */
  settling: string[];
  /** per partition of the binlog topic, the binlog time of its newest change */
  newestBinlogTime?: Record<string, string>;
  stopMs?: number;
  lagAtRest?: Record<string, string>;
  rows?: Record<string, number>;
  excludedOrders?: number;
  events?: { deliveries: number; distinct: number; duplicates: number; modelLate: number; pipelineLate: number; lateOnlyInModel: number; lateOnlyInPipeline: number };
  progress?: Record<string, string>;
  reconcile?: unknown;
  testMs?: number;
}

const figures: Figures = { namespace, logs: logDir, kills: [], settling: [] };

describe('the warehouse end to end: setup, generated traffic, rtdw run killed twice, ODS/DWD equal MySQL and the events', () => {
  let db: mysql.Connection;
  let ch: ClickHouseClient;
  let redis: Redis;
  let admin: Admin;
  const children: RtdwChild[] = [];
  let columns: Map<string, SourceColumn[]>;

  beforeAll(async () => {
    mkdirSync(logDir, { recursive: true });
    const { host, port, admin: a } = config.mysql;
    db = await mysql.createConnection({ host, port, user: a.user, password: a.password, dateStrings: true });
    ch = clickhouse();
    redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
    await redis.connect();
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const child of children) await killHard(child.child);
    console.log(`pipeline e2e figures:\n${JSON.stringify(figures, null, 2)}`);
    await db?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    for (const host of ['127.0.0.1', 'localhost']) await db?.query('REVOKE ALL PRIVILEGES ON ??.* FROM ?@?', [database, config.mysql.app.user, host]).catch(() => undefined);
    await db?.end();
    if (redis !== undefined) {
      const keys = await redis.keys(`${namespace}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    if (ch !== undefined) {
      await dropDatabase(ch, chDatabase);
      await ch.close();
    }
    if (admin !== undefined) {
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.includes(namespace));
      if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`) || t.startsWith(`${namespace}-`));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.disconnect();
    }
  });

  const scalar = async (sql: string): Promise<number> => {
    const [row] = await query<{ n: string | number | null }>(ch, sql);
    return Number(row?.n ?? 0);
  };
  const chTable = (table: string): string => `${quoteIdentifier(chDatabase)}.${quoteIdentifier(table)}`;
  const mysqlScalar = async (sql: string, params: unknown[] = []): Promise<number> => {
    const [rows] = await db.query<mysql.RowDataPacket[]>(sql, params);
    return Number(rows[0]?.n ?? 0);
  };

  /** The first table whose mirror differs from MySQL, with how; undefined when all are equal. */
  async function mirrorDifference(): Promise<string | undefined> {
    for (const table of SOURCE_TABLES) {
      const cols = columns.get(table) ?? [];
      const difference = firstDifference(`ods_${table}`, await sourceLines(db, database, table, cols), await mirrorLines(ch, chDatabase, table, cols));
      if (difference !== undefined) return difference;
    }
    return undefined;
  }

  async function killPoint(atMs: number): Promise<KillPoint> {
    // ClickHouse first: what it holds was in MySQL before.
    const orderWideRows = await scalar(`SELECT count() AS n FROM ${chTable('dwd_order_wide')} FINAL WHERE _is_deleted = 0`);
    const odsOrders = await scalar(`SELECT count() AS n FROM ${chTable('ods_orders')} FINAL WHERE _is_deleted = 0`);
    const adEventRows = await scalar(`SELECT count() AS n FROM ${chTable('dwd_ad_event')} FINAL`);
    const [[orders]] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n, MAX(id) AS max FROM \`${database}\`.orders`);
    return { atMs, mysqlOrders: Number(orders?.n), mysqlMaxOrderId: Number(orders?.max), odsOrders, orderWideRows, adEventRows };
  }

  /** ms until ClickHouse's mirror and order wide table both hold order `id` (or a newer one). */
  async function catchUp(restartedAt: number, id: number): Promise<number> {
    await waitFor(
      `the restarted pipeline to reach order ${id}`,
      async () => {
        const wide = await scalar(`SELECT max(order_id) AS n FROM ${chTable('dwd_order_wide')}`);
        const ods = await scalar(`SELECT max(id) AS n FROM ${chTable('ods_orders')}`);
        return wide >= id && ods >= id ? true : undefined;
      },
      150_000,
      250,
    );
    return Date.now() - restartedAt;
  }

  const progressRows = async (): Promise<Map<string, number>> =>
    new Map((await query<{ job: string; wm: string }>(ch, `SELECT job, toString(toUnixTimestamp64Milli(argMax(watermark, updated_at))) AS wm FROM ${chTable('pipeline_progress')} GROUP BY job`)).map((r) => [r.job, Number(r.wm)]));

  let groups: GroupTopics[] = [];

  it('mirrors every table, builds dwd_order_wide and dim_blacklist exactly, through two kill -9 mid-load', async () => {
    const testStart = Date.now();

    // 1. rtdw setup: source tables (and the app user, the generator's, granted on them), topics, ClickHouse tables.
    await runRtdw(['setup'], env, logFile('setup'));
    columns = await sourceColumns(db, database);
    expect([...columns.keys()].sort()).toEqual([...SOURCE_TABLES].sort());
    expect(await scalar(`SELECT count() AS n FROM system.tables WHERE database = '${chDatabase}' AND name IN ('dwd_order_wide', 'dwd_ad_event', 'dim_blacklist', 'pipeline_progress', ${SOURCE_TABLES.map((t) => `'ods_${t}'`).join(', ')})`)).toBe(SOURCE_TABLES.length + 4);

    // 2 and 3. The pipeline, then the traffic; kill -9 twice while the generator writes.
    const startPipeline = (): RtdwChild => {
      const run = spawnRtdw(['run'], env, logFile('run'));
      children.push(run);
      return run;
    };
    let pipeline = startPipeline();
    const generatorStart = Date.now();
    const generator = spawnRtdw(['generate', ...GENERATE], env, logFile('generate'));
    children.push(generator);
    const catchUps: Array<Promise<void>> = [];
    let previousRows = 0;
    for (const afterMs of KILL_AFTER_MS) {
      // Mid-load: the traffic has run this long, and the pipeline committed rows since the last kill.
      const point = await waitFor(
        `${afterMs / 1000} s of traffic with new order rows in ClickHouse`,
        async () => {
          if (Date.now() - generatorStart < afterMs) return undefined;
          const p = await killPoint(Date.now() - generatorStart);
          return p.orderWideRows > previousRows ? p : undefined;
        },
        90_000,
        250,
      );
      expect(generator.child.exitCode, 'the generator is still writing at the kill').toBeNull();
      expect(pipeline.child.exitCode, 'the pipeline was running until the kill').toBeNull();
      expect(point.orderWideRows).toBeGreaterThan(0);
      expect(point.odsOrders).toBeGreaterThan(0);
      await killHard(pipeline.child);
      figures.kills.push(point);
      previousRows = point.orderWideRows;
      const restartedAt = Date.now();
      pipeline = startPipeline();
      catchUps.push(catchUp(restartedAt, point.mysqlMaxOrderId).then((ms) => void (point.catchUpMs = ms)));
    }
    const generated = await generator.exited;
    expect(generated.code, `rtdw generate failed (see ${logFile('generate')})`).toBe(0);
    const generatorEnd = Date.now();
    const report = JSON.parse(generator.stdout()) as GeneratorReport;
    const bots = report.written.abuse.filter((a) => a.type === 'click_bot' && a.clicks > BLACKLIST_CLICKS);
    figures.generator = { wallMs: generatorEnd - generatorStart, start: report.start, exitedAt: new Date(generatorEnd).toISOString(), users: report.users, maxLagMs: report.maxLagMs, rows: report.written.rows, deliveries: report.written.deliveries, bots: bots.length };
    expect(report.stopped).toBe('finished');
    expect(bots.length, 'a click bot crossed the blacklist threshold').toBeGreaterThan(0);
    for (const point of figures.kills) expect(point.mysqlOrders, 'the generator wrote more orders after the kill').toBeLessThan(await mysqlScalar(`SELECT COUNT(*) AS n FROM \`${database}\`.orders`));
    await Promise.all(catchUps);

    // End of input: a page view per partition of the event log, later than every delivery.
    const scenario = (await readTopic(topic('ods_events'))).map(
      (r): Delivery => ({ partition: r.partition, offset: BigInt(r.offset), event: JSON.parse(String(r.value)) as AdEvent }),
    );
    const lastTs = Math.max(...scenario.map((d) => d.event.ts));
    const endOfInputTs = lastTs + settings.pipeline.outOfOrdernessMs + settings.pipeline.allowedLatenessMs + 1000;
    const area = await mysqlScalar(`SELECT MIN(id) AS n FROM \`${database}\`.areas`);
    const eventPartitions = [...new Set(scenario.map((d) => d.partition))].sort((a, b) => a - b);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic('ods_events')] })).topics;
    expect(eventPartitions.length, 'the generator wrote to every partition of the event log').toBe(metadata?.partitions.length);
    await produce(
      topic('ods_events'),
      eventPartitions.map((partition) => {
        const event: AdEvent = { event_id: `${END_OF_INPUT}-${partition}`, type: 'page_view', ts: endOfInputTs, user_id: null, device_id: `${END_OF_INPUT}-${partition}`, session_id: END_OF_INPUT, ip: '127.0.0.1', area_id: area, channel: 'direct', page: '/' };
        return { partition, key: event.device_id, value: JSON.stringify(event) };
      }),
    );

    // 4. Settled: the mirror equals MySQL, no group has a record left to read, every job published
    // its final watermark, and nothing moved for longer than the idle timeout (idle markers included).
    const eventWatermark = endOfInputTs - settings.pipeline.outOfOrdernessMs - 1;
    let last: { at: number; state: string } | undefined;
    let why = '';
    const waiting = (reason: string): undefined => {
      if (reason !== why) figures.settling.push(`${seconds(Date.now() - generatorEnd)} s: ${reason}`);
      why = reason;
      return undefined;
    };
    await waitFor(
      'the pipeline to settle',
      async () => {
        const difference = await mirrorDifference();
        if (difference !== undefined) return waiting(difference);
        groups = await groupsOf(admin, namespace);
        const reading = await readingOf(kafka, admin, groups);
        if (reading.unread > 0) return waiting(`records unread by the pipeline's groups`);
        const progress = await progressRows();
        const behind = ['dwd_ad_event', 'dim_blacklist', 'ads_ad_click_trend_1m'].filter((job) => progress.get(job) !== eventWatermark);
        const unpublished = ['ods', 'dwd_order_wide', ...ADS_TABLES].filter((job) => !progress.has(job));
        if (behind.length > 0 || unpublished.length > 0) return waiting(`progress not final: ${JSON.stringify([...progress].map(([job, wm]) => [job, utcText(wm)]))}`);
        const state = `${reading.offsets}\n${JSON.stringify([...progress])}`;
        const now = Date.now();
        if (last === undefined || last.state !== state) {
          last = { at: now, state };
          return waiting('offsets or progress moved');
        }
        return now - last.at > settings.pipeline.idleTimeoutMs + 1000 ? true : waiting('unchanged, waiting out the idle timeout');
      },
      240_000,
      1000,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${why}`);
    });
    const settleMs = Date.now() - generatorEnd;
    figures.settleMs = settleMs;
    const lags = await Promise.all(groups.map((g) => groupProgress(admin, g.groupId, g.topics)));
    figures.lagAtRest = Object.fromEntries(lags.map((l) => [l.groupId, l.lag.toString()]));

    // Every part of the pipeline has a group: the ODS mirror, the stages of the DWD and ADS layers, both sinks.
    const groupIds = groups.map((g) => g.groupId);
    expect(groupIds).toEqual(
      expect.arrayContaining([
        `${namespace}-clickhouse-sink`,
        `${namespace}-ods-mirror`,
        `${namespace}-redis-sink`,
        ...['dwd_ad_event.areas', 'dwd_ad_event.blacklist', 'dwd_ad_event.events', 'dwd_order_wide.binlog', 'dwd_order_wide.join', 'ads.orders', 'ads.events'].map((s) => `rtdw-${namespace}.${s}`),
      ]),
    );
    for (const table of ADS_TABLES.filter((t) => t !== 'ads_order_top3_city_1h')) {
      expect(groupIds.some((id) => id.startsWith(`rtdw-${namespace}.${table}.`)), `a stage of ${table} runs`).toBe(true);
    }

    // SIGTERM: a clean stop, exit 0.
    const stopping = Date.now();
    pipeline.child.kill('SIGTERM');
    const stopped = await pipeline.exited;
    figures.stopMs = Date.now() - stopping;
    expect(stopped, `rtdw run did not stop cleanly (see ${logFile('run')})`).toEqual({ code: 0, signal: null });

    // ODS: every table, row for row and value for value.
    figures.rows = {};
    for (const table of SOURCE_TABLES) {
      const cols = columns.get(table) ?? [];
      const source = await sourceLines(db, database, table, cols);
      figures.rows[table] = source.length;
      expect(firstDifference(`ods_${table}`, source, await mirrorLines(ch, chDatabase, table, cols))).toBeUndefined();
    }

    // dwd_order_wide: SQL over MySQL; orders beyond the state retention are late changes instead.
    const scenarioStart = Date.parse(report.start);
    const retainedFrom = utcText(scenarioStart - RETAINED_MS);
    const utc = (column: string) => `CONVERT_TZ(${column}, '${ZONE_OFFSET}', '+00:00')`;
    const [wanted] = await db.query<mysql.RowDataPacket[]>(
      `SELECT CONCAT_WS(?, o.id, o.user_id, IFNULL(a.province, ''), IFNULL(a.city, ''), CAST(o.amount AS CHAR), o.status, CAST(${utc('o.created_at')} AS CHAR),
              IFNULL(CAST(${utc('fp.paid_at')} AS CHAR), 'null'), IFNULL(CAST(fp.amount AS CHAR), 'null')) AS line
       FROM \`${database}\`.orders o
       LEFT JOIN \`${database}\`.areas a ON a.id = o.area_id
       LEFT JOIN (
         SELECT p.order_id, p.paid_at, p.amount, ROW_NUMBER() OVER (PARTITION BY p.order_id ORDER BY p.paid_at, p.id) AS n
         FROM \`${database}\`.payments p JOIN \`${database}\`.orders po ON po.id = p.order_id
         WHERE p.status = 'success' AND p.paid_at BETWEEN po.created_at AND po.created_at + INTERVAL 30 MINUTE
       ) fp ON fp.order_id = o.id AND fp.n = 1
       WHERE ${utc('o.created_at')} >= ?
       ORDER BY o.id`,
      [SEP, retainedFrom],
    );
    const orderWide = await query<{ line: string }>(
      ch,
      `SELECT concatWithSeparator({sep:String}, toString(order_id), toString(user_id), province, city, toDecimalString(amount, 2), status, toString(created_at),
              ifNull(toString(first_paid_at), 'null'), ifNull(toDecimalString(paid_amount, 2), 'null')) AS line
       FROM ${chTable('dwd_order_wide')} FINAL WHERE _is_deleted = 0 ORDER BY order_id`,
      { sep: SEP },
    );
    const expectedWide = wanted.map((r) => String(r.line));
    figures.rows.dwd_order_wide = expectedWide.length;
    expect(expectedWide.some((line) => !line.endsWith(`${SEP}null${SEP}null`)), 'some orders were paid within 30 min').toBe(true);
    expect(firstDifference('dwd_order_wide', expectedWide, orderWide.map((r) => r.line))).toBeUndefined();
    for (const point of figures.kills) expect(point.orderWideRows, 'rows of dwd_order_wide at a kill, against the final count').toBeLessThan(expectedWide.length);
    const [old] = await db.query<mysql.RowDataPacket[]>(`SELECT id FROM \`${database}\`.orders WHERE ${utc('created_at')} < ? ORDER BY id`, [retainedFrom]);
    const excluded = old.map((r) => Number(r.id));
    figures.excludedOrders = excluded.length;
    if (excluded.length > 0) {
      expect(await scalar(`SELECT count() AS n FROM ${chTable('dwd_order_wide')} WHERE order_id IN (${excluded.join(', ')})`), 'orders beyond the retention in dwd_order_wide').toBe(0);
      const lateOrders = new Set(
        (await readTopic(topic('late_changes'))).map((r) => JSON.parse(String(r.value)) as { table: string; order_id: number }).filter((c) => c.table === 'orders').map((c) => c.order_id),
      );
      expect(excluded.filter((id) => !lateOrders.has(id)), 'orders beyond the retention missing from late_changes').toEqual([]);
    }

    const progress0 = await progressRows();

    // dim_blacklist: the blacklist of the scenario's deliveries, computed here.
    const model = eventModel(scenario, {
      outOfOrdernessMs: settings.pipeline.outOfOrdernessMs,
      allowedLatenessMs: settings.pipeline.allowedLatenessMs,
      threshold: BLACKLIST_CLICKS,
      zoneOffsetMs: ZONE_OFFSET_MS,
    });
    const expectedBlacklist = model.blacklist.map((b) => `${b.user_id}|${b.ad_id}|${b.day}|${utcText(b.blacklisted_at)}`).sort();
    const blacklist = (
      await query<{ line: string }>(ch, `SELECT concatWithSeparator('|', toString(user_id), toString(ad_id), toString(day), toString(blacklisted_at)) AS line FROM ${chTable('dim_blacklist')} FINAL`)
    )
      .map((r) => r.line)
      .sort();
    figures.rows.dim_blacklist = expectedBlacklist.length;
    expect(model.blacklist.some((b) => bots.some((bot) => bot.type === 'click_bot' && bot.user_id === b.user_id)), 'a generated click bot is blacklisted').toBe(true);
    expect(blacklist).toEqual(expectedBlacklist);

    // Redis: the blacklisted users, and the watermarks of the jobs whose outputs it holds.
    expect((await redis.smembers(`${namespace}:blacklist`)).sort()).toEqual([...new Set(model.blacklist.map((b) => String(b.user_id)))].sort());
    const redisWatermarks = await redis.hgetall(`${namespace}:watermark`);
    expect(Number(redisWatermarks.dim_blacklist)).toBe(eventWatermark);
    expect(Number(redisWatermarks.ads_ad_click_trend_1m)).toBe(eventWatermark);
    // The city windows' screen is written by the stage that also writes ads_order_top3_city_1h.
    expect(Number(redisWatermarks.ads_order_city_1h)).toBe(progress0.get('ads_order_top3_city_1h'));

    // ads_ad_click_trend_1m, in ClickHouse and on Redis: the model's counted clicks per minute and ad.
    const trendWatermark = progress0.get('ads_ad_click_trend_1m') as number;
    const trend = new Map<string, number>();
    for (const e of countedClicks(model)) {
      const minute = Math.floor(e.ts / 60_000) * 60_000;
      if (minute + 60_000 - 1 > trendWatermark) continue;
      const key = `${minute}|${e.ad_id}`;
      trend.set(key, (trend.get(key) ?? 0) + 1);
    }
    const expectedTrend = [...trend].map(([key, clicks]) => `${key}|${clicks}`).sort();
    expect(expectedTrend.length, 'complete minutes with counted clicks').toBeGreaterThan(0);
    const trendRows = await query<{ line: string }>(
      ch,
      `SELECT concatWithSeparator('|', toString(toUnixTimestamp(minute) * 1000), toString(ad_id), toString(clicks)) AS line FROM ${chTable('ads_ad_click_trend_1m')} FINAL WHERE _is_deleted = 0`,
    );
    figures.rows.ads_ad_click_trend_1m = expectedTrend.length;
    expect(trendRows.map((r) => r.line).sort()).toEqual(expectedTrend);
    const screenTrend: string[] = [];
    for (const ad of new Set([...trend.keys()].map((k) => k.split('|')[1] as string))) {
      for (const [minute, clicks] of Object.entries(await redis.hgetall(`${namespace}:ad_click_trend_1m:${ad}`))) screenTrend.push(`${minute}|${ad}|${clicks}`);
    }
    expect(screenTrend.sort()).toEqual(expectedTrend);

    // ads_order_city_1h: 1 h windows sliding by 5 min over the counted orders (not cancelled, of a known
    // area) in MySQL, for the windows of retained orders the table's watermark has passed.
    const cityWatermark = progress0.get('ads_order_city_1h') as number;
    const retainedFromMs = scenarioStart - RETAINED_MS;
    const [counted] = await db.query<mysql.RowDataPacket[]>(
      `SELECT a.province, a.city, CAST(o.amount AS CHAR) AS amount, CAST(o.created_at AS CHAR) AS created_at
       FROM \`${database}\`.orders o JOIN \`${database}\`.areas a ON a.id = o.area_id WHERE o.status <> 'cancelled'`,
    );
    const cells = new Map<string, { orders: number; cents: bigint }>();
    for (const o of counted) {
      const t = Date.parse(`${String(o.created_at).replace(' ', 'T')}${ZONE_OFFSET}`);
      const [whole, fraction = ''] = String(o.amount).split('.');
      const cents = BigInt(whole as string) * 100n + BigInt(fraction.padEnd(2, '0'));
      const slice = Math.floor(t / 300_000) * 300_000;
      for (let start = slice - 11 * 300_000; start <= slice; start += 300_000) {
        if (start < retainedFromMs || start + 3_600_000 - 1 > cityWatermark) continue;
        const key = `${start}|${String(o.province)}|${String(o.city)}`;
        const cell = cells.get(key) ?? { orders: 0, cents: 0n };
        cells.set(key, { orders: cell.orders + 1, cents: cell.cents + cents });
      }
    }
    const expectedCities = [...cells].map(([key, c]) => `${key}|${c.orders}|${c.cents / 100n}.${String(c.cents % 100n).padStart(2, '0')}`).sort();
    expect(expectedCities.length, 'complete hourly windows of retained orders').toBeGreaterThan(0);
    const cityRows = await query<{ line: string }>(
      ch,
      `SELECT concatWithSeparator('|', toString(toUnixTimestamp(window_start) * 1000), province, city, toString(orders), toDecimalString(amount, 2)) AS line
       FROM ${chTable('ads_order_city_1h')} FINAL WHERE _is_deleted = 0 AND window_start >= toDateTime({from:UInt32}, 'UTC')`,
      { from: Math.ceil(retainedFromMs / 1000) },
    );
    figures.rows.ads_order_city_1h = expectedCities.length;
    expect(firstDifference('ads_order_city_1h', expectedCities, cityRows.map((r) => r.line).sort())).toBeUndefined();

    // Late events: the model's (per partition, at arrival) against what the pipeline routed.
    const pipelineLate = new Set((await readTopic(topic('late_events'))).map((r) => (JSON.parse(String(r.value)) as { event: AdEvent }).event.event_id));
    figures.events = {
      deliveries: scenario.length,
      distinct: model.events.size,
      duplicates: model.duplicates,
      modelLate: model.lateEvents.size,
      pipelineLate: pipelineLate.size,
      lateOnlyInModel: [...model.lateEvents].filter((id) => !pipelineLate.has(id)).length,
      lateOnlyInPipeline: [...pipelineLate].filter((id) => !model.lateEvents.has(id)).length,
    };
    figures.rows.dwd_ad_event = await scalar(`SELECT count() AS n FROM ${chTable('dwd_ad_event')} FINAL WHERE NOT startsWith(event_id, '${END_OF_INPUT}')`);
    expect((await readTopic(topic('dead_letter'))).length, 'dead letters').toBe(0);
    expect((await readTopic(topic('cdc_dead_letter'))).length, 'CDC dead letters').toBe(0);

    // pipeline_progress: the event jobs at the end of input; the binlog-time ones at the binlog's last change.
    const newestEs = new Map<number, number>();
    for (const r of await readTopic(topic('ods_binlog'))) {
      const es = (JSON.parse(String(r.value)) as { es: number }).es;
      newestEs.set(r.partition, Math.max(newestEs.get(r.partition) ?? 0, es));
    }
    figures.newestBinlogTime = Object.fromEntries([...newestEs].map(([partition, es]) => [partition, utcText(es)]));
    const esRange = [Math.min(...newestEs.values()), Math.max(...newestEs.values())] as const;
    const progress = await progressRows();
    figures.progress = Object.fromEntries([...progress].map(([job, wm]) => [job, utcText(wm)]));
    expect(progress.get('dwd_ad_event')).toBe(eventWatermark);
    expect(progress.get('dim_blacklist')).toBe(eventWatermark);
    expect(progress.get('ods'), 'ods: the oldest partition\'s newest binlog time, less its 1 s resolution').toBe(esRange[0] - 1000);
    expect(progress.get('dwd_order_wide')).toBeGreaterThanOrEqual(esRange[0] - settings.pipeline.outOfOrdernessMs - 1);
    expect(progress.get('dwd_order_wide')).toBeLessThanOrEqual(esRange[1] - settings.pipeline.outOfOrdernessMs - 1);

    // The settled pipeline reconciles.
    const reconciled = spawnRtdw(['reconcile', '--json'], env, logFile('reconcile'));
    const reconcileExit = await reconciled.exited;
    const reconcileReport = JSON.parse(reconciled.stdout()) as Pick<ReconcileReport, 'status' | 'totals'>;
    figures.reconcile = { exit: reconcileExit.code, status: reconcileReport.status, totals: reconcileReport.totals };
    expect(reconcileExit.code, `rtdw reconcile: ${reconciled.stdout().slice(0, 2000)}`).toBe(0);

    const testMs = Date.now() - testStart;
    figures.testMs = testMs;
    expect(testMs).toBeLessThan(8 * 60_000);
    console.log(`pipeline e2e: kills at ${figures.kills.map((k) => `${seconds(k.atMs)} s`).join(', ')}; settled ${seconds(settleMs)} s after the generator; ${seconds(testMs)} s in all`);
  }, 8 * 60_000);

  it('at rest, every consumer group of the pipeline is at lag 0', () => {
    expect(figures.lagAtRest, 'the first test settled the pipeline').toBeDefined();
    expect(Object.entries(figures.lagAtRest ?? {}).filter(([, lag]) => lag !== '0')).toEqual([]);
  });
});

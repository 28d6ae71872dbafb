/**
 * CDC benchmark: `npx tsx bench/cdc.ts` (npm run bench:cdc). Prints figures, asserts nothing.
 *
 * 1. Backlog: loads BENCH_CDC_ROWS (default 500,000) rows into a fresh table of MYSQL_DATABASE while
 *    no CDC runs, then starts `rtdw cdc` as a child process at the GTID noted before the load (an
 *    initial position written into its fresh positions topic) and times spawn → the position
 *    covering the whole load committed in Kafka (the connector commits messages and position in one
 *    Kafka transaction, acks=all). Once with CDC_KEY_BY_PK=false (Canal's multi-row messages), once
 *    with the default true (one keyed message per row). Afterwards a read_committed consumer counts
 *    the rows and bytes that were published (not timed).
 * 2. Latency: a fresh connector at the end of the binlog; 100-row INSERTs every 10 ms (10,000 rows/s)
 *    for BENCH_CDC_LATENCY_S (default 20) seconds; per row, read_committed receive time − the time
 *    its INSERT's commit returned to the client (same process, same clock).
 * 3. `cdc rows/s: <n>`: the default configuration's backlog drain rate, from the connector's
 *    'streaming the binlog' (process started, preflight passed, position loaded, producer fenced) to the
 *    whole load committed. The spawn → committed figure above it also counts the fixed start-up cost
 *    (Node + tsx module loading, about 0.7–1 s here), which does not grow with the backlog.
 *
 * Everything runs on one machine: MariaDB, Kafka, the CDC child and this load generator/consumer
 * share its cores, so the figures are a floor for a CDC process with cores of its own.
 *
 * BENCH_CDC_PROFILE=<dir>: run the backlog children under `node --cpu-prof` (profiles in <dir>, one per
 * thread: main, publisher thread, loader-hook threads).
 * BENCH_CDC_SKIP_LATENCY=1: backlog only. BENCH_CDC_MODES=true,false: which key modes to run.
 * BENCH_CDC_ROOT=<checkout>: run another checkout's `rtdw cdc` (before/after comparisons);
 * BENCH_CDC_NODE_ARGS='--max-semi-space-size=32': extra node flags for the CDC process.
 * Other CDC_* variables (CDC_BATCH_ROWS, CDC_MAX_QUEUED_ROWS, …) pass through to the connector.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../connectors/kafka/kafkajs.js';
import type { Consumer } from 'kafkajs';
import { loadConfig, repoRoot } from '../schemas/config.js';
import { ensureTopics } from '../connectors/kafka/topics.js';
import { PositionStore, type StoredPosition } from '../connectors/mysql-binlog/position-store.js';

const config = loadConfig();
const ROWS = Number(process.env.BENCH_CDC_ROWS ?? 500_000);
const ROWS_PER_INSERT = 1000;
const INSERTS_PER_TXN = 10;
const LATENCY_SECONDS = Number(process.env.BENCH_CDC_LATENCY_S ?? 20);
const LATENCY_BATCH = 100;
const LATENCY_EVERY_MS = 10;
const PARTITIONS = 3;
const PROFILE_DIR = process.env.BENCH_CDC_PROFILE;
/** A/B experiments: the checkout whose `bin/rtdw.mjs cdc` runs, and extra node flags for it. */
const CDC_ROOT = process.env.BENCH_CDC_ROOT ?? repoRoot;
const NODE_ARGS = (process.env.BENCH_CDC_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
/** Debugging: write each connector's stdout/stderr to <prefix>.<name>.log. */
const CHILD_LOG = process.env.BENCH_CDC_CHILD_LOG;
/** Debugging: per-INSERT latency trace of the steady-state run, as JSON lines. */
const LATENCY_TRACE = process.env.BENCH_CDC_LATENCY_TRACE;
const MODES = (process.env.BENCH_CDC_MODES ?? 'false,true').split(',').map((m) => m.trim() === 'true');

const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const table = `bench_cdc_${runId}`;
const database = config.mysql.database;
const kafka = new Kafka({ clientId: 'rtdw-bench-cdc', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });

/** Everything created, for the cleanup. */
const createdTopics: string[] = [];
const createdGroups: string[] = [];
const children = new Set<ChildProcess>();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface BinlogPoint {
  file: string;
  pos: number;
}

function comparePoints(a: BinlogPoint, b: BinlogPoint): number {
  return a.file === b.file ? a.pos - b.pos : a.file < b.file ? -1 : 1;
}

async function cdcDb(): Promise<mysql.Connection> {
  const { host, port, user, password } = config.mysql;
  return mysql.createConnection({ host, port, user, password });
}

async function appDb(): Promise<mysql.Connection> {
  const { host, port, app } = config.mysql;
  return mysql.createConnection({ host, port, database, user: app.user, password: app.password, timezone: 'Z' });
}

async function masterStatus(conn: mysql.Connection): Promise<BinlogPoint & { gtid: string }> {
  const [status] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
  const [gtid] = await conn.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS gtid');
  return { file: String(status[0]?.File), pos: Number(status[0]?.Position), gtid: String(gtid[0]?.gtid ?? '').replace(/\s+/g, '') };
}

/** Binlog bytes between two points, across rotations. */
async function binlogBytes(conn: mysql.Connection, from: BinlogPoint, to: BinlogPoint): Promise<number> {
  if (from.file === to.file) return to.pos - from.pos;
  const [logs] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
  let bytes = 0;
  for (const l of logs) {
    const name = String(l.Log_name);
    if (name === from.file) bytes += Number(l.File_size) - from.pos;
    else if (name > from.file && name < to.file) bytes += Number(l.File_size);
  }
  return bytes + to.pos;
}

const STATUSES = ['new', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function datetime3(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** One multi-row INSERT; created is given, or NOW(3) at the server when `now` is set. */
function insertSql(firstId: number, count: number, now: boolean): string {
  const base = Date.UTC(2025, 0, 1);
  const values: string[] = [];
  for (let id = firstId; id < firstId + count; id++) {
    const amount = `${(id * 7919) % 100_000}.${pad(id % 100)}`;
    const note = id % 5 === 0 ? 'NULL' : `'note ${id.toString(36)} ${'x'.repeat(id % 24)}'`;
    values.push(`(${id},${(id * 31) % 1_000_000},${amount},'${STATUSES[id % STATUSES.length]}',${now ? 'NOW(3)' : `'${datetime3(base + id * 37)}'`},${note})`);
  }
  return `INSERT INTO \`${table}\` (id, user_id, amount, status, created, note) VALUES ${values.join(',')}`;
}

/** The backlog: ROWS rows in transactions of INSERTS_PER_TXN × ROWS_PER_INSERT, over two connections. */
async function loadBacklog(): Promise<number> {
  const conns = [await appDb(), await appDb()];
  const txns = Math.ceil(ROWS / (ROWS_PER_INSERT * INSERTS_PER_TXN));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    conns.map(async (conn) => {
      for (;;) {
        const t = next++;
        if (t >= txns) return;
        await conn.query('BEGIN');
        for (let i = 0; i < INSERTS_PER_TXN; i++) {
          const first = 1 + (t * INSERTS_PER_TXN + i) * ROWS_PER_INSERT;
          const count = Math.min(ROWS_PER_INSERT, ROWS + 1 - first);
          if (count > 0) await conn.query(insertSql(first, count, false));
        }
        await conn.query('COMMIT');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(conns.map((c) => c.end()));
  return seconds;
}

interface Connector {
  name: string;
  topic: string;
  positionsTopic: string;
  env: Record<string, string>;
}

async function createConnector(suffix: string, extra: Record<string, string>): Promise<Connector> {
  const name = `bench_cdc_${runId}_${suffix}`;
  const c: Connector = {
    name,
    topic: `${name}_out`,
    positionsTopic: `${name}_pos`,
    env: {
      CDC_NAME: name,
      CDC_TOPIC: `${name}_out`,
      CDC_POSITIONS_TOPIC: `${name}_pos`,
      CDC_SERVER_ID: String(randomInt(10_000, 4_000_000)),
      CDC_FILTER_REGEX: `${database}\\.${table}`,
      CDC_PARTITIONS: String(PARTITIONS),
      CDC_SNAPSHOT: 'never',
      // /metrics for the transaction figures; not while profiling: its server keeps a stopped `rtdw cdc` alive, and a
      // killed process writes no profile.
      ...(PROFILE_DIR === undefined ? { METRICS_PORT: String(await freePort()) } : {}),
      ...extra,
    },
  };
  // Created up front so that consumers can subscribe before the connector publishes.
  createdTopics.push(c.topic, c.positionsTopic);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic: c.topic, partitions: PARTITIONS }]);
  } finally {
    await admin.disconnect();
  }
  await new PositionStore(kafka, c.positionsTopic, name).ensureTopic();
  return c;
}

async function writeInitialPosition(c: Connector, at: BinlogPoint & { gtid: string }): Promise<void> {
  const store = new PositionStore(kafka, c.positionsTopic, c.name);
  const now = Date.now();
  const position: StoredPosition = { phase: 'stream', file: at.file, pos: at.pos, gtid: at.gtid, batchId: 0, eventTime: now, committedAt: now };
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await producer.send({ topic: c.positionsTopic, acks: -1, messages: [store.message(position)] });
  } finally {
    await producer.disconnect();
  }
}

interface Child {
  proc: ChildProcess;
  /** performance.now() when the connector logged 'streaming the binlog' */
  streamingAt: Promise<number>;
  exited: Promise<number | null>;
  /** the connector logged 'cdc stopped' (its process may stay up while a /metrics server runs) */
  stopped: Promise<void>;
  stderr: () => string;
}

function spawnConnector(c: Connector, profile: string | undefined): Child {
  const args = [...NODE_ARGS, ...(profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profile}/${c.name}`] : []), 'bin/rtdw.mjs', 'cdc'];
  const proc = spawn(process.execPath, args, { cwd: CDC_ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let err = '';
  let out = '';
  if (CHILD_LOG !== undefined) {
    const log = createWriteStream(`${CHILD_LOG}.${c.name}.log`);
    proc.stdout?.pipe(log);
    proc.stderr?.pipe(log);
  }
  proc.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
  });
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const streamingAt = new Promise<number>((resolve) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) !== -1) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.includes('streaming the binlog')) resolve(performance.now());
        if (line.includes('"msg":"cdc stopped"')) markStopped();
        if (/"level":(50|60)/.test(line)) err = (err + line + '\n').slice(-8000);
      }
    });
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => {
    children.delete(proc);
    resolve(code);
  }));
  return { proc, streamingAt, exited, stopped, stderr: () => err };
}

/** CPU seconds (user + system) the process has used so far, from /proc; NaN where there is none. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return (cpu.reduce((a, b) => a + b, 0) - idle) / 100;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The connector's Kafka transactions so far, from its /metrics (rtdw_cdc_commit_seconds, rows, messages). */
async function transactionStats(port: string | undefined): Promise<string> {
  if (port === undefined) return '';
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    const count = value('rtdw_cdc_commit_seconds_count');
    const sum = value('rtdw_cdc_commit_seconds_sum');
    const rows = value('rtdw_cdc_rows_total');
    const within = (le: string): number => Number(new RegExp(`^rtdw_cdc_commit_seconds_bucket\\{le="${le}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return (
      `${fmt(count)} Kafka transactions, ${fmt(rows / count)} rows and ${((sum / count) * 1000).toFixed(0)} ms (send + commit) each on average; ` +
      `${fmt(count - within('0.1'))} took over 100 ms, ${fmt(count - within('0.25'))} over 250 ms`
    );
  } catch (err) {
    return `(metrics unavailable: ${String(err)})`;
  }
}

/** Pids of the stack's MariaDB and Kafka (by command line), to show where the machine's CPU went. */
function servicePids(): Record<string, number[]> {
  const found: Record<string, number[]> = { mariadb: [], kafka: [] };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (/(^|\/)(mariadbd|mysqld)\0/.test(cmd)) found.mariadb?.push(Number(entry));
    else if (cmd.includes('kafka.Kafka\0')) found.kafka?.push(Number(entry));
  }
  return found;
}

function cpuOf(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuSeconds(pid) || 0), 0);
}

async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const code = await Promise.race([child.exited, child.stopped.then(() => sleep(1000)).then(() => 'timeout' as const), sleep(20_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

function consumer(groupPrefix: string): Consumer {
  const groupId = `${groupPrefix}_${runId}_${randomBytes(2).toString('hex')}`;
  createdGroups.push(groupId);
  return kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 16 * 1024 * 1024 });
}

/** Resolves with performance.now() when a committed position at or past `target` appears. */
async function watchPositions(c: Connector, target: BinlogPoint): Promise<{ reached: Promise<number>; stop: () => Promise<void> }> {
  const cons = consumer('bench_pos');
  let resolveReached: (t: number) => void = () => undefined;
  const reached = new Promise<number>((r) => (resolveReached = r));
  await cons.connect();
  await cons.subscribe({ topic: c.positionsTopic, fromBeginning: true });
  await cons.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const now = performance.now();
      if (message.key?.toString() !== c.name || message.value === null) return;
      const p = JSON.parse(message.value.toString()) as StoredPosition;
      if (p.phase === 'stream' && p.batchId > 0 && comparePoints(p, target) >= 0) resolveReached(now);
    },
  });
  return { reached, stop: () => cons.disconnect() };
}

/** Reads a topic from the start (read_committed) until `rows` rows arrived or nothing came for idleMs. */
async function countTopic(topic: string, rows: number, idleMs = 5000): Promise<{ rows: number; messages: number; valueBytes: number; keyBytes: number; seconds: number }> {
  const cons = consumer('bench_count');
  const got = { rows: 0, messages: 0, valueBytes: 0, keyBytes: 0, seconds: 0 };
  const started = performance.now();
  let last = performance.now();
  await cons.connect();
  await cons.subscribe({ topic, fromBeginning: true });
  await cons.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        got.messages += 1;
        got.keyBytes += m.key?.length ?? 0;
        const value = m.value;
        if (value === null) continue;
        got.valueBytes += value.length;
        if (m.key !== null && m.key.length > 0) got.rows += 1; // keyed: one row per message
        else got.rows += (JSON.parse(value.toString()) as { data: unknown[] | null }).data?.length ?? 0;
      }
      last = performance.now();
    },
  });
  while (got.rows < rows && performance.now() - last < idleMs) await sleep(50);
  got.seconds = (performance.now() - started) / 1000;
  await cons.disconnect();
  return got;
}

interface BacklogResult {
  keyByPk: boolean;
  rows: number;
  messages: number;
  jsonBytes: number;
  spawnToDone: number;
  streamToDone: number;
  spawnToStream: number;
  /** CPU seconds of the CDC process from spawn to done, and of the machine meanwhile */
  cdcCpu: number;
  cdcCpuAtStream: number;
  machineCpu: number;
  mariadbCpu: number;
  kafkaCpu: number;
  benchCpu: number;
  txns: string;
  complete: boolean;
}

async function backlogRun(keyByPk: boolean, start: BinlogPoint & { gtid: string }, end: BinlogPoint): Promise<BacklogResult> {
  const c = await createConnector(keyByPk ? 'pk' : 'multi', { CDC_KEY_BY_PK: String(keyByPk) });
  await writeInitialPosition(c, start);
  const watch = await watchPositions(c, end);
  const spawned = performance.now();
  const busyBefore = machineBusySeconds();
  const services = servicePids();
  const mariadbBefore = cpuOf(services.mariadb ?? []);
  const kafkaBefore = cpuOf(services.kafka ?? []);
  const selfBefore = process.cpuUsage();
  const child = spawnConnector(c, PROFILE_DIR);
  let cpuAtStream = Number.NaN;
  void child.streamingAt.then(() => {
    cpuAtStream = cpuSeconds(child.proc.pid);
  });
  const outcome = await Promise.race([
    watch.reached.then((t) => ({ kind: 'done' as const, t })),
    child.exited.then((code) => ({ kind: 'exited' as const, code })),
    sleep(120_000).then(() => ({ kind: 'timeout' as const })),
  ]);
  const cdcCpu = cpuSeconds(child.proc.pid);
  const txns = await transactionStats(c.env.METRICS_PORT);
  const machineCpu = machineBusySeconds() - busyBefore;
  const mariadbCpu = cpuOf(services.mariadb ?? []) - mariadbBefore;
  const kafkaCpu = cpuOf(services.kafka ?? []) - kafkaBefore;
  const self = process.cpuUsage(selfBefore);
  const benchCpu = (self.user + self.system) / 1e6;
  const streamingAt = await Promise.race([child.streamingAt, sleep(10).then(() => Number.NaN)]);
  await stopChild(child);
  await watch.stop();
  if (outcome.kind !== 'done') {
    throw new Error(`CDC (CDC_KEY_BY_PK=${keyByPk}) ${outcome.kind === 'exited' ? `exited with ${outcome.code}` : 'did not catch up within 120 s'}:\n${child.stderr()}`);
  }
  const counted = await countTopic(c.topic, ROWS);
  return {
    keyByPk,
    rows: counted.rows,
    messages: counted.messages,
    jsonBytes: counted.valueBytes,
    spawnToDone: (outcome.t - spawned) / 1000,
    streamToDone: (outcome.t - streamingAt) / 1000,
    spawnToStream: (streamingAt - spawned) / 1000,
    cdcCpu,
    cdcCpuAtStream: cpuAtStream,
    machineCpu,
    mariadbCpu,
    kafkaCpu,
    benchCpu,
    txns,
    complete: counted.rows === ROWS,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

async function latencyRun(): Promise<void> {
  const c = await createConnector('lat', {});
  const firstId = 10_000_000;
  const batches = Math.round((LATENCY_SECONDS * 1000) / LATENCY_EVERY_MS);
  const total = batches * LATENCY_BATCH;
  const ack = new Float64Array(batches).fill(Number.NaN);
  const received = new Float64Array(total).fill(Number.NaN);
  /** receive wall time − the row's `created` (NOW(3) at statement start on the server) */
  const fromStatement: number[] = [];
  /** the message's ts (when the connector built it) per row, wall clock ms */
  const builtAt = new Float64Array(total).fill(Number.NaN);
  const receivedWall = new Float64Array(total).fill(Number.NaN);
  /** performance.now() − Date.now(): converts the connector's wall-clock ts to this process's clock */
  const clockOffset = performance.now() - Date.now();
  let warmupSeen = false;
  let receivedRows = 0;

  const cons = consumer('bench_lat');
  await cons.connect();
  await cons.subscribe({ topic: c.topic, fromBeginning: true });
  await cons.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      const wall = Date.now();
      for (const m of batch.messages) {
        if (m.value === null) continue;
        const msg = JSON.parse(m.value.toString()) as { ts: number; data: Array<{ id: string; created: string }> | null };
        for (const row of msg.data ?? []) {
          const id = Number(row.id);
          if (id < firstId) {
            warmupSeen = true;
            continue;
          }
          const i = id - firstId;
          if (i < total && Number.isNaN(received[i])) {
            received[i] = now;
            receivedWall[i] = wall;
            builtAt[i] = msg.ts;
            receivedRows += 1;
            fromStatement.push(wall - Date.parse(`${row.created.replace(' ', 'T')}Z`));
          }
        }
      }
    },
  });

  const child = spawnConnector(c, undefined);
  const conns = [await appDb(), await appDb()];
  try {
    const streaming = await Promise.race([child.streamingAt, child.exited.then(() => -1), sleep(60_000).then(() => -2)]);
    if (streaming < 0) throw new Error(`latency CDC did not start:\n${child.stderr()}`);
    // Caught up: a warm-up row made the round trip.
    await (conns[0] as mysql.Connection).query(`INSERT INTO \`${table}\` (id, user_id, amount, status, created, note) VALUES (9999999, 0, 0, 'new', NOW(3), 'warmup')`);
    const deadline = performance.now() + 30_000;
    while (!warmupSeen && performance.now() < deadline) await sleep(20);
    if (!warmupSeen) throw new Error('latency CDC: the warm-up row never arrived');

    let next = 0;
    const t0 = performance.now() + 50;
    await Promise.all(
      conns.map(async (conn) => {
        for (;;) {
          const k = next++;
          if (k >= batches) return;
          const wait = t0 + k * LATENCY_EVERY_MS - performance.now();
          if (wait > 0) await sleep(wait);
          await conn.query(insertSql(firstId + k * LATENCY_BATCH, LATENCY_BATCH, true));
          ack[k] = performance.now();
        }
      }),
    );
    const insertSeconds = (Math.max(...ack) - t0) / 1000;
    const waitUntil = performance.now() + 15_000;
    while (receivedRows < total && performance.now() < waitUntil) await sleep(20);

    const latencies: number[] = [];
    let early = 0;
    for (let i = 0; i < total; i++) {
      const r = received[i] as number;
      if (Number.isNaN(r)) continue;
      const l = r - (ack[Math.floor(i / LATENCY_BATCH)] as number);
      if (l < 0) early += 1;
      latencies.push(l);
    }
    const toBuild: number[] = [];
    const buildToConsumer: number[] = [];
    for (let i = 0; i < total; i++) {
      const b = builtAt[i] as number;
      if (Number.isNaN(b)) continue;
      toBuild.push(b + clockOffset - (ack[Math.floor(i / LATENCY_BATCH)] as number));
      buildToConsumer.push((receivedWall[i] as number) - b);
    }
    if (LATENCY_TRACE !== undefined) {
      // Per INSERT: when it was acknowledged (ms from the first) and its rows' worst latency parts.
      const lines: string[] = [];
      for (let k = 0; k < batches; k++) {
        let worst = Number.NaN;
        let built = Number.NaN;
        for (let i = k * LATENCY_BATCH; i < (k + 1) * LATENCY_BATCH; i++) {
          const l = (received[i] as number) - (ack[k] as number);
          if (!(l <= worst)) worst = l;
          const b = (builtAt[i] as number) + clockOffset - (ack[k] as number);
          if (!(b <= built)) built = b;
        }
        lines.push(JSON.stringify({ k, at: Math.round((ack[k] as number) - t0), worst: Math.round(worst), toBuild: Math.round(built) }));
      }
      writeFileSync(LATENCY_TRACE, `${lines.join('\n')}\n`);
    }
    toBuild.sort((a, b) => a - b);
    buildToConsumer.sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    fromStatement.sort((a, b) => a - b);
    console.log('');
    console.log(`steady-state latency (CDC_KEY_BY_PK=true, ${LATENCY_BATCH}-row autocommit INSERTs every ${LATENCY_EVERY_MS} ms, 2 connections, ${LATENCY_SECONDS} s)`);
    console.log(`  achieved insert rate     ${fmt(total / insertSeconds)} rows/s (${fmt(total)} rows in ${insertSeconds.toFixed(1)} s; target ${fmt((LATENCY_BATCH * 1000) / LATENCY_EVERY_MS)})`);
    console.log(`  rows received            ${fmt(receivedRows)} of ${fmt(total)}`);
    console.log(
      `  commit-ack → consumer    p50 ${percentile(latencies, 50).toFixed(1)} ms  p95 ${percentile(latencies, 95).toFixed(1)} ms  p99 ${percentile(latencies, 99).toFixed(1)} ms  max ${(latencies.at(-1) ?? Number.NaN).toFixed(1)} ms` +
        (early > 0 ? `  (${fmt(early)} rows arrived before their commit ack)` : ''),
    );
    console.log(
      `    of which ack → encoded (binlog read + queue in the connector)  p50 ${percentile(toBuild, 50).toFixed(0)} ms  p99 ${percentile(toBuild, 99).toFixed(0)} ms;  ` +
        `encoded → consumer (Kafka transaction + fetch)  p50 ${percentile(buildToConsumer, 50).toFixed(0)} ms  p99 ${percentile(buildToConsumer, 99).toFixed(0)} ms`,
    );
    console.log(`  connector                ${await transactionStats(c.env.METRICS_PORT)}`);
    console.log(
      `  statement start → consumer  p50 ${percentile(fromStatement, 50).toFixed(0)} ms  p99 ${percentile(fromStatement, 99).toFixed(0)} ms  max ${(fromStatement.at(-1) ?? Number.NaN).toFixed(0)} ms  (created = NOW(3); ms resolution)`,
    );
  } finally {
    await Promise.all(conns.map((conn) => conn.end().catch(() => undefined)));
    await stopChild(child);
    await cons.disconnect().catch(() => undefined);
  }
}

async function cleanup(): Promise<void> {
  for (const child of [...children]) child.kill('SIGKILL');
  const conn = await appDb().catch(() => undefined);
  await conn?.query(`DROP TABLE IF EXISTS \`${table}\``).catch((e: unknown) => console.error(`cleanup: drop table: ${String(e)}`));
  await conn?.end().catch(() => undefined);
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = createdTopics.filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    if (createdGroups.length > 0) await admin.deleteGroups(createdGroups).catch(() => undefined);
  } catch (e) {
    console.error(`cleanup: kafka: ${String(e)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const cores = cpus().length;
  console.log(`rtdw cdc benchmark — ${cores} cores shared by MariaDB, Kafka, the CDC child process and this load generator/consumer`);
  console.log(`table ${database}.${table}; Kafka ${config.kafka.brokers.join(',')}; acks=all, Kafka transactions (exactly-once)`);

  const app = await appDb();
  await app.query(
    `CREATE TABLE \`${table}\` (id BIGINT PRIMARY KEY, user_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL, status VARCHAR(16) NOT NULL, created DATETIME(3) NOT NULL, note VARCHAR(64)) ENGINE=InnoDB`,
  );
  await app.end();

  const cdcConn = await cdcDb();
  const start = await masterStatus(cdcConn);
  const loadSeconds = await loadBacklog();
  const end = await masterStatus(cdcConn);
  const bytes = await binlogBytes(cdcConn, start, end);
  await cdcConn.end();
  console.log('');
  console.log(`backlog: ${fmt(ROWS)} rows in ${Math.ceil(ROWS / (ROWS_PER_INSERT * INSERTS_PER_TXN))} transactions of ${INSERTS_PER_TXN} × ${ROWS_PER_INSERT}-row INSERTs`);
  console.log(`  loaded in ${loadSeconds.toFixed(1)} s (${fmt(ROWS / loadSeconds)} rows/s); binlog ${mb(bytes)} MB (${(bytes / ROWS).toFixed(0)} B/row), gtid ${start.gtid} → ${end.gtid}`);

  const results: BacklogResult[] = [];
  for (const keyByPk of MODES) {
    const r = await backlogRun(keyByPk, start, end);
    results.push(r);
    console.log('');
    console.log(`backlog CDC_KEY_BY_PK=${keyByPk}${keyByPk ? ' (default: one keyed message per row)' : " (Canal's multi-row messages)"}`);
    console.log(`  spawn → all committed    ${r.spawnToDone.toFixed(2)} s: ${fmt(ROWS / r.spawnToDone)} rows/s, binlog ${(bytes / 1024 / 1024 / r.spawnToDone).toFixed(1)} MB/s, Canal JSON ${(r.jsonBytes / 1024 / 1024 / r.spawnToDone).toFixed(1)} MB/s`);
    console.log(`  streaming → committed    ${r.streamToDone.toFixed(2)} s: ${fmt(ROWS / r.streamToDone)} rows/s, binlog ${(bytes / 1024 / 1024 / r.streamToDone).toFixed(1)} MB/s, Canal JSON ${(r.jsonBytes / 1024 / 1024 / r.streamToDone).toFixed(1)} MB/s   (after ${r.spawnToStream.toFixed(2)} s of process start + preflight + position load)`);
    const streamCpu = r.cdcCpu - r.cdcCpuAtStream;
    console.log(`  CDC process CPU          ${r.cdcCpu.toFixed(1)} s (${streamCpu.toFixed(1)} s while streaming: ${fmt(ROWS / streamCpu)} rows per CPU-second)`);
    const other = r.machineCpu - r.cdcCpu - r.mariadbCpu - r.kafkaCpu - r.benchCpu;
    console.log(
      `  machine CPU meanwhile    ${r.machineCpu.toFixed(1)} s of ${(r.spawnToDone * cores).toFixed(1)} (${((r.machineCpu / r.spawnToDone / cores) * 100).toFixed(0)}% of ${cores} cores): ` +
        `cdc ${r.cdcCpu.toFixed(1)}, kafka ${r.kafkaCpu.toFixed(1)}, mariadb ${r.mariadbCpu.toFixed(1)}, this bench ${r.benchCpu.toFixed(1)}, other ${other.toFixed(1)}`,
    );
    console.log(`  connector                ${r.txns}`);
    console.log(`  published                ${fmt(r.rows)} rows in ${fmt(r.messages)} messages, ${mb(r.jsonBytes)} MB of JSON (${(r.jsonBytes / Math.max(1, r.rows)).toFixed(0)} B/row)${r.complete ? '' : `  INCOMPLETE: expected ${fmt(ROWS)}`}`);
  }

  if (process.env.BENCH_CDC_SKIP_LATENCY !== '1') await latencyRun();

  const byDefault = results.find((r) => r.keyByPk);
  await cleanOnce();
  console.log('');
  console.log(`(bench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s)`);
  console.log(`cdc rows/s: ${byDefault === undefined ? 0 : Math.round(ROWS / byDefault.streamToDone)}`);
}

let cleaning: Promise<void> | undefined;
const cleanOnce = (): Promise<void> => (cleaning ??= cleanup());
process.once('SIGINT', () => {
  void cleanOnce().finally(() => process.exit(130));
});

const benchStarted = performance.now();
main()
  .catch((err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanOnce();
    process.exit();
  });

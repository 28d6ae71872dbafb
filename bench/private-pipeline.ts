/**
 * The pipelines of bench/pipeline.ts: a namespace, MySQL database and ClickHouse database of their
 * own, `rtdw setup`, `rtdw run` and `rtdw generate` as child processes, the CDC's committed position,
 * and the cleanup that removes it all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import type { Admin } from 'kafkajs';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from '../connectors/kafka/kafkajs.js';
import { createClickHouse, quoteIdentifier, type ClickHouseClient } from '../connectors/clickhouse/client.js';
import { PART_NAMES } from '../jobs/pipeline/parts.js';
import { watchedStages } from '../jobs/pipeline/run.js';
import type { WatchedStage } from '../jobs/pipeline/progress.js';
import { loadConfig, repoRoot, type RtdwConfig } from '../schemas/config.js';
import { cpuSeconds } from './pipeline-probes.js';

const base = loadConfig();
export const kafka = new Kafka({ clientId: 'rtdw-bench-pipeline', brokers: base.kafka.brokers, logLevel: logLevel.NOTHING });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Child {
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** the last CPU seconds read while it ran (its /proc entry goes when it is reaped) */
  cpu: () => number;
  stdout: () => string;
  errors: () => string;
}

function spawnRtdw(args: string[], env: Record<string, string>, log: string | undefined, onLine?: (line: string) => void): Child {
  const proc = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (log !== undefined) {
    const file = createWriteStream(log);
    proc.stdout?.pipe(file);
    proc.stderr?.pipe(file);
  }
  let out = '';
  let pending = '';
  let errors = '';
  let cpu = 0;
  const sampleCpu = (): void => {
    const now = cpuSeconds(proc.pid);
    if (Number.isFinite(now)) cpu = now;
  };
  const ticker = setInterval(sampleCpu, 500);
  proc.stdout?.on('data', (d: Buffer) => {
    sampleCpu();
    const text = d.toString();
    out += text;
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (/"level":(50|60)/.test(line)) errors = (errors + line + '\n').slice(-8000);
      onLine?.(line);
    }
    if (onLine === undefined) pending = '';
  });
  proc.stderr?.on('data', (d: Buffer) => {
    sampleCpu();
    errors = (errors + d.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      clearInterval(ticker);
      resolve(code);
    }),
  );
  return { proc, exited, cpu: () => (sampleCpu(), cpu), stdout: () => out, errors: () => errors };
}

/** A namespace, MySQL database and ClickHouse database of its own, and the `rtdw run` over them. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

export class PrivatePipeline {
  readonly ns: string;
  readonly env: Record<string, string>;
  readonly config: RtdwConfig;
  readonly stages: WatchedStage[];
  run: Child | undefined;
  /** `rtdw run`'s METRICS_PORT */
  metricsPort: number | undefined;

  constructor(readonly phase: string, runId: string, private readonly childLog: string | undefined) {
    this.ns = `bench_pipe_${runId}_${phase}`;
    this.env = {
      RTDW_NAMESPACE: this.ns,
      MYSQL_DATABASE: this.ns,
      RTDW_TIMEZONE: 'UTC',
      CDC_SERVER_ID: String(randomInt(10_000, 4_000_000)),
      // Database DDL of any database (CREATE/DROP DATABASE: other people's tests) passes Canal's table
      // filter and would land in ods_binlog at any moment, moving the offsets the drain check watches.
      // The bench runs no DDL of its own, so dropping DDL messages from the data topic changes nothing else.
      CDC_FILTER_DDL: 'true',
    };
    this.config = loadConfig({ ...process.env, ...this.env });
    this.stages = watchedStages(this.config);
  }

  private log(child: string): string | undefined {
    return this.childLog === undefined ? undefined : `${this.childLog}.${this.phase}.${child}.log`;
  }

  async setup(): Promise<void> {
    const admin = await adminDb();
    try {
      await admin.query(`CREATE DATABASE \`${this.ns}\` CHARACTER SET utf8mb4`);
      for (const host of ['127.0.0.1', 'localhost']) await admin.query(`GRANT ALL PRIVILEGES ON \`${this.ns}\`.* TO ?@?`, [base.mysql.app.user, host]);
    } finally {
      await admin.end();
    }
    const setup = spawnRtdw(['bin/rtdw.mjs', 'setup'], { ...this.env, LOG_LEVEL: 'warn' }, this.log('setup'));
    if ((await setup.exited) !== 0) throw new Error(`rtdw setup failed:\n${setup.errors()}`);
  }

  /** Starts `rtdw run` with every part; resolves once each part logged that it runs. */
  async start(profileDir?: string): Promise<void> {
    const parts = new Set<string>();
    let ready: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (ready = resolve));
    const flags = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
    this.metricsPort = await freePort();
    this.run = spawnRtdw([...flags, 'bin/rtdw.mjs', 'run'], { ...this.env, LOG_LEVEL: 'info', METRICS_PORT: String(this.metricsPort) }, this.log('run'), (line) => {
      const part = /"part":"(\w+)".*"msg":"part running"/.exec(line)?.[1];
      if (part !== undefined && parts.add(part).size === PART_NAMES.length) ready();
    });
    const outcome = await Promise.race([running.then(() => 'ok'), this.run.exited.then((c) => `exited with ${c}`), sleep(120_000).then(() => 'not running after 120 s')]);
    if (outcome !== 'ok') throw new Error(`rtdw run ${outcome}:\n${this.run.errors()}`);
  }

  /** SIGTERM: a clean stop (and the profile written); SIGKILL after 60 s. */
  async stop(): Promise<void> {
    const run = this.run;
    if (run === undefined || run.proc.exitCode !== null || run.proc.signalCode !== null) return;
    run.proc.kill('SIGTERM');
    if ((await Promise.race([run.exited.then(() => 'exited'), sleep(60_000).then(() => 'timeout')])) === 'timeout') {
      console.log(`  (rtdw run did not stop within 60 s of SIGTERM; killed)`);
      run.proc.kill('SIGKILL');
      await run.exited;
    }
  }

  generate(args: string[]): Child {
    return spawnRtdw(['bin/rtdw.mjs', 'generate', '--seed', '7', '--diurnal', '0', '--json', ...args], { ...this.env, LOG_LEVEL: 'warn' }, this.log('generate'));
  }

  clickhouse(): ClickHouseClient {
    const { url, user, password, database } = this.config.clickhouse;
    return createClickHouse({ url, user, password, database });
  }

  async cleanup(): Promise<void> {
    this.run?.proc.kill('SIGKILL');
    const admin = await adminDb().catch(() => undefined);
    await admin?.query(`DROP DATABASE IF EXISTS \`${this.ns}\``).catch((e: unknown) => console.error(`cleanup: drop database: ${String(e)}`));
    for (const host of ['127.0.0.1', 'localhost']) await admin?.query(`REVOKE ALL PRIVILEGES ON \`${this.ns}\`.* FROM ?@?`, [base.mysql.app.user, host]).catch(() => undefined);
    await admin?.end().catch(() => undefined);
    const ch = createClickHouse(base.clickhouse);
    await ch.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(this.ns)}` }).catch((e: unknown) => console.error(`cleanup: clickhouse: ${String(e)}`));
    await ch.close();
    await withAdmin(async (a) => {
      const topics = (await a.listTopics()).filter((t) => t.startsWith(`${this.ns}.`) || t.startsWith(`${this.ns}-`));
      if (topics.length > 0) await a.deleteTopics({ topics, timeout: 30_000 });
      const groups = (await a.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(this.ns));
      if (groups.length > 0) await a.deleteGroups(groups).catch(() => undefined);
    }).catch((e: unknown) => console.error(`cleanup: kafka: ${String(e)}`));
  }
}

async function adminDb(): Promise<mysql.Connection> {
  const { host, port, admin } = base.mysql;
  return mysql.createConnection({ host, port, user: admin.user, password: admin.password });
}

export async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

export interface BinlogPoint {
  file: string;
  pos: number;
}

export const comparePoints = (a: BinlogPoint, b: BinlogPoint): number => (a.file === b.file ? a.pos - b.pos : a.file < b.file ? -1 : 1);

export async function binlogEnd(): Promise<BinlogPoint> {
  const { host, port, user, password } = base.mysql;
  const conn = await mysql.createConnection({ host, port, user, password });
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    return { file: String(rows[0]?.File), pos: Number(rows[0]?.Position) };
  } finally {
    await conn.end();
  }
}

/** The CDC's last committed position, followed on its positions topic (read_committed). */
export async function followCdcPosition(p: PrivatePipeline): Promise<{ latest: () => BinlogPoint | undefined; stop: () => Promise<void> }> {
  let latest: BinlogPoint | undefined;
  const consumer = kafka.consumer({ groupId: `${p.ns}-bench-positions`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: `${p.ns}.cdc_positions`, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      if (message.key?.toString() !== `${p.ns}-cdc` || message.value === null) return;
      const position = JSON.parse(message.value.toString()) as BinlogPoint & { phase: string };
      if (position.phase === 'stream') latest = { file: position.file, pos: position.pos };
    },
  });
  return { latest: () => latest, stop: () => consumer.disconnect() };
}

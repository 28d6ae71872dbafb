/**
 * `npm run chaos`: the pipeline under steady generated load on a stack of its own (own data dir and
 * ports, beside the developer's), with faults injected at random moments, then reconciled:
 *
 *   - kill -9 of the CDC reader and of every `rtdw run --jobs <part>` process (CHAOS_KILLS each),
 *     each restarted;
 *   - Kafka, Redis, ClickHouse and MySQL each stopped for CHAOS_OUTAGE_MIN_S..CHAOS_OUTAGE_MAX_S
 *     (`rtdw stack stop|start`), one after the other;
 *   - CHAOS_FUZZ fuzzed messages into the input topics (fuzz.ts), which must all be dead-lettered;
 *
 * then the load stops, the pipeline catches up, and `rtdw reconcile` (and `--json`) judges the
 * warehouse. Prints what was injected, the recovery per outage, the dead letters and the result;
 * exits 1 on a reconcile mismatch, a fuzzed message without its dead letter or a pipeline process
 * that died on its own, 2 when the run could not be carried out.
 *
 * Settings: CHAOS_MINUTES (5) of load, CHAOS_KILLS (10), CHAOS_OUTAGE_MIN_S (30), CHAOS_OUTAGE_MAX_S
 * (60), CHAOS_FUZZ (10000), CHAOS_RATE (100 generated rows+events/s), CHAOS_SEED, CHAOS_KEEP=1 keeps
 * the stack and logs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { Admin } from 'kafkajs';
import { PART_NAMES } from '../../jobs/pipeline/parts.js';
import { repoRoot } from '../../schemas/config.js';
import { privateStack, type PrivateStack } from '../support/private-stack.js';
import { fuzzMessages, markersIn, rng, type FuzzKind, type FuzzMessage } from './fuzz.js';
import { Supervised } from './processes.js';
import { scanLogs, type OutageLine } from './logs.js';
import { probeClickHouse, probeKafka, probeMysql, probeRedis } from '../../connectors/observability/probes.js';

const run = promisify(execFile);
const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};

const settings = {
  minutes: num('CHAOS_MINUTES', 5),
  kills: num('CHAOS_KILLS', 10),
  outageMinS: num('CHAOS_OUTAGE_MIN_S', 30),
  outageMaxS: num('CHAOS_OUTAGE_MAX_S', 60),
  fuzz: num('CHAOS_FUZZ', 10_000),
  rate: num('CHAOS_RATE', 100),
  seed: num('CHAOS_SEED', Date.now() % 2 ** 32),
  keep: process.env.CHAOS_KEEP === '1',
};
const NAMESPACE = 'chaos';
const SERVICES = ['kafka', 'redis', 'clickhouse', 'mysql'] as const;
type Service = (typeof SERVICES)[number];
const WARMUP_MS = 30_000;
const OUTAGE_GAP_MS = 20_000;
const CATCH_UP_TIMEOUT_MS = 10 * 60_000;

const say = (line: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} chaos: ${line}\n`);
};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface OutageResult {
  service: Service;
  stoppedAt: number;
  returnedAt: number;
  /** when the service first answered a probe of the run's own after the start began (`stack start` may take longer to be satisfied) */
  answeredAt: number;
  downMs: number;
  /** per process part: its outage lines for this service */
  lines: OutageLine[];
  /** from the return until the consumer groups' lag was back to what it was before the stop */
  lagRecoveredMs: number | undefined;
}

function kafkaAdmin(stack: PrivateStack): { kafka: Kafka; admin: () => Promise<Admin> } {
  const kafka = new Kafka({ clientId: 'chaos', brokers: stack.config.kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  return {
    kafka,
    admin: async () => {
      const admin = kafka.admin();
      await admin.connect();
      return admin;
    },
  };
}

/** The namespace's consumer groups whose lag is largest, for the progress lines. */
let lagByGroup = new Map<string, number>();

/** Sum over the namespace's consumer groups of (end offset - committed offset); undefined while Kafka is away. */
async function totalLag(connect: () => Promise<Admin>): Promise<number | undefined> {
  let admin: Admin | undefined;
  try {
    admin = await connect();
    const { groups } = await admin.listGroups();
    let lag = 0;
    const byGroup = new Map<string, number>();
    const ends = new Map<string, Map<number, bigint>>();
    for (const { groupId } of groups.filter((g) => g.groupId.includes(NAMESPACE))) {
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
        let end = ends.get(topic);
        if (end === undefined) {
          end = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
          ends.set(topic, end);
        }
        for (const p of partitions) {
          const committed = BigInt(p.offset) < 0n ? 0n : BigInt(p.offset);
          const high = end.get(p.partition) ?? 0n;
          if (high > committed) {
            lag += Number(high - committed);
            byGroup.set(groupId, (byGroup.get(groupId) ?? 0) + Number(high - committed));
          }
        }
      }
    }
    lagByGroup = byGroup;
    return lag;
  } catch {
    return undefined;
  } finally {
    await admin?.disconnect().catch(() => undefined);
  }
}

async function sendFuzz(kafka: Kafka, messages: FuzzMessage[]): Promise<void> {
  for (;;) {
    // A fresh producer per attempt: an idempotent one reused across a broker restart is refused
    // (OutOfOrderSequence). A burst sent again after a partial failure repeats some messages: their
    // markers are counted once.
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    try {
      await producer.connect();
      for (const input of ['binlog', 'events'] as const) {
        const topic = `${NAMESPACE}.${input === 'binlog' ? 'ods_binlog' : 'ods_events'}`;
        const own = messages.filter((m) => m.input === input);
        for (let i = 0; i < own.length; i += 200) {
          await producer.send({ topic, acks: -1, messages: own.slice(i, i + 200).map((m) => ({ key: m.key, value: m.value })) });
        }
      }
      await producer.disconnect();
      return;
    } catch (err) {
      // Kafka may be in its outage: the burst goes once it is back.
      say(`fuzz burst waits for Kafka (${(err as Error).message})`);
      await producer.disconnect().catch(() => undefined);
      await sleep(5000);
    }
  }
}

/** Every dead letter of the namespace, scanned for fuzz markers: marker → reasons. */
async function deadLettered(kafka: Kafka, tag: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const admin = kafka.admin();
  await admin.connect();
  const topics = ['dead_letter', 'cdc_dead_letter'].map((t) => `${NAMESPACE}.${t}`);
  const ends = new Map<string, bigint>();
  for (const topic of topics) for (const o of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${o.partition}`, BigInt(o.high));
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `chaos-reader-${Date.now()}`, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 32 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([k]) => k));
  await new Promise<void>((resolve, reject) => {
    if (remaining.size === 0) resolve();
    const timer = setTimeout(() => reject(new Error(`reading the dead letters timed out; ${remaining.size} partition(s) unread`)), 300_000);
    void consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            let reason = '?';
            try {
              reason = String((JSON.parse(m.value?.toString() ?? '{}') as { reason?: unknown }).reason ?? '?');
            } catch {
              // a dead letter that is not JSON: its markers are still counted below (none will be found)
            }
            for (const marker of markersIn(m.value, tag)) found.set(marker, [...(found.get(marker) ?? []), reason]);
          }
          const key = `${batch.topic}/${batch.partition}`;
          if (BigInt(batch.lastOffset()) + 1n >= (ends.get(key) ?? 0n)) remaining.delete(key);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return found;
}

function worstGroups(): string {
  return [...lagByGroup].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([g, n]) => `${g} ${n}`).join(', ');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const random = rng(settings.seed);
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);
  say(`seed ${settings.seed}; ${settings.minutes} min of load at ${settings.rate}/s, ${settings.kills} kills per process, outages ${settings.outageMinS}-${settings.outageMaxS} s, ${settings.fuzz} fuzzed messages`);
  const stack = await privateStack('rtdw-chaos-');
  const logs = join(stack.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  say(`private stack in ${stack.dir}: mysql ${stack.ports.mysql}, kafka ${stack.ports.kafka} (controller ${stack.ports.controller}), redis ${stack.ports.redis}, clickhouse ${stack.ports.clickhouse}`);
  const env: Record<string, string> = { ...stack.env, RTDW_NAMESPACE: NAMESPACE, LOG_LEVEL: 'info' };
  for (const k of Object.keys(env)) if (k.startsWith('CDC_') || k === 'CLICKHOUSE_DATABASE' || k === 'RTDW_REDIS_GROUP') delete env[k];
  const processes: Supervised[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const p of processes) await p.stop(10_000).catch(() => undefined);
    if (settings.keep) say(`kept: ${stack.dir} (stack still up: RTDW_DATA_DIR=${stack.env.RTDW_DATA_DIR} rtdw stack down)`);
    else await stack.destroy();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping the processes and the private stack`);
      void cleanUp().then(() => process.exit(130));
    });
  }
  try {
    await stack.stack('up');
    await run(process.execPath, ['bin/rtdw.mjs', 'setup'], { cwd: repoRoot, env, maxBuffer: 16 * 1024 * 1024 });
    say('stack up, setup done');
    const runStartedAt = Date.now();

    let generatorStarts = 0;
    const generator = new Supervised('generate', () => ['generate', '--rate', String(settings.rate), '--seed', String((settings.seed + generatorStarts++) % 2 ** 32), '--speed', 'realtime'], env, Supervised.logFileIn(logs, 'generate'), 5000);
    const parts = PART_NAMES.map((part) => new Supervised(part, () => ['run', '--jobs', part], env, Supervised.logFileIn(logs, `run-${part}`), 2000));
    processes.push(generator, ...parts);
    for (const p of parts) p.start();
    generator.start();

    // The timeline: warm-up, then the outages one after another with gaps; kills and fuzz bursts at random moments over the whole load.
    const order = [...SERVICES].sort(() => random() - 0.5);
    const outagePlan = order.map((service) => ({ service, downMs: Math.round(between(settings.outageMinS, settings.outageMaxS) * 1000) }));
    const outagesMs = outagePlan.reduce((n, o) => n + o.downMs + OUTAGE_GAP_MS, 0);
    const loadMs = Math.max(settings.minutes * 60_000, WARMUP_MS + outagesMs);
    const loadEnd = runStartedAt + loadMs;
    const killPlan = parts.flatMap((p) => Array.from({ length: settings.kills }, () => ({ process: p, at: runStartedAt + between(WARMUP_MS / 2, loadMs - 10_000) }))).sort((a, b) => a.at - b.at);
    const bursts = 10;
    const fuzz = fuzzMessages(settings.fuzz, { tag: `fz${settings.seed}`, database: stack.config.mysql.database, seed: settings.seed, streamTime: runStartedAt });
    const fuzzPlan = Array.from({ length: bursts }, (_, i) => ({ at: runStartedAt + between(WARMUP_MS, loadMs - 10_000), messages: fuzz.slice(Math.floor((i * fuzz.length) / bursts), Math.floor(((i + 1) * fuzz.length) / bursts)) })).sort((a, b) => a.at - b.at);
    say(`load for ${Math.round(loadMs / 1000)} s; outages in order ${outagePlan.map((o) => `${o.service} ${Math.round(o.downMs / 1000)} s`).join(', ')}`);

    const { kafka, admin } = kafkaAdmin(stack);
    const outages: OutageResult[] = [];
    const outageTask = (async () => {
      await sleep(WARMUP_MS);
      for (const { service, downMs } of outagePlan) {
        const baseline = await totalLag(admin);
        const stoppedAt = Date.now();
        await stack.stack('stop', service);
        say(`${service} stopped for ${Math.round(downMs / 1000)} s (consumer lag before: ${baseline ?? '?'}: ${worstGroups()})`);
        await sleep(downMs);
        let answeredAt = 0;
        const starting = stack.stack('start', service);
        void (async () => {
          while (answeredAt === 0) {
            const ok = await answers(stack, service);
            if (ok) answeredAt = Date.now();
            else await sleep(250);
          }
        })();
        await starting;
        const returnedAt = Date.now();
        while (answeredAt === 0) await sleep(50);
        say(`${service} back after ${Math.round((returnedAt - stoppedAt) / 1000)} s`);
        let lagRecoveredMs: number | undefined;
        const deadline = returnedAt + OUTAGE_GAP_MS;
        while (Date.now() < deadline) {
          const lag = await totalLag(admin);
          // Back to the level before the stop (some lag is always in flight under load).
          if (lag !== undefined && baseline !== undefined && lag <= Math.max(baseline * 1.5, baseline + 500)) {
            lagRecoveredMs = Date.now() - returnedAt;
            break;
          }
          await sleep(250);
        }
        outages.push({ service, stoppedAt, returnedAt, answeredAt, downMs: answeredAt - stoppedAt, lines: [], lagRecoveredMs });
        if (Date.now() < deadline) await sleep(deadline - Date.now());
      }
    })();
    const killTask = (async () => {
      for (const k of killPlan) {
        if (k.at > Date.now()) await sleep(k.at - Date.now());
        k.process.killHard();
      }
    })();
    const fuzzTask = (async () => {
      for (const b of fuzzPlan) {
        if (b.at > Date.now()) await sleep(b.at - Date.now());
        await sendFuzz(kafka, b.messages);
      }
      say(`${fuzz.length} fuzzed messages sent`);
    })();
    await Promise.all([outageTask, killTask, fuzzTask]);
    if (loadEnd > Date.now()) await sleep(loadEnd - Date.now());

    say('load ends: stopping the generator, waiting for the pipeline to catch up');
    await generator.stop();
    const loadStoppedAt = Date.now();
    let steady = 0;
    let lastLag: number | undefined;
    let lastSaid = Date.now();
    while (steady < 5) {
      if (Date.now() - loadStoppedAt > CATCH_UP_TIMEOUT_MS) throw new Error(`no catch-up within ${CATCH_UP_TIMEOUT_MS / 60_000} min (lag ${lastLag ?? '?'})`);
      const lag = await totalLag(admin);
      // Committed offsets may stop one short of a partition's end (its last transaction marker).
      steady = lag !== undefined && lag <= 64 && lag === lastLag ? steady + 1 : 0;
      if (Date.now() - lastSaid > 15_000) {
        lastSaid = Date.now();
        say(`catching up: lag ${lag ?? '?'} (${worstGroups()})`);
      }
      lastLag = lag;
      await sleep(2000);
    }
    const caughtUpMs = Date.now() - loadStoppedAt;
    say(`caught up ${Math.round(caughtUpMs / 1000)} s after the load stopped (lag ${lastLag})`);

    const from = new Date(runStartedAt - 10 * 60_000).toISOString();
    const reconcileArgs = ['reconcile', '--from', from, '--to', 'now', '--recheck-after', '10000'];
    const text = await run(process.execPath, ['bin/rtdw.mjs', ...reconcileArgs], { cwd: repoRoot, env, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 2, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
    const json = await run(process.execPath, ['bin/rtdw.mjs', ...reconcileArgs, '--json', '--no-history'], { cwd: repoRoot, env, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? 2, stdout: e.stdout ?? '' }),
    );

    const found = await deadLettered(kafka, `fz${settings.seed}`);
    for (const p of parts) await p.stop();
    const lines = scanLogs(processes.map((p) => ({ name: p.name, file: p.logFile })));
    for (const o of outages) o.lines = lines.filter((l) => l.service === o.service && l.at >= o.stoppedAt && (l.kind === 'begin' ? l.at <= o.answeredAt : l.at >= o.answeredAt - 1000 && l.at <= o.returnedAt + OUTAGE_GAP_MS));

    // ---- the summary ----
    const out: string[] = [];
    out.push('', `chaos run: seed ${settings.seed}, ${Math.round(loadMs / 1000)} s of load at ${settings.rate}/s, private stack ${stack.dir}`, '');
    out.push('faults injected');
    out.push(table(['fault', 'target', 'count', 'detail'], [
      ...parts.map((p) => ['kill -9', `rtdw run --jobs ${p.name}`, String(p.kills), `restarted each time; ${p.crashes.length} exit(s) not caused by the run`]),
      ...outages.map((o) => ['service stopped', o.service, '1', `${Math.round(o.downMs / 1000)} s down (rtdw stack stop/start)`]),
      ['fuzzed messages', `${NAMESPACE}.ods_binlog, ${NAMESPACE}.ods_events`, String(fuzz.length), kindsOf(fuzz)],
    ]));
    out.push('', 'recovery per outage (down: stop to the first answer; outage lines of the processes, resumed = their "available again" after that answer; lag: consumer groups back to their lag before the stop, after `stack start` returned)');
    out.push(table(['service', 'down', 'stack start took', 'lag recovered', 'process', 'logged begin', 'logged end', 'resumed after return'], outages.flatMap((o) => {
      const byPart = new Map<string, OutageLine[]>();
      for (const l of o.lines) byPart.set(l.process, [...(byPart.get(l.process) ?? []), l]);
      const head = [o.service, `${Math.round(o.downMs / 1000)} s`, `${Math.round((o.returnedAt - o.stoppedAt - o.downMs) / 1000)} s more`, o.lagRecoveredMs === undefined ? `not within ${OUTAGE_GAP_MS / 1000} s` : `${(o.lagRecoveredMs / 1000).toFixed(1)} s`];
      if (byPart.size === 0) return [[...head, '(none logged it)', '', '', '']];
      // Only the lines of this outage: begun after the stop, ended after the service answered again.
      return [...byPart].map(([process, ls], i) => {
        const end = ls.find((l) => l.kind === 'end');
        return [...(i === 0 ? head : ['', '', '', '']), process, String(ls.filter((l) => l.kind === 'begin').length), String(ls.filter((l) => l.kind === 'end').length), end === undefined ? 'never' : `${((end.at - o.answeredAt) / 1000).toFixed(1)} s`];
      });
    })));
    const missing = fuzz.filter((m) => !found.has(m.marker));
    const reasons = new Map<string, number>();
    for (const rs of found.values()) for (const r of rs) reasons.set(r.replace(/\d+/g, 'N').slice(0, 70), (reasons.get(r.replace(/\d+/g, 'N').slice(0, 70)) ?? 0) + 1);
    out.push('', `dead letters: ${found.size} of ${fuzz.length} fuzzed messages dead-lettered (${[...found.values()].reduce((n, r) => n + r.length, 0)} dead letters: one per consumer that refused it)`);
    if (missing.length > 0) out.push(`  MISSING: ${missing.length} fuzzed messages have no dead letter: ${kindsOf(missing)}`);
    out.push(table(['reason (digits as N)', 'dead letters'], [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([r, n]) => [r, String(n)])));
    const crashes = processes.flatMap((p) => p.crashes.map((c) => `${p.name} exited ${c.code ?? c.signal} at ${new Date(c.at).toISOString().slice(11, 19)}`));
    out.push('', `processes that died on their own: ${crashes.length === 0 ? 'none' : ''}`, ...crashes.map((c) => `  ${c}`));
    out.push('', `caught up ${Math.round(caughtUpMs / 1000)} s after the load stopped`, '', `rtdw ${reconcileArgs.join(' ')}  → exit ${text.code}`, text.stdout.trimEnd(), text.stderr.trim() === '' ? '' : text.stderr.trimEnd());
    out.push(`rtdw ${reconcileArgs.join(' ')} --json --no-history  → exit ${json.code}`, summariseJson(json.stdout));
    process.stdout.write(`${out.join('\n')}\n`);

    const pipelineCrashes = parts.reduce((n, p) => n + p.crashes.length, 0);
    const failed = text.code !== 0 || json.code !== 0 || missing.length > 0 || pipelineCrashes > 0;
    process.stdout.write(`\nchaos: ${failed ? 'FAILED' : 'passed'} (reconcile exit ${text.code}; ${missing.length} fuzzed messages without dead letter; ${pipelineCrashes} pipeline process exits not caused by the run)\n`);
    return text.code === 2 ? 2 : failed ? 1 : 0;
  } finally {
    await cleanUp();
  }
}

/** Whether the service answers a probe now. */
function answers(stack: PrivateStack, service: Service): Promise<boolean> {
  const c = stack.config;
  const probe = {
    kafka: () => probeKafka(c.kafka.brokers, 'chaos'),
    mysql: () => probeMysql({ host: c.mysql.host, port: c.mysql.port, user: c.mysql.user, password: c.mysql.password }),
    redis: () => probeRedis(c.redis.url),
    clickhouse: () => probeClickHouse(c.clickhouse),
  }[service];
  return probe().then(() => true, () => false);
}

function kindsOf(messages: FuzzMessage[]): string {
  const counts = new Map<FuzzKind, number>();
  for (const m of messages) counts.set(m.kind, (counts.get(m.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}

/** totals and per check/table mismatch counts of a `--json` report. */
function summariseJson(stdout: string): string {
  try {
    const r = JSON.parse(stdout) as { status: string; totals: Record<string, number>; results: Array<{ check: string; table: string; mismatchCount: number; judged: { count: number; unit: string }; pending: unknown[] }> };
    const rows = r.results.map((c) => [c.check, c.table, `${c.judged.count} ${c.judged.unit}`, String(c.mismatchCount), String(c.pending.length)]);
    return `status ${r.status}, totals ${JSON.stringify(r.totals)}\n${table(['check', 'table', 'judged', 'mismatches', 'pending'], rows)}`;
  } catch {
    return stdout.slice(0, 2000);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`could not run: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(2);
  },
);

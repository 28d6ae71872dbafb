/**
 * End-to-end step of bench:engine: the same events as JSON on a Kafka topic, the sliding-sum job
 * (jobs/sliding-sum.ts) in its own process with exactly-once on (transactions carrying outputs,
 * changelog and offsets), timed from start until its committed offsets reach the end of the input.
 * End of input is a far-future event per partition (Flink's final Long.MAX watermark); the windows
 * of those flush events are left out of the answer.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadavg } from 'node:os';
import { Kafka, logLevel } from '../connectors/kafka/kafkajs.js';
import { loadConfig, repoRoot } from '../schemas/config.js';
import { readToEnd } from '../connectors/kafka/read-to-end.js';
import type { BenchContext, Measurement, MeasurementStep } from './engine.js';
import { formatProfile, summariseProfile } from './cpu-profile.js';

export const KAFKA_E2E = 'rtdw-kafka-e2e';
const PARTITIONS = 4;
const FLUSH_KEY = '__flush__';

/** utime + stime of a process, in seconds (Linux). */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export const kafkaStep: MeasurementStep = {
  id: KAFKA_E2E,
  async run(ctx: BenchContext): Promise<Measurement | undefined> {
    if (process.env.BENCH_ENGINE_SKIP_KAFKA === '1') {
      console.log('  Kafka end-to-end skipped (BENCH_ENGINE_SKIP_KAFKA=1)');
      return undefined;
    }
    const config = loadConfig();
    const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const run = `bench_engine_${Date.now().toString(36)}`;
    const input = `${run}_in`;
    const output = `${run}_out`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }], waitForLeaders: true });
      const { records } = ctx;
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      let maxTs = 0;
      const p0 = performance.now();
      for (let start = 0; start < records.count; start += 20_000) {
        const messages = [];
        for (let i = start; i < Math.min(records.count, start + 20_000); i++) {
          const key = `k${records.keys[i]}`;
          const ts = records.timestamps[i] as number;
          if (ts > maxTs) maxTs = ts;
          messages.push({ key, value: `{"key":"${key}","ts":${ts},"value":${records.values[i]}}` });
        }
        await producer.send({ topic: input, acks: -1, messages });
      }
      await producer.send({ topic: input, acks: -1, messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, key: FLUSH_KEY, value: JSON.stringify({ key: FLUSH_KEY, ts: maxTs + 100 * 3_600_000, value: 0 }) })) });
      await producer.disconnect();
      console.log(`  produced ${records.count} JSON events to ${input} (${PARTITIONS} partitions) in ${((performance.now() - p0) / 1000).toFixed(1)} s (not timed)`);

      const ends = new Map((await admin.fetchTopicOffsets(input)).map((o) => [o.partition, o.high]));
      const busyBefore = loadavg()[0] ?? 0;
      const t0 = performance.now();
      // BENCH_E2E_PROFILE=1: the worker runs under --cpu-prof and its profile is summarised (it costs ~10 % CPU).
      const profileDir = process.env.BENCH_E2E_PROFILE === '1' ? mkdtempSync(join(tmpdir(), 'rtdw-e2e-prof-')) : undefined;
      const child = spawn(process.execPath, [...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]), 'bin/rtdw.mjs', 'jobs', 'sliding-sum', '--input', input, '--output', output, '--name', run, '--out-of-orderness', String(ctx.config.oooMs), '--checkpoint', '1000'], {
        cwd: repoRoot,
        env: { ...process.env, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      let cpu: number | undefined;
      try {
        for (;;) {
          const [committed] = await admin.fetchOffsets({ groupId: `rtdw-${run}`, topics: [input] });
          if (committed?.partitions.every((p) => p.offset === ends.get(p.partition))) break;
          if (child.exitCode !== null) throw new Error(`the job exited with ${child.exitCode}`);
          cpu = child.pid === undefined ? undefined : cpuSecondsOf(child.pid);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        cpu = child.pid === undefined ? cpu : (cpuSecondsOf(child.pid) ?? cpu);
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      const wallSeconds = (performance.now() - t0) / 1000;
      if (profileDir !== undefined) {
        for (const file of readdirSync(profileDir)) {
          console.log(`  worker profile ${file}:`);
          for (const line of formatProfile(summariseProfile(join(profileDir, file)), 25)) console.log(line);
        }
        rmSync(profileDir, { recursive: true, force: true });
      }

      // Read the committed results (not timed): count and sum the windows of real keys.
      let windows = 0;
      let checksum = 0n;
      await readToEnd(kafka, output, (m) => {
        if (m.value === null) return;
        const r = JSON.parse(String(m.value)) as { key: string; sum: string | null };
        if (r.key === FLUSH_KEY || r.sum === null) return;
        windows += 1;
        checksum += BigInt(r.sum);
      });
      await admin.deleteTopics({ topics: [input, output, `${output}-late`, `${output}-dead-letter`, `${run}-changelog`] }).catch(() => undefined);
      return {
        label: 'rtdw Kafka→Kafka, exactly-once, 1 process',
        events: records.count,
        wallSeconds,
        cpuSeconds: cpu,
        machineBusyCores: undefined,
        windows,
        checksum,
        notes: [
          `JSON events in, JSON results out, ${PARTITIONS} partitions, 1 worker process, checkpoint every 1 s; Kafka broker on the same 2 cores (load average ${busyBefore.toFixed(2)} at start)`,
        ],
      };
    } finally {
      await admin.disconnect();
    }
  },
};

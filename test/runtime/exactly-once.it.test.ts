import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { Admin } from 'kafkajs';
import { repoRoot } from '../../schemas/config.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { killHard } from '../support/children.js';
import { config, uniqueName } from '../support/stack.js';

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const input = uniqueName('rt_in');
const PARTITIONS = 4;
const EVENTS = 40_000;
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Output {
  key: string;
  value: string | null;
}

function worker(name: string, output: string): ChildProcess {
  return spawn(process.execPath, ['bin/rtdw.mjs', 'jobs', 'sliding-sum', '--input', input, '--output', output, '--name', name, '--checkpoint', '300'], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The job is done when its committed offsets (written in the same transactions as its outputs) reach the end of the input. */
async function waitCaughtUp(admin: Admin, name: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ends = new Map((await admin.fetchTopicOffsets(input)).map((o) => [o.partition, o.high]));
  for (;;) {
    const [committed] = await admin.fetchOffsets({ groupId: `rtdw-${name}`, topics: [input] });
    if (committed?.partitions.every((p) => p.offset === ends.get(p.partition))) return;
    if (Date.now() > deadline) throw new Error(`${name} did not catch up: ${JSON.stringify(committed?.partitions)}`);
    await sleep(250);
  }
}

async function readAll(topic: string): Promise<Output[]> {
  const out: Output[] = [];
  await readToEnd(kafka, topic, (message) => void out.push({ key: String(message.key), value: message.value === null ? null : String(message.value) }));
  return out;
}

const canonical = (records: Output[]): string[] => records.map((r) => `${r.key}=${r.value}`).sort();

/** Records one output has more often than the other (multiset difference), for a readable failure. */
function difference(a: string[], b: string[]): { extra: string[]; missing: string[] } {
  const counts = new Map<string, number>();
  for (const x of a) counts.set(x, (counts.get(x) ?? 0) + 1);
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) - 1);
  const extra: string[] = [];
  const missing: string[] = [];
  for (const [x, n] of counts) {
    for (let i = 0; i < n; i++) extra.push(x);
    for (let i = 0; i < -n; i++) missing.push(x);
  }
  return { extra: extra.slice(0, 5).concat(extra.length > 5 ? [`… ${extra.length} in all`] : []), missing: missing.slice(0, 5).concat(missing.length > 5 ? [`… ${missing.length} in all`] : []) };
}

describe('stream runtime on Kafka: exactly-once', () => {
  let admin: Admin;
  const events: Array<{ key: string; ts: number; value: number }> = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }], waitForLeaders: true });
    const base = Date.UTC(2026, 0, 1);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < EVENTS; i++) {
      const late = i % 4000 === 3999;
      events.push({ key: `k${rand(97)}`, ts: base + i * 500 - rand(5000) - (late ? 2 * HOUR : 0), value: 1 + rand(1000) });
    }
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < events.length; i += 5000) {
      await producer.send({ topic: input, acks: -1, messages: events.slice(i, i + 5000).map((e) => ({ key: e.key, value: JSON.stringify(e) })) });
    }
    await producer.send({ topic: input, acks: -1, messages: [{ key: 'k1', value: 'not json' }, { key: 'k2', value: JSON.stringify({ key: 'k2', ts: 'yesterday', value: 1 }) }] });
    await producer.disconnect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  let reference: Output[] = [];

  it('an uninterrupted run gives the window sums of the input, late records to the late topic, bad records to the dead-letter topic', async () => {
    const name = uniqueName('job_ref');
    const output = `${name}_out`;
    const w = worker(name, output);
    try {
      await waitCaughtUp(admin, name);
    } finally {
      w.kill('SIGTERM');
      await new Promise((r) => w.once('exit', r));
    }
    reference = await readAll(output);
    const late = await readAll(`${output}-late`);
    const dead = await readAll(`${output}-dead-letter`);
    expect(dead.map((d) => JSON.parse(d.value ?? '{}').reason as string).sort()).toEqual(['Unexpected token \'o\', "not json" is not valid JSON', 'ts must be an integer of epoch ms']);
    expect(late.length).toBe(EVENTS / 4000);
    const lateKeys = new Set(late.map((l) => { const r = JSON.parse(l.value ?? '{}') as { key: string; timestamp: number }; return `${r.key}@${r.timestamp}`; }));
    // Every emitted window sum equals the sum of its on-time events.
    const results = reference.map((r) => JSON.parse(r.value ?? '{}') as { key: string; start: number; end: number; sum: string; kind: string });
    expect(results.length).toBeGreaterThan(1000);
    expect(results.every((r) => r.kind === 'result')).toBe(true);
    // Every window checked, against prefix sums of each key's on-time events sorted by time.
    const byKey = new Map<string, { ts: number[]; prefix: number[] }>();
    for (const e of [...events].filter((x) => !lateKeys.has(`${x.key}@${x.ts}`)).sort((a, b) => a.ts - b.ts)) {
      const k = byKey.get(e.key) ?? { ts: [], prefix: [0] };
      byKey.set(e.key, k);
      k.ts.push(e.ts);
      k.prefix.push((k.prefix[k.prefix.length - 1] ?? 0) + e.value);
    }
    const lowerBound = (xs: number[], x: number): number => {
      let lo = 0;
      let hi = xs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((xs[mid] as number) < x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const wrong = results.filter((r) => {
      const k = byKey.get(r.key);
      const sum = k === undefined ? 0 : (k.prefix[lowerBound(k.ts, r.end)] as number) - (k.prefix[lowerBound(k.ts, r.start)] as number);
      return r.sum !== String(sum);
    });
    expect(wrong).toEqual([]);
    expect(new Set(results.map((r) => `${r.key}|${r.start}`)).size).toBe(results.length);
  }, 240_000);

  it('a run killed with -9 three times and restarted writes exactly the same output', async () => {
    const name = uniqueName('job_kill');
    const output = `${name}_out`;
    let w = worker(name, output);
    for (let i = 0; i < 3; i++) {
      await sleep(1500 + Math.random() * 2500);
      await killHard(w);
      w = worker(name, output);
    }
    try {
      await waitCaughtUp(admin, name);
    } finally {
      w.kill('SIGTERM');
      await new Promise((r) => w.once('exit', r));
    }
    expect(difference(canonical(await readAll(output)), canonical(reference))).toEqual({ extra: [], missing: [] });
  }, 240_000);

  it('two workers, one killed mid-run, write exactly what one worker writes', async () => {
    const name = uniqueName('job_pair');
    const output = `${name}_out`;
    const a = worker(name, output);
    const b = worker(name, output);
    await sleep(3000 + Math.random() * 2000);
    await killHard(b);
    try {
      await waitCaughtUp(admin, name);
    } finally {
      a.kill('SIGTERM');
      await new Promise((r) => a.once('exit', r));
    }
    expect(difference(canonical(await readAll(output)), canonical(reference))).toEqual({ extra: [], missing: [] });
  }, 240_000);
});

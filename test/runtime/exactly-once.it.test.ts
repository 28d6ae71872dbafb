/**
 * `rtdw jobs sliding-sum` on real Kafka, checked against an independent model of the input
 * (sliding-sum-model.ts: the watermark and lateness of each partition in its record order): every
 * window the model fires is emitted once with its exact sum, the late records are the model's, and
 * bad records go to the dead-letter topic. Each test has its own input topic; the kill tests feed it
 * a slice at a time and kill a worker only once it has committed part of the work, never all of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { Admin, Producer } from 'kafkajs';
import { repoRoot } from '../../schemas/config.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { killHard } from '../support/children.js';
import { config, uniqueName } from '../support/stack.js';
import { difference, resultText, slidingSumModel, type ModelEvent, type SlidingSumModel } from './sliding-sum-model.js';

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const PARTITIONS = 4;
const EVENTS = 40_000;
const HOUR = 3_600_000;
/** the job's defaults: 1 h windows sliding by 5 min, 5 s out of orderness */
const WINDOW = { size: HOUR, slide: 300_000, outOfOrdernessMs: 5000 };
/** two records the job cannot read, at the end of the input */
const BAD = [
  { key: 'k1', partition: 1, value: 'not json' },
  { key: 'k2', partition: 2, value: JSON.stringify({ key: 'k2', ts: 'yesterday', value: 1 }) },
];
const TOTAL = BigInt(EVENTS + BAD.length);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function worker(name: string, input: string, output: string): ChildProcess {
  return spawn(process.execPath, ['bin/rtdw.mjs', 'jobs', 'sliding-sum', '--input', input, '--output', output, '--name', name, '--checkpoint', '300'], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('stream runtime on Kafka: exactly-once', () => {
  let admin: Admin;
  let producer: Producer;
  const events: ModelEvent[] = [];
  let model: SlidingSumModel;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const base = Date.UTC(2026, 0, 1);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < EVENTS; i++) {
      const late = i % 4000 === 3999;
      const key = rand(97);
      // Each key in one partition, chosen here, so the model knows every partition's record order.
      events.push({ key: `k${key}`, partition: key % PARTITIONS, ts: base + i * 500 - rand(5000) - (late ? 2 * HOUR : 0), value: 1 + rand(1000) });
    }
    model = slidingSumModel(events, WINDOW);
  });
  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  async function createInput(): Promise<string> {
    const input = uniqueName('rt_in');
    await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }], waitForLeaders: true });
    return input;
  }

  /** Sends the events [from, to) of the input in order, and after the last one the bad records. */
  async function feed(input: string, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i += 5000) {
      const messages = events.slice(i, Math.min(to, i + 5000)).map((e) => ({ partition: e.partition, key: e.key, value: JSON.stringify({ key: e.key, ts: e.ts, value: e.value }) }));
      await producer.send({ topic: input, acks: -1, messages });
    }
    if (to === EVENTS) await producer.send({ topic: input, acks: -1, messages: BAD });
  }

  /** Input records whose processing is committed: the group's offsets, written in the same transactions as the outputs. */
  async function committed(name: string, input: string): Promise<bigint> {
    const [offsets] = await admin.fetchOffsets({ groupId: `rtdw-${name}`, topics: [input] });
    return (offsets?.partitions ?? []).reduce((n, p) => n + (BigInt(p.offset) > 0n ? BigInt(p.offset) : 0n), 0n);
  }

  async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(100);
    }
  }

  /** kill -9 once the worker has committed more than `after` input records; returns what was committed at the kill. */
  async function killMidWork(child: ChildProcess, name: string, input: string, after: bigint): Promise<bigint> {
    await waitFor(`more than ${after} records committed`, async () => (await committed(name, input)) > after);
    await killHard(child);
    const done = await committed(name, input);
    // Some but not all of the work was committed before the kill (the rest of the input is not even sent yet).
    expect(done).toBeGreaterThan(after);
    expect(done).toBeLessThan(TOTAL);
    return done;
  }

  async function readOutputs(output: string): Promise<{ results: string[]; late: string[]; dead: string[] }> {
    const results: string[] = [];
    await readToEnd(kafka, output, (m) => void results.push(resultText(JSON.parse(String(m.value)) as { kind: string; key: string; start: number; end: number; sum: string })));
    const late: string[] = [];
    await readToEnd(kafka, `${output}-late`, (m) => {
      const r = JSON.parse(String(m.value)) as { key: string; timestamp: number };
      late.push(`${r.key}@${r.timestamp}`);
    });
    const dead: string[] = [];
    await readToEnd(kafka, `${output}-dead-letter`, (m) => void dead.push((JSON.parse(String(m.value)) as { reason: string }).reason));
    return { results: results.sort(), late: late.sort(), dead: dead.sort() };
  }

  /** Exactly the model: every window it fires, once, with its sum; its late records; the two bad records. */
  function expectModel(out: { results: string[]; late: string[]; dead: string[] }): void {
    expect(difference(out.results, model.results)).toEqual({ extra: [], missing: [] });
    expect(out.late).toEqual(model.late.map((e) => `${e.key}@${e.ts}`).sort());
    expect(out.dead).toEqual(['Unexpected token \'o\', "not json" is not valid JSON', 'ts must be an integer of epoch ms']);
  }

  it('an uninterrupted run emits every window of the model with its sum, the late records to the late topic, bad records to the dead-letter topic', async () => {
    expect(model.results.length).toBeGreaterThan(5000);
    expect(model.late.length).toBe(EVENTS / 4000);
    const input = await createInput();
    await feed(input, 0, EVENTS);
    const name = uniqueName('job_ref');
    const output = `${name}_out`;
    const w = worker(name, input, output);
    try {
      await waitFor(`${name} caught up`, async () => (await committed(name, input)) === TOTAL);
    } finally {
      await stop(w);
    }
    expectModel(await readOutputs(output));
  }, 240_000);

  it('a run killed with -9 three times mid-work and restarted writes exactly the model', async () => {
    const input = await createInput();
    const name = uniqueName('job_kill');
    const output = `${name}_out`;
    const slice = EVENTS / 4;
    let w = worker(name, input, output);
    let done = 0n;
    try {
      for (let i = 0; i < 3; i++) {
        await feed(input, i * slice, (i + 1) * slice);
        done = await killMidWork(w, name, input, done);
        w = worker(name, input, output);
      }
      await feed(input, 3 * slice, EVENTS);
      await waitFor(`${name} caught up`, async () => (await committed(name, input)) === TOTAL);
    } finally {
      await stop(w);
    }
    expectModel(await readOutputs(output));
  }, 300_000);

  it('two workers, one killed with -9 mid-work, write exactly the model', async () => {
    const input = await createInput();
    const name = uniqueName('job_pair');
    const output = `${name}_out`;
    const a = worker(name, input, output);
    const b = worker(name, input, output);
    try {
      // Both members own partitions before any input arrives.
      await waitFor('both workers in the group', async () => {
        const { groups } = await admin.describeGroups([`rtdw-${name}`]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === 2;
      });
      await feed(input, 0, EVENTS / 2);
      await killMidWork(b, name, input, 0n);
      await feed(input, EVENTS / 2, EVENTS);
      await waitFor(`${name} caught up`, async () => (await committed(name, input)) === TOTAL);
    } finally {
      await Promise.all([stop(a), killHard(b)]);
    }
    expectModel(await readOutputs(output));
  }, 240_000);
});

/**
 * A seven-stage job on Kafka (test/support/graph-job.ts): repartitioning, watermarks carried across
 * internal topics and combined over upstream tasks, an idle source partition, sliding windows,
 * TopN, an interval join and a window join. Its outputs are checked against a model computed here from the input,
 * once uninterrupted and once with two workers killed with -9 mid-work and restarted. Each test has
 * its own input topics. The kill test sends the first half of the input, then the second half a few
 * records at a time until both kills are done (so no source partition goes idle, and resumes behind
 * the others, which would make results depend on timing, as in Flink), then the rest: each kill
 * lands once some outputs are committed, and before all of them can be.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import type { Admin, Producer } from 'kafkajs';
import { repoRoot } from '../../schemas/config.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { killHard } from '../support/children.js';
import { config, uniqueName } from '../support/stack.js';
import { graphJob, JOIN_BOUNDS, JOIN_WINDOW, OUT_OF_ORDERNESS, TIMING, WINDOW, type Order, type Payment } from '../support/graph-job.js';

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const ORDERS = 20_000;
const BASE = Date.UTC(2026, 0, 1);
/** one last record per non-empty source partition, far ahead, so every earlier window fires */
const END = BASE + 100 * 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Workers that exited by themselves (not stopped or killed by the test): a crash fails the test at once. */
const crashed: string[] = [];
const stopping = new WeakSet<ChildProcess>();

interface Inputs {
  orders: string;
  payments: string;
}

function worker(name: string, inputs: Inputs): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/run-graph-job.ts', name, inputs.orders, inputs.payments], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.once('exit', (code, signal) => {
    if (signal === null && !stopping.has(child)) crashed.push(`${name} exited with ${code}`);
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  stopping.add(child);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  // The worker's own stop timeout is 30 s; past that something is wrong, but outputs are what is checked.
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  await exited;
  clearTimeout(timer);
}

async function readAll(topic: string): Promise<Array<{ key: string; value: string }>> {
  for (let attempt = 1; ; attempt++) {
    const out: Array<{ key: string; value: string }> = [];
    try {
      await readToEnd(kafka, topic, (m) => void out.push({ key: String(m.key), value: String(m.value) }));
      return out;
    } catch (err) {
      // A topic the job has just created may not have its leader known yet.
      if (attempt >= 5 || !(err as { retriable?: boolean }).retriable) throw err;
      await sleep(1000);
    }
  }
}

/** Order-independent text of a record, for multiset comparison. */
function topRecord(r: { key: string; value: string }): string {
  const v = JSON.parse(r.value) as { kind: string; group: string; window: { start: number; end: number }; ranking: Array<{ rank: number; key: string; score: string }> };
  return `${r.key} ${v.kind} ${v.group} ${v.window.start}-${v.window.end} ${v.ranking.map((i) => `${i.rank}:${i.key}=${i.score}`).join(',')}`;
}

function pairRecord(r: { key: string; value: string }): string {
  return `${r.key} ${r.value}`;
}

type InputRecord = { partition: number; value: string };

describe('multi-stage job on Kafka: repartitioning, watermark propagation, TopN, interval and window joins', () => {
  let admin: Admin;
  let producer: Producer;
  const expectedTop: string[] = [];
  const expectedPaid: string[] = [];
  const expectedWindowPairs: string[] = [];
  /** the input records, in send order */
  const inputRecords: { orders: InputRecord[]; payments: InputRecord[] } = { orders: [], payments: [] };
  const half = (records: InputRecord[]): number => Math.floor(records.length / 2);

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
    // mulberry32: a seeded generator with all 32 bits usable
    let seed = 11;
    const rand = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    const provinces = ['Zhejiang', 'Jiangsu', 'Guangdong', 'Sichuan'];
    const orderList: Order[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const p = rand(10) < 5 ? 0 : rand(provinces.length);
      // a few ms of disorder within each partition, well inside the 5 s bound: nothing is late
      orderList.push({ id: `o${i}`, province: provinces[p] as string, city: `c${p}${rand(4 + p)}`, amount: 1 + rand(10_000), ts: BASE + i * 4000 + rand(1500) });
    }
    const paymentList: Payment[] = [];
    for (const [i, o] of orderList.entries()) {
      // some before the order or after 30 min (not joined), some orders paid twice
      if (i % 10 < 7) paymentList.push({ id: `p${i}`, order: o.id, amount: o.amount, ts: o.ts + rand(42 * 60_000) - 2 * 60_000 });
      if (i % 10 === 0) paymentList.push({ id: `p${i}b`, order: o.id, amount: 1, ts: o.ts + rand(35 * 60_000) });
    }
    paymentList.sort((a, b) => a.ts - b.ts);
    const sentinels = [0, 1].map((p): Order => ({ id: `end${p}`, province: 'end', city: 'end', amount: 0, ts: END }));
    const paymentSentinels = [0, 1].map((p): Payment => ({ id: `pend${p}`, order: 'none', amount: 0, ts: END }));

    const orderRecords = orderList.map((o, i) => ({ partition: i % 2, value: JSON.stringify(o) }));
    orderRecords.splice(7000, 0, { partition: 0, value: 'not json' });
    inputRecords.orders.push(...orderRecords, ...sentinels.map((o, p) => ({ partition: p, value: JSON.stringify(o) })));
    inputRecords.payments.push(...paymentList.map((p, i) => ({ partition: i % 2, value: JSON.stringify(p) })), ...paymentSentinels.map((p, i) => ({ partition: i, value: JSON.stringify(p) })));

    // The model. Final watermark: every source partition with data ends at END.
    const finalWatermark = END - OUT_OF_ORDERNESS - 1;
    const sums = new Map<string, Map<string, bigint>>(); // "province|start" -> city key -> sum
    for (const o of [...orderList, ...sentinels]) {
      const lastStart = o.ts - (o.ts % WINDOW.slide);
      for (let start = lastStart; start > o.ts - WINDOW.size; start -= WINDOW.slide) {
        const group = `${o.province}|${start}`;
        const cities = sums.get(group) ?? new Map<string, bigint>();
        sums.set(group, cities);
        const key = `${o.province}|${o.city}`;
        cities.set(key, (cities.get(key) ?? 0n) + BigInt(o.amount));
      }
    }
    for (const [group, cities] of sums) {
      const [province, startText] = group.split('|') as [string, string];
      const start = Number(startText);
      const end = start + WINDOW.size;
      // fires at watermark >= end - 1
      if (end - 1 > finalWatermark) continue;
      const ranking = [...cities].sort(([ka, a], [kb, b]) => (a > b ? -1 : a < b ? 1 : ka < kb ? -1 : 1)).slice(0, 3);
      expectedTop.push(`${province}|${start}|${end} result ${province} ${start}-${end} ${ranking.map(([k, s], i) => `${i + 1}:${k}=${s}`).join(',')}`);
    }
    const byOrder = new Map<string, Payment[]>();
    for (const p of [...paymentList, ...paymentSentinels]) byOrder.set(p.order, [...(byOrder.get(p.order) ?? []), p]);
    for (const o of [...orderList, ...sentinels]) {
      for (const p of byOrder.get(o.id) ?? []) {
        // bounds inclusive: o.ts + lower <= p.ts <= o.ts + upper
        if (p.ts >= o.ts + JOIN_BOUNDS.lower && p.ts <= o.ts + JOIN_BOUNDS.upper) expectedPaid.push(`${o.id}|${p.id} ${JSON.stringify({ order: o.id, payment: p.id, ts: Math.max(o.ts, p.ts) })}`);
        // same tumbling window, fired once the watermark reaches its end - 1
        const start = o.ts - (o.ts % JOIN_WINDOW);
        if (p.ts - (p.ts % JOIN_WINDOW) === start && start + JOIN_WINDOW - 1 <= finalWatermark) {
          expectedWindowPairs.push(`${o.id}|${p.id} ${JSON.stringify({ window: start, ts: start + JOIN_WINDOW - 1 })}`);
        }
      }
    }
    expectedTop.sort();
    expectedPaid.sort();
    expectedWindowPairs.sort();
  });

  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  async function createInputs(): Promise<Inputs> {
    const inputs = { orders: uniqueName('ms_orders'), payments: uniqueName('ms_payments') };
    // Orders partition 2 stays empty: only idleness lets the downstream watermarks move.
    await admin.createTopics({ topics: [{ topic: inputs.orders, numPartitions: 3 }, { topic: inputs.payments, numPartitions: 2 }], waitForLeaders: true });
    return inputs;
  }

  /** Sends the input records [from(records), to(records)) of both topics, in order. */
  async function send(inputs: Inputs, from: (records: InputRecord[]) => number = () => 0, to: (records: InputRecord[]) => number = (r) => r.length): Promise<void> {
    for (const [topic, records] of [[inputs.orders, inputRecords.orders], [inputs.payments, inputRecords.payments]] as const) {
      const end = to(records);
      for (let i = from(records); i < end; i += 5000) await producer.send({ topic, acks: -1, messages: records.slice(i, Math.min(end, i + 5000)) });
    }
  }

  /**
   * Sends the second half a few records of each source partition every 250 ms (well inside the
   * sources' idle timeout) until finish(), which sends the rest.
   */
  function trickle(inputs: Inputs): { finish(): Promise<void> } {
    let sent = 0;
    let finishing = false;
    const pace = async (): Promise<void> => {
      while (!finishing) {
        await send(inputs, (r) => half(r) + sent, (r) => Math.min(r.length, half(r) + sent + 10));
        sent += 10;
        await sleep(Math.min(250, TIMING.idleTimeoutMs / 4));
      }
    };
    const running = pace();
    let finished: Promise<void> | undefined;
    return {
      finish: () => {
        finishing = true;
        finished ??= running.then(() => send(inputs, (r) => Math.min(r.length, half(r) + sent)));
        return finished;
      },
    };
  }

  /** The stages of the job the workers run: consumer group and input topic. */
  function stageGroups(name: string, inputs: Inputs): Array<{ group: string; input: string }> {
    return graphJob({ name, ...inputs, ...TIMING }).stages.map((stage) => ({ group: `rtdw-${stage.name}`, input: stage.input }));
  }

  /** Input records of every stage whose processing is committed (the offsets commit with the outputs). */
  async function committedWork(name: string, inputs: Inputs): Promise<bigint> {
    let total = 0n;
    for (const { group, input } of stageGroups(name, inputs)) {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [input] });
      for (const p of offsets?.partitions ?? []) if (BigInt(p.offset) > 0n) total += BigInt(p.offset);
    }
    return total;
  }

  async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (crashed.length > 0) throw new Error(`worker crashed: ${crashed.join('; ')}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(250);
    }
  }

  interface Outputs {
    top: string[];
    paid: string[];
    windowPairs: string[];
  }

  async function readOutputs(name: string): Promise<Outputs> {
    return {
      top: (await readAll(`${name}-top3`)).map(topRecord).sort(),
      paid: (await readAll(`${name}-paid`)).map(pairRecord).sort(),
      windowPairs: (await readAll(`${name}-paid-window`)).map(pairRecord).sort(),
    };
  }

  /**
   * Waits until the outputs hold as many records as the model, then until every stage has
   * committed every record of its input (so no excess can follow), and reads them.
   */
  async function outputs(name: string, inputs: Inputs): Promise<Outputs> {
    const topics = [`${name}-top3`, `${name}-paid`, `${name}-paid-window`];
    await waitFor('the output topics', async () => (await admin.listTopics()).filter((t) => topics.includes(t)).length === topics.length);
    await waitFor('as many outputs as the model', async () => {
      const out = await readOutputs(name);
      return out.top.length >= expectedTop.length && out.paid.length >= expectedPaid.length && out.windowPairs.length >= expectedWindowPairs.length;
    });
    for (const { group, input } of stageGroups(name, inputs)) {
      // The offset of each partition's last record (an internal topic ends with commit markers, which no consumer resolves).
      const last = new Map<number, bigint>();
      await readToEnd(kafka, input, (m, partition) => void last.set(partition, BigInt(m.offset)));
      await waitFor(`${group} to commit its whole input`, async () => {
        const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [input] });
        const done = new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        return [...last].every(([p, offset]) => (done.get(p) ?? -1n) > offset);
      });
    }
    return readOutputs(name);
  }

  /** Some but not all of the work was committed before a kill: the committed outputs, read_committed, number more than none and fewer than the model's. */
  async function expectMidWork(name: string): Promise<void> {
    const out = await readOutputs(name);
    const committed = out.top.length + out.paid.length + out.windowPairs.length;
    expect(committed).toBeGreaterThan(0);
    expect(out.top.length).toBeLessThan(expectedTop.length);
    expect(out.paid.length).toBeLessThan(expectedPaid.length);
    expect(out.windowPairs.length).toBeLessThan(expectedWindowPairs.length);
  }

  function expectModel(result: Outputs): void {
    expect(result.top).toEqual(expectedTop);
    expect(result.paid).toEqual(expectedPaid);
    expect(result.windowPairs).toEqual(expectedWindowPairs);
  }

  it('an uninterrupted run ranks the top 3 cities of every window and joins payments within 30 min and within 10-minute windows, nothing late', async () => {
    expect(expectedTop.length).toBeGreaterThan(1000);
    expect(expectedPaid.length).toBeGreaterThan(10_000);
    expect(expectedWindowPairs.length).toBeGreaterThan(2000);
    const inputs = await createInputs();
    await send(inputs);
    const name = uniqueName('ms_ref');
    const w = worker(name, inputs);
    let result: Outputs;
    try {
      result = await outputs(name, inputs);
    } finally {
      await stop(w);
    }
    expectModel(result);
    expect(await readAll(`${name}-late`)).toEqual([]);
    // the one malformed order, once per stage reading orders
    expect((await readAll(`${name}-dead-letter`)).map((d) => (JSON.parse(d.value) as { reason: string }).reason)).toEqual([expect.stringContaining('not valid JSON'), expect.stringContaining('not valid JSON')]);
  }, 300_000);

  it('two workers, both killed with -9 mid-work and restarted, write exactly what the model says', async () => {
    const inputs = await createInputs();
    await send(inputs, () => 0, half);
    const secondHalf = trickle(inputs);
    const name = uniqueName('ms_kill');
    let a = worker(name, inputs);
    let b = worker(name, inputs);
    try {
      // b owns partitions of every stage (each has at least two), and some outputs are committed.
      await waitFor('both workers in every stage', async () => {
        const { groups } = await admin.describeGroups(stageGroups(name, inputs).map((s) => s.group));
        return groups.length === stageGroups(name, inputs).length && groups.every((g) => g.state === 'Stable' && g.members.length === 2);
      });
      await waitFor('committed outputs', async () => {
        const out = await readOutputs(name).catch(() => undefined);
        return out !== undefined && out.paid.length > 0;
      });
      await killHard(b);
      await expectMidWork(name);
      // a works on (b's partitions wait for its session to time out): kill it once it committed more.
      const atFirstKill = await committedWork(name, inputs);
      await waitFor('more work committed', async () => (await committedWork(name, inputs)) > atFirstKill);
      await killHard(a);
      expect(await committedWork(name, inputs)).toBeGreaterThan(atFirstKill);
      await expectMidWork(name);
      a = worker(name, inputs);
      b = worker(name, inputs);
      await secondHalf.finish();
      const result = await outputs(name, inputs);
      expectModel(result);
      expect(await readAll(`${name}-late`)).toEqual([]);
    } finally {
      await secondHalf.finish();
      await Promise.all([stop(a), stop(b)]);
    }
  }, 300_000);
});

/**
 * A failed transaction must not lose input. The records a task reads are resolved (the fetch
 * position moves past them) before their checkpoint commits; when the transaction then fails, the
 * task must be rebuilt from its changelog and the partition read again from its last checkpoint.
 *
 * The fault is real and lands where the test chooses: a producer of the test's own takes the task's
 * transactional id (InitProducerId bumps the epoch and the broker aborts the task's open transaction,
 * as it would for a new owner), right after the task has read a burst of input and before its
 * transaction ends. The task's next step then fails on the broker: the scheduled checkpoint, the
 * next batch, or the idle marker. Each fault is counted (the worker's failure metric, per step, and
 * the aborted outputs on the broker), and the outputs are those of the model in sliding-sum-model.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, KafkaMessage, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from '../../connectors/kafka/kafkajs.js';
import { createKafka } from '../../connectors/kafka/client.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { registry } from '../../connectors/observability/metrics.js';
import { slidingSumJob } from '../../jobs/sliding-sum.js';
import { slidingWindows, sumDecimal } from '../../jobs/runtime/core/index.js';
import { JobRunner, type JobSpec } from '../../jobs/runtime/job.js';
import { repartitionStage } from '../../jobs/runtime/repartition-stage.js';
import type { StageSpec } from '../../jobs/runtime/stage.js';
import { envelopeParser, windowStage } from '../../jobs/runtime/window-stage.js';
import { StageWorker, transactionalId } from '../../jobs/runtime/worker.js';
import { config, uniqueName } from '../support/stack.js';
import { difference, resultText, slidingSumModel, type ModelEvent } from './sliding-sum-model.js';
import { DeliveredOnce } from '../../connectors/kafka/delivered-once.js';

const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const log = createLogger('failed-transaction-test', process.env.TEST_LOG_LEVEL ?? 'fatal');
const PARTITIONS = 2;
const WINDOW = { size: 3_600_000, slide: 300_000, outOfOrdernessMs: 5000 };
const BURST = 60;
const BASE = Date.UTC(2026, 0, 1);

type Fault = 'checkpoint' | 'batch' | 'idle';

/** One burst of input to one partition, and the fault to inject after the task has read it. */
interface Step {
  partition: number;
  fault?: Fault;
}

/**
 * Bursts of BURST events, 10 s of event time apart (up to 3 s out of order), so each burst moves
 * its partition's watermark by about 10 minutes and fires windows; keys k<n> live in partition n % 2.
 * With `late`, every 7th event is two hours late.
 */
function bursts(steps: readonly Step[], seed: number, late: boolean): ModelEvent[][] {
  let state = seed;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  let i = 0;
  return steps.map(({ partition }) =>
    Array.from({ length: BURST }, (): ModelEvent => {
      i += 1;
      const lateness = late && i % 7 === 0 ? 2 * 3_600_000 : 0;
      return { key: `k${partition + PARTITIONS * rand(5)}`, ts: BASE + i * 10_000 - rand(3000) - lateness, value: 1 + rand(100), partition };
    }),
  );
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (m === undefined) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000, pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** A producer with the task's transactional id, connected beforehand so the fence is one InitProducerId away. */
async function fencer(id: string): Promise<() => Promise<void>> {
  const producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return async () => {
    // kafkajs sends InitProducerId at the first transaction: the broker bumps the epoch and aborts the task's open one.
    await (await producer.transaction()).abort();
    await producer.disconnect();
  };
}

/** Every record of a topic, aborted ones included (read_uncommitted), up to its current end; no transaction may be open. */
async function readUncommitted(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<number, bigint>();
  for (const o of await admin.fetchTopicOffsets(topic)) if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high));
  await admin.disconnect();
  let count = 0;
  if (remaining.size === 0) return count;
  const consumer = kafka.consumer({ groupId: `read-uncommitted-${randomUUID()}`, readUncommitted: true, maxBytes: 50 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }: { payload: { partition: number; lastOffset: string } }) => {
        const end = remaining.get(payload.partition);
        if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) remaining.delete(payload.partition);
        if (remaining.size === 0) resolve();
      });
      const once = new DeliveredOnce();
      consumer.run({ eachBatch: async ({ batch }) => void (count += batch.messages.filter((m) => once.take(batch.topic, batch.partition, m.offset)).length) }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return count;
}

async function readResults(topic: string): Promise<string[]> {
  const out: string[] = [];
  await readToEnd(kafka, topic, (m: KafkaMessage) => {
    const v = JSON.parse(String(m.value)) as { kind: string; key: string; start: number; end: number; sum: string };
    out.push(resultText(v));
  });
  return out.sort();
}

async function readLate(topic: string): Promise<string[]> {
  const out: string[] = [];
  await readToEnd(kafka, topic, (m) => {
    const v = JSON.parse(String(m.value)) as { key: string; timestamp: number };
    out.push(`${v.key}@${v.timestamp}`);
  });
  return out.sort();
}

describe('stream runtime on Kafka: a failed transaction is read again from the last checkpoint', () => {
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  async function committed(group: string, topic: string): Promise<Map<number, bigint>> {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  }

  /**
   * Feeds the steps to a stage: each burst is one produce request to one partition, so the task reads
   * it as one batch. A fault step waits until the partition's previous burst has been checkpointed,
   * so the burst opens a transaction whose checkpoint is scheduled, then takes the task's
   * transactional id once the task has read the burst, and waits until the task failed at that step
   * and checkpointed the burst after all.
   */
  async function feed(o: { stage: StageSpec; steps: readonly Step[]; events: ModelEvent[][]; failures: Record<Fault, number> }): Promise<void> {
    const group = `rtdw-${o.stage.name}`;
    const produced = new Map<number, bigint>();
    const caughtUp = (partition: number) => async (): Promise<boolean> => ((await committed(group, o.stage.input)).get(partition) ?? -1n) >= (produced.get(partition) ?? 0n);
    for (let i = 0; i < o.steps.length; i++) {
      const step = o.steps[i] as Step;
      const burst = o.events[i] as ModelEvent[];
      const fence = step.fault === undefined ? undefined : await fencer(transactionalId(o.stage, step.partition));
      if (step.fault !== undefined) await waitFor(`the checkpoint before step ${i}`, caughtUp(step.partition));
      const recordsIn = await metric('rtdw_stage_records_in_total', { stage: o.stage.name });
      const recordsOut = await metric('rtdw_stage_records_out_total', { stage: o.stage.name });
      const [sent] = await producer.send({
        topic: o.stage.input,
        acks: -1,
        messages: burst.map((e) => ({ partition: step.partition, key: e.key, value: JSON.stringify({ key: e.key, ts: e.ts, value: e.value }) })),
      });
      produced.set(step.partition, BigInt(sent?.baseOffset ?? '0') + BigInt(burst.length));
      // recordsOut moves once the batch's outputs are in the task's transaction, in the same turn that schedules its checkpoint.
      await waitFor(`step ${i} read`, async () => (await metric('rtdw_stage_records_in_total', { stage: o.stage.name })) >= recordsIn + burst.length && (await metric('rtdw_stage_records_out_total', { stage: o.stage.name })) > recordsOut);
      if (fence === undefined || step.fault === undefined) continue;
      const fault = step.fault;
      const failed = await metric('rtdw_stage_transaction_failures_total', { stage: o.stage.name, step: fault });
      await fence();
      o.failures[fault] += 1;
      if (fault === 'batch') {
        // The next step's burst reaches the fenced transaction before its scheduled checkpoint does.
        i += 1;
        const next = o.events[i] as ModelEvent[];
        if (o.steps[i]?.partition !== step.partition) throw new Error('a batch fault needs a next step on the same partition');
        const [again] = await producer.send({ topic: o.stage.input, acks: -1, messages: next.map((e) => ({ partition: step.partition, key: e.key, value: JSON.stringify({ key: e.key, ts: e.ts, value: e.value }) })) });
        produced.set(step.partition, BigInt(again?.baseOffset ?? '0') + BigInt(next.length));
      }
      await waitFor(`the ${fault} failure of step ${i}`, async () => (await metric('rtdw_stage_transaction_failures_total', { stage: o.stage.name, step: fault })) > failed, 30_000);
      await waitFor(`step ${i}'s input read again and checkpointed`, caughtUp(step.partition), 30_000);
    }
    for (let p = 0; p < PARTITIONS; p++) await waitFor(`partition ${p} checkpointed to its end`, caughtUp(p));
  }

  it('a scheduled checkpoint, and a batch, whose transactions are fenced are read again: every window exact', async () => {
    const name = uniqueName('fault_sum');
    const input = `${name}_in`;
    const output = `${name}_out`;
    await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }], waitForLeaders: true });
    // A checkpoint is due 2 s after the first batch after the last one: the test fences well before.
    const stage = slidingSumJob({ name, input, output, partitions: PARTITIONS, checkpointIntervalMs: 2000, sizeMs: WINDOW.size, slideMs: WINDOW.slide, outOfOrdernessMs: WINDOW.outOfOrdernessMs });
    // A 'batch' fault sends the next step's burst into the fenced transaction.
    const steps: Step[] = [{ partition: 0 }, { partition: 1 }, { partition: 0 }, { partition: 0, fault: 'checkpoint' }, { partition: 1 }, { partition: 1, fault: 'batch' }, { partition: 1 }, { partition: 0 }, { partition: 1 }, { partition: 1, fault: 'checkpoint' }, { partition: 0 }];
    const events = bursts(steps, 3, true);
    const worker = new StageWorker(createKafka(config, name, log), stage, log);
    await worker.start();
    const failures: Record<Fault, number> = { checkpoint: 0, batch: 0, idle: 0 };
    try {
      await feed({ stage, steps, events, failures });
    } finally {
      await worker.stop();
    }
    const model = slidingSumModel(events.flat(), WINDOW);
    expect(model.results.length).toBeGreaterThan(50);
    expect(model.late.length).toBeGreaterThan(5);
    expect(difference(await readResults(output), model.results)).toEqual({ extra: [], missing: [] });
    expect(await readLate(`${output}-late`)).toEqual(model.late.map((e) => `${e.key}@${e.ts}`).sort());
    // The faults happened: the task failed exactly where it was fenced, and its aborted outputs are on the broker.
    expect(failures).toEqual({ checkpoint: 2, batch: 1, idle: 0 });
    for (const step of ['checkpoint', 'batch', 'idle'] as const) expect(await metric('rtdw_stage_transaction_failures_total', { stage: name, step })).toBe(failures[step]);
    expect(await readUncommitted(output)).toBeGreaterThan(model.results.length);
  }, 240_000);

  it('an idle marker whose transaction is fenced is read again: the downstream windows are exact', async () => {
    const name = uniqueName('fault_idle');
    const input = `${name}_in`;
    const output = `${name}-out`;
    await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }], waitForLeaders: true });
    const job = idleJob(name, input, output);
    const source = job.stages[0] as StageSpec;
    const sum = job.stages[1] as StageSpec;
    const steps: Step[] = [{ partition: 0 }, { partition: 1 }, { partition: 0, fault: 'idle' }, { partition: 1 }, { partition: 0 }, { partition: 1, fault: 'idle' }, { partition: 0 }, { partition: 1 }];
    // No late records: on time at their source, none is late downstream whatever the interleaving.
    const events = bursts(steps, 5, false);
    // One partition in global order: the downstream watermark ends at the max over the idle sources.
    const model = slidingSumModel(events.flat().map((e) => ({ ...e, partition: 0 })), WINDOW);
    expect(model.late).toEqual([]);
    const runner = new JobRunner(createKafka(config, name, log), job, log);
    await runner.start();
    const failures: Record<Fault, number> = { checkpoint: 0, batch: 0, idle: 0 };
    try {
      await feed({ stage: source, steps, events, failures });
      // The last windows fire once both sources are idle; then the window stage checkpoints up to the end of its input.
      await waitFor('every window result', async () => (await readResults(output)).length >= model.results.length, 60_000, 500);
      // Nothing more to come: the window stage has checkpointed every record of its input (whose
      // tail is the sources' commit markers, which no consumer resolves).
      const last = new Map<number, bigint>();
      await readToEnd(kafka, sum.input, (m, partition) => void last.set(partition, BigInt(m.offset)));
      await waitFor('the window stage checkpointed its whole input', async () => {
        const done = await committed(`rtdw-${sum.name}`, sum.input);
        return [...last].every(([p, offset]) => (done.get(p) ?? -1n) > offset);
      });
    } finally {
      await runner.stop();
    }
    expect(model.results.length).toBeGreaterThan(50);
    expect(difference(await readResults(output), model.results)).toEqual({ extra: [], missing: [] });
    expect(await readLate(`${name}-late`)).toEqual([]);
    expect(failures).toEqual({ checkpoint: 0, batch: 0, idle: 2 });
    for (const step of ['checkpoint', 'batch', 'idle'] as const) expect(await metric('rtdw_stage_transaction_failures_total', { stage: source.name, step })).toBe(failures[step]);
    expect(await metric('rtdw_stage_transaction_failures_total', { stage: sum.name })).toBe(0);
    // The fenced transactions' re-keyed records are on the broker, aborted.
    expect(await readUncommitted(sum.input)).toBeGreaterThan(events.flat().length + 2 * BURST);
  }, 240_000);
});

/**
 * A source stage that re-keys the input and goes idle 2 s after its last record (checkpoints are
 * due only after 30 s, so the idle marker ends each burst's transaction), and a sliding-window sum
 * behind it, whose watermark moves only through the source's markers and idleness.
 */
function idleJob(name: string, input: string, output: string): JobSpec {
  const byKey = `${name}-by-key`;
  const late = `${name}-late`;
  const deadLetter = `${name}-dead-letter`;
  return {
    name,
    stages: [
      {
        name: `${name}-source`,
        input,
        outputs: [{ topic: byKey, partitions: PARTITIONS, forwardWatermarks: true }, { topic: deadLetter, partitions: 1 }],
        checkpointIntervalMs: 30_000,
        idleTimeoutMs: 2000,
        createProcessor: repartitionStage({
          parse: (m) => {
            const e = JSON.parse(String(m.value)) as { key: string; ts: number; value: number };
            return { timestamp: e.ts, records: [{ key: e.key, value: e.value }] };
          },
          output: byKey,
          watermarks: { outOfOrdernessMs: WINDOW.outOfOrdernessMs },
          deadLetterTopic: deadLetter,
        }),
      },
      {
        name: `${name}-sum`,
        input: byKey,
        outputs: [{ topic: output, partitions: PARTITIONS }, { topic: late, partitions: 1 }, { topic: deadLetter, partitions: 1 }],
        checkpointIntervalMs: 300,
        createProcessor: windowStage({
          parse: envelopeParser((v) => BigInt(v as number)),
          window: { assigner: slidingWindows(WINDOW.size, WINDOW.slide), aggregate: sumDecimal(0) },
          watermarks: 'upstream',
          output: {
            topic: output,
            encode: (r) => ({ key: JSON.stringify([r.key, r.window.start, r.window.end]), value: JSON.stringify({ key: r.key, start: r.window.start, end: r.window.end, sum: r.value, kind: r.kind }) }),
          },
          lateTopic: late,
          deadLetterTopic: deadLetter,
        }),
      },
    ],
  };
}

/**
 * The two DWD jobs on Kafka (JobRunner, every stage) over a fixed binlog and event log written to a
 * private namespace, stopped and restarted from their checkpoints between two phases of input. The
 * output topics folded by key (highest _version) must equal SQL over the source rows and events
 * (test/warehouse/dwd-scenario.ts); late changes, late events and dead letters must be the expected ones.
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../connectors/kafka/client.js';
import { readToEnd } from '../../connectors/kafka/read-to-end.js';
import { ensureTopics } from '../../connectors/kafka/topics.js';
import { createLogger } from '../../connectors/observability/logger.js';
import { adEventJob } from '../../jobs/dwd/ad-event.js';
import { PIPELINE_DEFAULTS, dwdTopics, type DwdJobOptions } from '../../jobs/dwd/options.js';
import { orderWideJob } from '../../jobs/dwd/order-wide.js';
import { JobRunner } from '../../jobs/runtime/job.js';
import { WATERMARK_HEADER } from '../../jobs/runtime/watermark-marker.js';
import { config, uniqueName } from '../support/stack.js';
import {
  ALLOWED_LATENESS_MS,
  BLACKLIST_CLICKS,
  OUT_OF_ORDERNESS_MS,
  PARTITIONS,
  RETENTION_MS,
  SourceDb,
  ZONE,
  binlogPhase1,
  binlogPhase2,
  eventsPhase1,
  eventsPhase2,
  expectedAdEvents,
  type SourceRecord,
} from './dwd-scenario.js';

const log = createLogger('dwd-it', 'error');
const kafka: Kafka = createKafka(config, 'dwd-it', log);
const namespace = uniqueName('dwd');
const topics = dwdTopics(namespace);
const options: DwdJobOptions = {
  ...PIPELINE_DEFAULTS,
  namespace,
  timeZone: ZONE,
  outOfOrdernessMs: OUT_OF_ORDERNESS_MS,
  idleTimeoutMs: 2000,
  stateRetentionMs: RETENTION_MS,
  allowedLatenessMs: ALLOWED_LATENESS_MS,
  blacklistClicks: BLACKLIST_CLICKS,
  partitions: PARTITIONS,
  checkpointIntervalMs: 300,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = Record<string, unknown>;

async function readValues(topic: string): Promise<Array<{ key: string | null; value: Json }>> {
  const out: Array<{ key: string | null; value: Json }> = [];
  await readToEnd(kafka, topic, (m) => {
    // The jobs' outputs carry their watermark markers for the stages and sinks downstream.
    if (m.headers?.[WATERMARK_HEADER] !== undefined) return;
    out.push({ key: m.key?.toString() ?? null, value: JSON.parse(String(m.value)) as Json });
  });
  return out;
}

/** The latest row per key (highest _version), without _version; checks versions never repeat for a key. */
async function folded(topic: string): Promise<Map<string, Json>> {
  const latest = new Map<string, Json>();
  for (const { key, value } of await readValues(topic)) {
    const seen = latest.get(String(key));
    if (seen !== undefined && (seen._version as number) === (value._version as number)) throw new Error(`${topic}: two rows of key ${key} with _version ${String(value._version)}`);
    if (seen === undefined || (value._version as number) > (seen._version as number)) latest.set(String(key), value);
  }
  return new Map([...latest].map(([k, { _version, ...row }]) => [k, row]));
}

/** dwd_order_wide folded: a deleted order as just its id (FINAL drops it; its other columns are whatever was last known). */
async function orderWide(): Promise<Map<string, Json>> {
  return new Map([...(await folded(topics.dwdOrderWide))].map(([k, row]) => [k, row._is_deleted === 1 ? { order_id: row.order_id, _is_deleted: 1 } : row]));
}

/** Polls until `check` passes (outputs appear at checkpoints), then returns; rethrows its last failure at the deadline. */
async function eventually(check: () => Promise<void>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

async function produce(producer: Producer, topic: string, records: readonly SourceRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    await producer.send({ topic, acks: -1, messages: records.slice(i, i + 500).map((r) => ({ partition: r.partition, key: r.key, value: r.value })) });
  }
}

/** A stage has read its input to the end: its committed offsets (written with its outputs) reach the end of every partition. */
async function caughtUp(admin: Admin, stage: string, topic: string): Promise<void> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
  const [committed] = await admin.fetchOffsets({ groupId: `rtdw-${stage}`, topics: [topic] });
  const behind = committed?.partitions.filter((p) => p.offset !== ends.get(p.partition)) ?? [];
  if (committed === undefined || behind.length > 0) throw new Error(`${stage} has not read ${topic} to the end`);
}

/** Throws naming the first keys whose rows differ, with both rows. */
function expectSameRows(got: Map<string, Json>, want: Map<string, Json>): void {
  const keys = [...new Set([...got.keys(), ...want.keys()])].sort();
  const differ = keys.filter((k) => JSON.stringify(got.get(k)) !== JSON.stringify(want.get(k)));
  if (differ.length === 0) return;
  const shown = differ.slice(0, 5).map((k) => `  ${k}:\n    got  ${JSON.stringify(got.get(k))}\n    want ${JSON.stringify(want.get(k))}`);
  throw new Error(`${differ.length} of ${keys.length} rows differ:\n${shown.join('\n')}`);
}

describe('DWD jobs on Kafka: order wide table, ad events and blacklist', () => {
  let admin: Admin;
  let producer: Producer;
  let runners: JobRunner[] = [];
  const db = new SourceDb();
  const start = async () => {
    runners = [new JobRunner(kafka, orderWideJob(options), log), new JobRunner(kafka, adEventJob(options), log)];
    await Promise.all(runners.map((r) => r.start()));
  };
  const stop = async () => {
    await Promise.all(runners.map((r) => r.stop()));
    runners = [];
  };

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    await ensureTopics(admin, [{ topic: topics.odsBinlog, partitions: PARTITIONS }, { topic: topics.odsEvents, partitions: PARTITIONS }]);
  });

  afterAll(async () => {
    await stop().catch(() => undefined);
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('equals SQL over the source rows and the deduplicated events, across a restart', { timeout: 300_000 }, async () => {
    // phase 1: the binlog first, so that every task holds the areas before the first event
    binlogPhase1(db);
    await produce(producer, topics.odsBinlog, db.records);
    await start();
    await eventually(() => caughtUp(admin, `${namespace}.dwd_ad_event.areas`, topics.odsBinlog));
    const phase1 = eventsPhase1();
    await produce(producer, topics.odsEvents, phase1.records);
    await eventually(async () => expectSameRows(await orderWide(), new Map([...db.expectedWide(new Set())].map(([id, row]) => [String(id), row]))));
    // every page view is out once both source partitions were read; clicks once the watermark passed them
    await eventually(async () => {
      const rows = await folded(topics.dwdAdEvent);
      const views = phase1.events.filter((e) => e.type !== 'ad_click' && !phase1.unknownArea.includes(e));
      expect(views.filter((e) => !rows.has(e.event_id))).toEqual([]);
      expect([...rows.values()].some((r) => r.type === 'ad_click')).toBe(true);
    });
    const midway = (await readValues(topics.dwdAdEvent)).length;
    await stop();

    // phase 2 after a restart from the checkpoints: late input, corrections, more input, and events far ahead
    const before = db.records.length;
    const { late: lateOrder } = binlogPhase2(db);
    await produce(producer, topics.odsBinlog, db.records.slice(before));
    const phase2 = eventsPhase2();
    await produce(producer, topics.odsEvents, phase2.records);
    await start();

    const expectedWide = new Map([...db.expectedWide(new Set([lateOrder]))].map(([id, row]) => [String(id), row]));
    await eventually(async () => expectSameRows(await orderWide(), expectedWide));
    const { rows, blacklist } = expectedAdEvents([...phase1.events, ...phase2.events], phase1.unknownArea, db.areas);
    await eventually(async () => expectSameRows(await folded(topics.dwdAdEvent), rows));
    await eventually(async () => expectSameRows(await folded(topics.dimBlacklist), blacklist));
    await stop();

    // the scenario did what it is meant to: the bot crossed on both days, some rows were replaced, the restart landed mid-input
    expect([...blacklist.values()].filter((b) => b.user_id === 900).map((b) => b.day)).toEqual(['2026-01-01', '2026-01-02']);
    expect([...rows.values()].filter((r) => r.counted === 0).length).toBeGreaterThan(5);
    expect([...expectedWide.values()].filter((r) => r.first_paid_at !== null).length).toBeGreaterThan(10);
    expect(midway).toBeGreaterThan(0);
    expect(midway).toBeLessThan(rows.size);

    const lateChanges = (await readValues(topics.lateChanges)).map((r) => r.value);
    expect(lateChanges).toEqual([expect.objectContaining({ job: 'dwd_order_wide', table: 'orders', order_id: lateOrder })]);
    const lateEvents = (await readValues(topics.lateEvents)).map((r) => (r.value.event as Json).event_id).sort();
    expect(lateEvents).toEqual(phase2.late.map((e) => e.event_id).sort());
    const deadLetters = (await readValues(topics.deadLetter)).map((r) => String(r.value.reason)).sort();
    expect(deadLetters).toEqual(
      [
        // the binlog junk, once per job reading the binlog
        'canal message: es must be epoch ms',
        'canal message: es must be epoch ms',
        'dwd_ad_event: unknown area_id 99 (no areas row by the time the event would be late)',
        'event: not JSON',
      ].sort(),
    );
  });
});

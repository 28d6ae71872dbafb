/** The DWD stage processors on hand-made records, no Kafka: broadcast repartitioning, the changelog join and the click blacklist behind internal topics, restore. */
import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { changelogJoinStage } from './changelog-join-stage.js';
import { clickBlacklistStage } from './click-blacklist-stage.js';
import { TimeZone } from './core/index.js';
import { encodeEnvelope } from './envelope.js';
import { repartitionStage } from './repartition-stage.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

let offset = 0;
function message(key: string | null, value: string | null): KafkaMessage {
  return { key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: '0', attributes: 0, offset: String(offset++), headers: {} };
}
const envelope = (key: string, t: number, v: unknown): KafkaMessage => message(key, encodeEnvelope({ t, v }));
const fedBy = (...upstream: string[]): StageContext => ({ partition: 0, upstream });
const values = (out: Emitted[], topic: string): unknown[] => out.filter((e) => e.topic === topic).map((e) => (e.value === null ? null : JSON.parse(e.value)));

/** Runs steps, checkpointing after `cut` of them into a compacted changelog, restores a fresh processor from it, and runs the rest there. */
function withRestore(create: () => PartitionProcessor, steps: ReadonlyArray<(p: PartitionProcessor) => Emitted[]>, cut: number): Emitted[] {
  const first = create();
  const out = steps.slice(0, cut).flatMap((step) => step(first));
  const state = new Map<string, string>();
  for (const [key, json] of first.changes()) {
    if (json === null) state.delete(key);
    else state.set(key, json);
  }
  const restored = create();
  restored.restore(state);
  return [...out, ...steps.slice(cut).flatMap((step) => step(restored))];
}

describe('repartition stage: record event times and broadcast', () => {
  const stage = repartitionStage({
    parse: (m, partition) => {
      const e = JSON.parse(String(m.value)) as { es: number; created?: number; area?: string; order?: string };
      if (e.area !== undefined) return { timestamp: e.es, records: [{ key: e.area, value: { area: e.area, from: partition }, broadcast: true }] };
      return { timestamp: e.es, records: [{ key: e.order as string, value: e.order, timestamp: e.created }] };
    },
    output: 'internal',
    outputPartitions: 3,
    watermarks: { outOfOrdernessMs: 0 },
    deadLetterTopic: 'dlq',
  });

  it('stamps a record with its own event time while the binlog time drives the watermark', () => {
    const p = stage({ partition: 2, upstream: [] });
    const out = p.onRecord(message(null, JSON.stringify({ es: 10_000, created: 3_000, order: 'o1' })));
    expect(out).toEqual([{ topic: 'internal', key: 'o1', value: encodeEnvelope({ t: 3_000, v: 'o1' }) }]);
    expect(p.outputWatermark()).toBe(9_999);
  });

  it('writes a broadcast record into every partition of the output, and knows its source partition', () => {
    const p = stage({ partition: 2, upstream: [] });
    const out = p.onRecord(message(null, JSON.stringify({ es: 5, area: 'a1' })));
    expect(out.map((e) => [e.partition, e.key, e.value])).toEqual([0, 1, 2].map((partition) => [partition, 'a1', encodeEnvelope({ t: 5, v: { area: 'a1', from: 2 } })]));
  });

  it('dead-letters a broadcast when the output partition count is unknown, and a record time that is not an integer', () => {
    const bare = repartitionStage({
      parse: () => ({ timestamp: 1, records: [{ key: 'k', value: 1, broadcast: true }] }),
      output: 'internal',
      watermarks: { outOfOrdernessMs: 0 },
      deadLetterTopic: 'dlq',
    })({ partition: 0, upstream: [] });
    expect(values(bare.onRecord(message(null, '{}')), 'dlq')).toEqual([expect.objectContaining({ reason: expect.stringContaining('outputPartitions') })]);
    const p = stage({ partition: 0, upstream: [] });
    expect(values(p.onRecord(message(null, JSON.stringify({ es: 5, created: 1.5, order: 'o' }))), 'dlq')).toEqual([expect.objectContaining({ reason: 'event time must be integer epoch ms, got 1.5' })]);
  });
});

interface Order {
  area: string;
  amount: string;
}
interface Payment {
  ok: boolean;
  amount: string;
}

describe('changelog join stage', () => {
  const create = changelogJoinStage<Order, Payment, string, { order: string; city: string | null; paid: string | null }>({
    join: {
      lowerBound: 0,
      upperBound: 100,
      retentionMs: 1000,
      matches: (p) => p.ok,
      compareIds: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
      dimensionOf: (o) => o.area,
      result: (o, first, city) => ({ order: o.row.amount, city: city ?? null, paid: first?.row.amount ?? null }),
    },
    input: (key, { t, v }) => {
      const c = v as { side: string; op: 'upsert' | 'delete'; id: string; row: Order & Payment & { city: string } };
      if (c.side === 'left') return { side: 'left', op: c.op, key, time: t, row: c.row };
      if (c.side === 'right') return { side: 'right', op: c.op, key, id: c.id, time: t, row: c.row };
      if (c.side === 'dimension') return c.op === 'upsert' ? { side: 'dimension', op: 'upsert', id: key, row: c.row.city } : { side: 'dimension', op: 'delete', id: key };
      throw new Error(`not a change: ${JSON.stringify(v)}`);
    },
    output: { topic: 'wide', encode: (r) => ({ key: r.key, value: JSON.stringify({ ...r.value, _version: r.version, _is_deleted: r.kind === 'delete' ? 1 : 0 }) }) },
    late: { topic: 'late', encode: (l) => ({ key: l.change.key, value: JSON.stringify({ reason: l.reason, side: l.change.side, time: l.change.time }) }) },
    watermarks: 'upstream',
    deadLetterTopic: 'dlq',
  });
  const order = (key: string, t: number, amount: string, op: 'upsert' | 'delete' = 'upsert') => (p: PartitionProcessor) => p.onRecord(envelope(key, t, { side: 'left', op, row: { area: 'a1', amount } }));
  const pay = (key: string, id: string, t: number, ok = true) => (p: PartitionProcessor) => p.onRecord(envelope(key, t, { side: 'right', op: 'upsert', id, row: { ok, amount: `p${id}` } }));
  const city = (id: string, name: string) => (p: PartitionProcessor) => p.onRecord(envelope(id, 0, { side: 'dimension', op: 'upsert', row: { city: name } }));
  const watermark = (w: number) => (p: PartitionProcessor) => [...p.onWatermark('binlog/0', w), ...p.onWatermark('binlog/1', w)];

  it('upserts the wide row as either side changes, deletes it with the order, and routes changes past the retention to the late topic', () => {
    const p = create(fedBy('binlog/0', 'binlog/1'));
    expect(values(city('a1', 'Hangzhou')(p), 'wide')).toEqual([]);
    expect(values(order('o1', 1000, '10.00')(p), 'wide')).toEqual([{ order: '10.00', city: 'Hangzhou', paid: null, _version: 1, _is_deleted: 0 }]);
    expect(values(pay('o1', '7', 1100)(p), 'wide')).toEqual([{ order: '10.00', city: 'Hangzhou', paid: 'p7', _version: 2, _is_deleted: 0 }]);
    expect(values(city('a1', 'Ningbo')(p), 'wide')).toEqual([{ order: '10.00', city: 'Ningbo', paid: 'p7', _version: 3, _is_deleted: 0 }]);
    expect(values(order('o1', 1000, '10.00', 'delete')(p), 'wide')).toEqual([{ order: '10.00', city: 'Ningbo', paid: 'p7', _version: 4, _is_deleted: 1 }]);
    watermark(5000)(p);
    expect(values(order('o2', 3000, '1.00')(p), 'late')).toEqual([{ reason: 'older-than-retention', side: 'left', time: 3000 }]);
    expect(p.stats().late).toBe(1);
    expect(values(p.onRecord(envelope('o3', 6000, { side: 'nowhere' })), 'dlq')).toEqual([expect.objectContaining({ reason: 'not a change: {"side":"nowhere"}' })]);
  });

  it('restored from its changelog mid-stream, emits exactly what an uninterrupted run emits', () => {
    const steps: Array<(p: PartitionProcessor) => Emitted[]> = [city('a1', 'Hangzhou')];
    for (let i = 0; i < 40; i++) {
      steps.push(order(`o${i % 6}`, i * 50, `${i}.00`));
      steps.push(pay(`o${(i * 7) % 6}`, `${i % 5}`, i * 50 + 30, i % 3 !== 0));
      if (i % 9 === 0) steps.push(city('a1', `city${i}`));
      if (i % 4 === 3) steps.push(watermark(i * 50 - 600));
    }
    const uninterrupted = create(fedBy('binlog/0', 'binlog/1'));
    const all = steps.flatMap((step) => step(uninterrupted));
    for (const cut of [1, 17, 61, steps.length - 1]) expect(withRestore(() => create(fedBy('binlog/0', 'binlog/1')), steps, cut)).toEqual(all);
    expect(all.filter((e) => e.topic === 'wide').length).toBeGreaterThan(40);
  });
});

describe('click blacklist stage', () => {
  const create = clickBlacklistStage<{ user: string }, string>({
    blacklist: { allowedLateness: 1000, threshold: 1, timeZone: TimeZone.of('UTC') },
    input: (key, { t, v }) => {
      const r = v as { id?: string; ad?: string | null; area: string; city?: string };
      if (r.city !== undefined) return { kind: 'dimension', id: r.area, row: r.city };
      return { kind: 'event', event: { id: r.id as string, time: t, dimensionId: r.area, clickOn: r.ad ?? null, payload: { user: key } } };
    },
    events: { topic: 'events', encode: (o) => ({ key: o.event.id, value: JSON.stringify({ id: o.event.id, city: o.dimension, counted: o.counted ? 1 : 0, _version: o.version }) }) },
    blacklisted: { topic: 'blacklist', encode: (o) => ({ key: `${o.key}|${o.adId}|${o.day}`, value: JSON.stringify({ user: o.key, ad: o.adId, day: o.day, since: o.since, _version: o.version }) }) },
    late: { topic: 'late', encode: (o) => ({ key: o.event.id, value: JSON.stringify({ id: o.event.id, watermark: o.watermark }) }) },
    unresolved: { encode: (o) => ({ key: o.event.id, value: JSON.stringify({ reason: `unknown area ${o.event.dimensionId}` }) }) },
    watermarks: 'upstream',
    deadLetterTopic: 'dlq',
  });
  const click = (id: string, t: number, area = 'a1') => (p: PartitionProcessor) => p.onRecord(envelope('u1', t, { id, ad: 'ad9', area }));
  const view = (id: string, t: number, area = 'a1') => (p: PartitionProcessor) => p.onRecord(envelope('u1', t, { id, area }));
  const area = (id: string, name: string) => (p: PartitionProcessor) => p.onRecord(envelope(id, 0, { area: id, city: name }));
  const watermark = (w: number) => (p: PartitionProcessor) => p.onWatermark('events/0', w);

  it('releases clicks when the watermark passes them, in (ts, id) order, and routes late events and unknown areas', () => {
    const p = create(fedBy('events/0'));
    area('a1', 'Hangzhou')(p);
    expect(values(view('v', 10)(p), 'events')).toEqual([{ id: 'v', city: 'Hangzhou', counted: 1, _version: 1 }]);
    expect(click('c2', 20)(p)).toEqual([]);
    expect(click('c1', 20)(p)).toEqual([]);
    const out = watermark(20)(p);
    expect(values(out, 'events')).toEqual([
      { id: 'c1', city: 'Hangzhou', counted: 1, _version: 2 },
      { id: 'c2', city: 'Hangzhou', counted: 0, _version: 4 },
    ]);
    expect(values(out, 'blacklist')).toEqual([{ user: 'u1', ad: 'ad9', day: '1970-01-01', since: 20, _version: 3 }]);
    expect(view('x', 30, 'a7')(p)).toEqual([]);
    watermark(2000)(p);
    expect(values(view('old', 1000)(p), 'late')).toEqual([{ id: 'old', watermark: 2000 }]);
    expect(values(watermark(1030)(p), 'dlq')).toEqual([]);
    expect(p.stats().late).toBe(1);
  });

  it('dead-letters an event whose area is still unknown once it would be late', () => {
    const p = create(fedBy('events/0'));
    view('x', 30, 'a7')(p);
    expect(values(watermark(1029)(p), 'dlq')).toEqual([]);
    expect(values(watermark(1030)(p), 'dlq')).toEqual([{ reason: 'unknown area a7' }]);
  });

  it('restored from its changelog mid-stream, emits exactly what an uninterrupted run emits', () => {
    const steps: Array<(p: PartitionProcessor) => Emitted[]> = [area('a1', 'Hangzhou')];
    for (let i = 0; i < 50; i++) {
      steps.push(i % 3 === 0 ? view(`v${i}`, i * 40, i % 10 === 0 ? 'a2' : 'a1') : click(`c${i}`, i * 40 - (i % 4) * 30));
      if (i === 20) steps.push(area('a2', 'Ningbo'));
      if (i % 5 === 4) steps.push(watermark(i * 40 - 100));
    }
    steps.push(watermark(10_000));
    const uninterrupted = create(fedBy('events/0'));
    const all = steps.flatMap((step) => step(uninterrupted));
    for (const cut of [1, 23, 50, steps.length - 1]) expect(withRestore(() => create(fedBy('events/0')), steps, cut)).toEqual(all);
    expect(all.filter((e) => e.topic === 'blacklist').length).toBeGreaterThan(0);
  });
});

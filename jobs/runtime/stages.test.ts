/** The stage processors on hand-made records, no Kafka: watermarks across stages, joins, TopN, restore. */
import { describe, expect, it } from 'vitest';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { count, slidingWindows, tumblingWindows } from './core/index.js';
import { encodeEnvelope } from './envelope.js';
import { intervalJoinStage, windowJoinStage } from './join-stages.js';
import { repartitionStage } from './repartition-stage.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';
import { topNStage } from './topn-stage.js';
import { WATERMARK_HEADER, readWatermarkMarker, watermarkMarkers } from './watermark-marker.js';
import { envelopeParser, windowResultsTo, windowStage } from './window-stage.js';

let offset = 0;
function message(key: string | null, value: string | null, headers?: IHeaders): KafkaMessage {
  return { key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: '0', attributes: 0, offset: String(offset++), headers: headers ?? {} };
}

const envelope = (key: string, t: number, v: unknown, s?: 'left' | 'right'): KafkaMessage => message(key, encodeEnvelope({ t, v, ...(s === undefined ? {} : { s }) }));
const source: StageContext = { partition: 0, upstream: [] };
const fedBy = (...upstream: string[]): StageContext => ({ partition: 0, upstream });
const values = (out: Emitted[], topic: string): unknown[] => out.filter((e) => e.topic === topic).map((e) => (e.value === null ? null : JSON.parse(e.value)));

describe('watermark markers', () => {
  it('go to every partition of every fed topic and read back', () => {
    const out = watermarkMarkers({ producer: 's/1', watermark: 42 }, [{ topic: 'a', partitions: 2 }, { topic: 'b', partitions: 1 }]);
    expect(out.map((e) => `${e.topic}/${e.partition}`)).toEqual(['a/0', 'a/1', 'b/0']);
    const first = out[0] as Emitted;
    expect(readWatermarkMarker(message(null, first.value, first.headers))).toEqual({ producer: 's/1', watermark: 42 });
    const idle = watermarkMarkers({ producer: 's/1', watermark: null }, [{ topic: 'a', partitions: 1 }])[0] as Emitted;
    expect(readWatermarkMarker(message(null, idle.value, idle.headers))).toEqual({ producer: 's/1', watermark: null });
  });

  it('a data record is not a marker; a malformed marker is an error', () => {
    expect(readWatermarkMarker(message('k', '{}'))).toBeUndefined();
    expect(() => readWatermarkMarker(message(null, '{"watermark":"soon"}', { [WATERMARK_HEADER]: 's/0' }))).toThrow(/malformed watermark marker from s\/0/);
  });
});

describe('repartition stage', () => {
  const stage = repartitionStage({
    parse: (m) => {
      const e = JSON.parse(String(m.value)) as { user: string; ts: number };
      return { timestamp: e.ts, records: e.user === '' ? [] : [{ key: e.user, value: e }] };
    },
    output: 'by-user',
    side: 'left',
    watermarks: { outOfOrdernessMs: 10 },
    deadLetterTopic: 'dlq',
  });

  it('re-keys into envelopes with the event time and side, and generates the watermark', () => {
    const p = stage(source);
    const out = p.onRecord(message('o1', JSON.stringify({ user: 'u7', ts: 1000 })));
    expect(out).toEqual([{ topic: 'by-user', key: 'u7', value: encodeEnvelope({ t: 1000, s: 'left', v: { user: 'u7', ts: 1000 } }) }]);
    // Flink forBoundedOutOfOrderness: max - bound - 1
    expect(p.outputWatermark()).toBe(989);
    // filtered out, but its time still moves the watermark
    expect(p.onRecord(message('o2', JSON.stringify({ user: '', ts: 2000 })))).toEqual([]);
    expect(p.outputWatermark()).toBe(1989);
    expect(values(p.onRecord(message('o3', 'nope')), 'dlq')).toEqual([expect.objectContaining({ reason: expect.stringContaining('not valid JSON') })]);
  });

  it('refuses to generate a watermark when upstream stages forward theirs', () => {
    expect(() => stage(fedBy('a/0'))).toThrow(/generates its own watermark/);
  });

  it('dead-letters a marker arriving at a stage that generates its own watermark', () => {
    const p = stage(source);
    expect(values(p.onWatermark('x/0', 5), 'dlq')).toEqual([{ reason: 'watermark marker from x/0 into a stage that generates its own watermark' }]);
  });
});

describe('window stage behind an internal topic', () => {
  const create = windowStage({
    parse: envelopeParser((v) => v as string),
    window: { assigner: tumblingWindows(100), aggregate: count() },
    watermarks: 'upstream',
    output: windowResultsTo('results', (key) => key.split('|')[0] as string),
    lateTopic: 'late',
    deadLetterTopic: 'dlq',
  });

  it('fires only once every upstream task has passed end - 1, as the min of their watermarks', () => {
    const p = create(fedBy('a/0', 'a/1'));
    expect(p.onRecord(envelope('x|1', 10, 'r1'))).toEqual([]);
    expect(p.onRecord(envelope('x|1', 50, 'r2'))).toEqual([]);
    expect(p.onWatermark('a/0', 500)).toEqual([]);
    expect(p.onWatermark('a/1', 98)).toEqual([]);
    const fired = p.onWatermark('a/1', 99);
    expect(fired.map((e) => e.key)).toEqual(['x']);
    // a window result is stamped with the window's max timestamp
    expect(values(fired, 'results')).toEqual([{ t: 99, v: { kind: 'result', key: 'x|1', start: 0, end: 100, value: 2 } }]);
    expect(p.outputWatermark()).toBe(99);
    // behind the combined watermark: the late output
    expect(values(p.onRecord(envelope('x|1', 20, 'r3')), 'late')).toEqual([expect.objectContaining({ key: 'x|1', timestamp: 20 })]);
  });

  it('leaves idle tasks out, is idle when all are, and flushes their max then', () => {
    const p = create(fedBy('a/0', 'a/1', 'a/2'));
    p.onRecord(envelope('k', 150, 'r'));
    p.onWatermark('a/0', 300);
    p.onWatermark('a/2', 120);
    p.onWatermark('a/1', 250);
    expect(p.outputWatermark()).toBe(120);
    // min(300, 250): window [100, 200) fires
    expect(values(p.onWatermark('a/2', null), 'results')).toEqual([{ t: 199, v: { kind: 'result', key: 'k', start: 100, end: 200, value: 1 } }]);
    expect(p.outputWatermark()).toBe(250);
    expect(p.isIdle()).toBe(false);
    p.onWatermark('a/0', null);
    p.onWatermark('a/1', null);
    expect(p.isIdle()).toBe(true);
    expect(p.outputWatermark()).toBe(300);
  });

  it('restored from its changelog mid-stream, emits exactly what an uninterrupted run emits', () => {
    const steps: Array<(p: PartitionProcessor) => Emitted[]> = [];
    for (let i = 0; i < 60; i++) {
      steps.push((p) => p.onRecord(envelope(`k${i % 7}`, i * 13, `r${i}`)));
      if (i % 5 === 4) steps.push((p) => [...p.onWatermark('a/0', i * 13 - 20), ...p.onWatermark('a/1', i * 13 - 40)]);
    }
    const uninterrupted = create(fedBy('a/0', 'a/1'));
    const expected = steps.flatMap((step) => step(uninterrupted));
    const first = create(fedBy('a/0', 'a/1'));
    const state = new Map<string, string>();
    const got: Emitted[] = [];
    for (const [i, step] of steps.entries()) {
      got.push(...step(first));
      if (i === 37) {
        for (const [key, json] of first.changes()) {
          if (json === null) state.delete(key);
          else state.set(key, json);
        }
        break;
      }
    }
    const restored = create(fedBy('a/0', 'a/1'));
    restored.restore(state);
    for (const step of steps.slice(38)) got.push(...step(restored));
    expect(got).toEqual(expected);
    expect(expected.filter((e) => e.topic === 'results').length).toBeGreaterThan(5);
  });
});

describe('TopN stage over window results', () => {
  const create = topNStage({
    topN: { n: 2, groupOf: (key) => key.split('|')[0] as string, score: (v: number) => v },
    value: (v) => v as number,
    output: { topic: 'top', encode: (r) => ({ key: `${r.group}|${r.window.start}`, value: JSON.stringify(r.ranking.map((i) => `${i.key}=${i.score}`)) }) },
    watermarks: 'upstream',
    lateTopic: 'late',
    deadLetterTopic: 'dlq',
  });
  const result = (key: string, value: number): KafkaMessage => envelope(key.split('|')[0] as string, 99, { kind: 'result', key, start: 0, end: 100, value });

  it('ranks the results of every upstream task once the combined watermark passes the window', () => {
    const p = create(fedBy('w/0', 'w/1'));
    p.onRecord(result('zj|hz', 5));
    p.onRecord(result('zj|nb', 9));
    expect(p.onWatermark('w/0', 99)).toEqual([]);
    p.onRecord(result('zj|wz', 7));
    const ranked = p.onWatermark('w/1', 99);
    expect(ranked).toEqual([{ topic: 'top', key: 'zj|0', value: JSON.stringify(['zj|nb=9', 'zj|wz=7']) }]);
    // a result for a window already cleaned up
    expect(values(p.onRecord(result('zj|sx', 1)), 'late')).toEqual([expect.objectContaining({ reason: 'window-expired', key: 'zj|sx' })]);
    expect(values(p.onRecord(envelope('zj', 5, { nope: true })), 'dlq')).toEqual([expect.objectContaining({ reason: expect.stringContaining('not a window result') })]);
  });
});

describe('join stages', () => {
  const opts = {
    left: (v: unknown) => v as string,
    right: (v: unknown) => v as string,
    watermarks: 'upstream' as const,
    lateTopic: 'late',
    deadLetterTopic: 'dlq',
  };

  it('interval join: bounds inclusive, output at max(left, right), late inputs to the late topic', () => {
    const p = intervalJoinStage({ ...opts, join: { lowerBound: 0, upperBound: 100 }, output: { topic: 'out', encode: (pair) => ({ key: pair.key, value: `${pair.left}+${pair.right}@${pair.timestamp}` }) } })(fedBy('l/0', 'r/0'));
    p.onRecord(envelope('o1', 1000, 'order', 'left'));
    expect(p.onRecord(envelope('o1', 1100, 'pay-at-upper', 'right')).map((e) => e.value)).toEqual(['order+pay-at-upper@1100']);
    expect(p.onRecord(envelope('o1', 1101, 'pay-past-upper', 'right'))).toEqual([]);
    expect(p.onRecord(envelope('o1', 1000, 'pay-at-lower', 'right')).map((e) => e.value)).toEqual(['order+pay-at-lower@1000']);
    p.onWatermark('l/0', 2000);
    p.onWatermark('r/0', 2000);
    expect(values(p.onRecord(envelope('o1', 1500, 'too-late', 'left')), 'late')).toEqual([expect.objectContaining({ side: 'left', timestamp: 1500 })]);
    expect(values(p.onRecord(envelope('o1', 2500, 'no side')), 'dlq')).toEqual([expect.objectContaining({ reason: 'join input without a side' })]);
  });

  it('window join: pairs of a key in the same window, emitted when the window fires', () => {
    const p = windowJoinStage({ ...opts, windows: slidingWindows(100, 50), output: { topic: 'out', encode: (pair) => ({ key: pair.key, value: `${pair.left}+${pair.right}@${pair.window.start}` }) } })(fedBy('l/0', 'r/0'));
    p.onRecord(envelope('ad', 60, 'imp', 'left'));
    p.onRecord(envelope('ad', 90, 'click', 'right'));
    p.onRecord(envelope('ad', 140, 'click2', 'right'));
    p.onWatermark('l/0', 1000);
    const fired = p.onWatermark('r/0', 1000);
    // imp@60 is in [0,100) and [50,150); click@90 in both; click2@140 in [50,150) and [100,200)
    expect(fired.map((e) => e.value).sort()).toEqual(['imp+click2@50', 'imp+click@0', 'imp+click@50']);
  });
});

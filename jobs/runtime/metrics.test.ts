import { describe, expect, it } from 'vitest';
import { dwdTopics } from '../dwd/options.js';
import { slidingSumJob } from '../sliding-sum.js';
import { countEmitted, outputKind, runtimeMetrics } from './metrics.js';

async function value(counter: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> }, stage: string): Promise<number> {
  return (await counter.get()).values.find((v) => v.labels.stage === stage)?.value ?? 0;
}

describe('stage output kinds', () => {
  it('tells the dead-letter and late topics of the pipeline and of jobs sliding-sum from result topics', () => {
    const t = dwdTopics('team_b');
    expect(outputKind(t.deadLetter)).toBe('dead_letter');
    expect(outputKind(t.lateEvents)).toBe('late_event');
    expect(outputKind(t.lateChanges)).toBe('late_change');
    for (const result of [t.dwdOrderWide, t.dwdAdEvent, t.dimBlacklist, t.odsBinlog]) expect(outputKind(result)).toBe('result');
    const sum = slidingSumJob({ name: 'ss', input: 'in', output: 'sums', partitions: 1, sizeMs: 60_000, slideMs: 10_000, outOfOrdernessMs: 0, allowedLatenessMs: 0, checkpointIntervalMs: 1000 });
    expect(sum.outputs.map((o) => [o.topic, outputKind(o.topic)])).toEqual([
      ['sums', 'result'],
      ['sums-late', 'late_event'],
      ['sums-dead-letter', 'dead_letter'],
    ]);
  });

  it('counts every emitted record out, and the dead letters and late records among them per stage', async () => {
    const m = runtimeMetrics();
    const t = dwdTopics('kinds_ns');
    const stage = 'kinds_ns.job.stage';
    const record = (topic: string) => ({ topic, key: null, value: '{}' });
    countEmitted(stage, [record(t.dwdOrderWide), record(t.deadLetter), record(t.deadLetter), record(t.lateEvents), record(t.lateChanges), record(t.lateChanges), record(t.lateChanges)]);
    expect(await value(m.recordsOut, stage)).toBe(7);
    expect(await value(m.deadLetters, stage)).toBe(2);
    expect(await value(m.lateEvents, stage)).toBe(1);
    expect(await value(m.lateChanges, stage)).toBe(3);
  });
});

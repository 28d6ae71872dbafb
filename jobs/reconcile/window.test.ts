import { describe, expect, it } from 'vitest';
import { formatWall } from './wall-clock.js';
import { judgedBuckets, judgedWindow, pendingBuckets } from './window.js';

const at = (iso: string) => Date.parse(iso);

describe('judged window', () => {
  const from = at('2024-05-01T09:00:00Z');
  const to = at('2024-05-01T11:00:00Z');

  it('leaves every bucket pending without a progress row', () => {
    const w = judgedWindow('UTC', from, to, { job: 'ods', watermark: undefined, allowedLatenessMs: 60_000 });
    expect(judgedBuckets(w)).toBe(0);
    expect(pendingBuckets(w)).toBe(24);
    expect(w.pendingReason).toContain('no progress row for job "ods"');
  });

  it('judges a bucket once watermark >= end - 1 ms + allowed lateness (Flink: maxTimestamp + lateness <= watermark)', () => {
    const judgedUntil = (watermark: string) => formatWall(judgedWindow('UTC', from, to, { job: 'ods', watermark: at(watermark), allowedLatenessMs: 60_000 }).judgedUntilWall);
    // Bucket [10:05, 10:10) needs a watermark of 10:09:59.999 + 60 s.
    expect(judgedUntil('2024-05-01T10:10:59.999Z')).toBe('2024-05-01 10:10:00.000');
    expect(judgedUntil('2024-05-01T10:10:59.998Z')).toBe('2024-05-01 10:05:00.000');
    // A watermark past the range judges it all; one before it none.
    expect(judgedUntil('2024-05-02T00:00:00Z')).toBe('2024-05-01 11:00:00.000');
    expect(judgedUntil('2024-05-01T08:00:00Z')).toBe('2024-05-01 09:00:00.000');
    const w = judgedWindow('UTC', from, to, { job: 'ods', watermark: at('2024-05-01T10:12:00Z'), allowedLatenessMs: 60_000 });
    expect([judgedBuckets(w), pendingBuckets(w)]).toEqual([14, 10]);
  });

  it('cuts buckets on the wall clock of the zone and aligns the range outwards to whole buckets', () => {
    const w = judgedWindow('Asia/Shanghai', at('2024-05-01T09:02:00Z'), at('2024-05-01T10:58:00Z'), { job: 'ods', watermark: at('2024-05-01T10:12:00Z'), allowedLatenessMs: 60_000 });
    expect([formatWall(w.fromWall), formatWall(w.judgedUntilWall), formatWall(w.toWall)]).toEqual(['2024-05-01 17:00:00.000', '2024-05-01 18:10:00.000', '2024-05-01 19:00:00.000']);
  });

  it('judges a bucket of a wall time read twice (DST overlap) only once its later pass is over', () => {
    // Paris, 27 Oct 2024: 02:00-03:00 is read twice, 00:00-01:00 UTC (CEST) and 01:00-02:00 UTC (CET).
    const w = judgedWindow('Europe/Paris', at('2024-10-27T00:00:00Z'), at('2024-10-27T03:00:00Z'), { job: 'ods', watermark: at('2024-10-27T00:40:00Z'), allowedLatenessMs: 0 });
    expect(formatWall(w.fromWall)).toBe('2024-10-27 02:00:00.000');
    expect(formatWall(w.judgedUntilWall)).toBe('2024-10-27 02:00:00.000');
    const later = judgedWindow('Europe/Paris', at('2024-10-27T00:00:00Z'), at('2024-10-27T03:00:00Z'), { job: 'ods', watermark: at('2024-10-27T01:40:00Z'), allowedLatenessMs: 0 });
    expect(formatWall(later.judgedUntilWall)).toBe('2024-10-27 02:40:00.000');
  });

  it('refuses an empty range', () => {
    expect(() => judgedWindow('UTC', to, from, { job: 'ods', watermark: undefined, allowedLatenessMs: 0 })).toThrow(/must be before/);
  });
});

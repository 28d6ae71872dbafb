import { describe, expect, it } from 'vitest';
import { dayOf, judgedWindows, windowCounts } from './windows.js';

const at = (iso: string) => Date.parse(iso);
const progress = (watermark: string | undefined, allowedLatenessMs = 60_000) => ({ job: 'ads_x', watermark: watermark === undefined ? undefined : at(watermark), allowedLatenessMs });

describe('judged ADS windows', () => {
  it('judges a 1 h window sliding by 5 min once W >= end - 1 + L', () => {
    const w = judgedWindows('hop_1h', 'UTC', at('2026-01-01T10:02:00Z'), at('2026-01-01T12:00:00Z'), progress('2026-01-01T11:10:59.999Z'));
    // windows starting 10:00 .. 10:10 end by 11:10: judged; 10:15 .. 11:55 pending
    expect([new Date(w.from).toISOString(), new Date(w.until).toISOString()]).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T10:15:00.000Z']);
    expect(windowCounts(w)).toEqual({ judged: 3, pending: 21 });
    const before = judgedWindows('hop_1h', 'UTC', at('2026-01-01T10:02:00Z'), at('2026-01-01T12:00:00Z'), progress('2026-01-01T11:10:59.998Z'));
    expect(windowCounts(before)).toEqual({ judged: 2, pending: 22 });
    expect(windowCounts(judgedWindows('tumble_1m', 'UTC', at('2026-01-01T10:00:00Z'), at('2026-01-01T10:10:00Z'), progress(undefined)))).toEqual({ judged: 0, pending: 10 });
  });

  it('cuts calendar days in the zone: a Shanghai day runs 16:00 to 16:00 UTC (the offset trap)', () => {
    expect(dayOf('Asia/Shanghai', at('2026-01-01T15:59:59.999Z'))).toEqual({ day: '2026-01-01', start: at('2025-12-31T16:00:00Z'), end: at('2026-01-01T16:00:00Z') });
    expect(dayOf('Asia/Shanghai', at('2026-01-01T16:00:00Z')).day).toBe('2026-01-02');
    const w = judgedWindows('day', 'Asia/Shanghai', at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), progress('2026-01-01T16:00:59.999Z'));
    expect([w.days.map((d) => d.day), w.pendingDays.map((d) => d.day)]).toEqual([['2026-01-01'], ['2026-01-02']]);
    expect(judgedWindows('day', 'Asia/Shanghai', at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), progress('2026-01-01T16:00:59.998Z')).days).toEqual([]);
  });

  it('ends a day with a repeated midnight at its later occurrence, and gives a day without its first hour 23 h', () => {
    // Asuncion's clocks went back from 00:00 to 23:00 on 2024-03-24: 23:00-24:00 of the 23rd is read twice
    const back = dayOf('America/Asuncion', at('2024-03-23T12:00:00Z'));
    expect(back).toEqual({ day: '2024-03-23', start: at('2024-03-23T03:00:00Z'), end: at('2024-03-24T04:00:00Z') });
    // Santiago skipped 00:00-01:00 on 2024-09-08: that day starts at 01:00 local
    const skipped = dayOf('America/Santiago', at('2024-09-08T12:00:00Z'));
    expect([skipped.day, (skipped.end - skipped.start) / 3_600_000]).toEqual(['2024-09-08', 23]);
  });
});

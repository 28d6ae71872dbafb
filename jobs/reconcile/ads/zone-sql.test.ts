import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { earliestInstant } from '../wall-clock.js';
import { instantBySpans, instantSql, offsetSpans } from './zone-sql.js';

const at = (iso: string) => Date.parse(iso);

describe('offset spans of a zone (the CASE of a DATETIME instant in MySQL)', () => {
  it('has one span where the offset does not change', () => {
    expect(offsetSpans('Asia/Shanghai', at('2026-01-01T00:00:00Z'), at('2026-01-03T00:00:00Z'))).toEqual([{ fromWall: undefined, offsetMs: 8 * 3_600_000 }]);
    const f = instantSql('o', 'created_at', [{ fromWall: undefined, offsetMs: 28_800_000 }]);
    expect(f.sql).toBe("((TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', `o`.`created_at`) DIV 1000) - ?)");
    expect(f.params).toEqual([28_800_000]);
  });

  it('cuts at T + the larger offset (Paris: spring gap 02:00-03:00, autumn overlap 02:00-03:00)', () => {
    const spans = offsetSpans('Europe/Paris', at('2024-03-30T00:00:00Z'), at('2024-10-28T00:00:00Z'));
    expect(spans.map((s) => [s.fromWall === undefined ? null : new Date(s.fromWall).toISOString(), s.offsetMs / 3_600_000])).toEqual([
      [null, 1],
      ['2024-03-31T03:00:00.000Z', 2],
      ['2024-10-27T03:00:00.000Z', 1],
    ]);
    const f = instantSql('p', 'paid_at', spans);
    expect(f.sql).toContain('CASE WHEN `p`.`paid_at` < ? THEN ? WHEN `p`.`paid_at` < ? THEN ? ELSE ? END');
    expect(f.params).toEqual(['2024-03-31 03:00:00.000', 3_600_000, '2024-10-27 03:00:00.000', 7_200_000, 3_600_000]);
  });

  it('maps every wall time as java.time does (earliest in an overlap, forward in a gap)', { timeout: 60_000 }, () => {
    const zones = ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Shanghai', 'America/Sao_Paulo', 'Pacific/Apia'];
    const from = at('2023-06-01T00:00:00Z');
    const to = at('2025-06-01T00:00:00Z');
    const spans = new Map(zones.map((z) => [z, offsetSpans(z, from - 86_400_000, to + 86_400_000)]));
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: from, max: to }), (zone, instant) => {
        const s = spans.get(zone) ?? [];
        const wall = Math.floor(instant / 60_000) * 60_000;
        expect(instantBySpans(s, wall)).toBe(earliestInstant(zone, wall));
      }),
      { numRuns: 3000 },
    );
    // the walls around every cut, where it matters
    for (const zone of zones) {
      for (const span of spans.get(zone) ?? []) {
        if (span.fromWall === undefined) continue;
        for (const d of [-3_600_000, -1_800_000, -1, 0, 1, 1_800_000, 3_600_000]) {
          expect(instantBySpans(spans.get(zone) ?? [], span.fromWall + d), `${zone} ${new Date(span.fromWall + d).toISOString()}`).toBe(earliestInstant(zone, span.fromWall + d));
        }
      }
    }
  });
});

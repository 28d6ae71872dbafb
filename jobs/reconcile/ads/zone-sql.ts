/**
 * Instants of the source's DATETIME values in MySQL without the server's time-zone tables (often not
 * loaded, and the CDC user cannot load them): the zone's offsets over the compared range are found
 * here (wall-clock.ts, the platform's tz database) and written into the statement as a CASE on the
 * wall clock. The cut between two offsets follows java.time (ZonedDateTime.ofLocal, as the stream
 * jobs parse DATETIMEs): a wall time read twice (overlap) takes the earlier offset, a wall time that
 * does not exist (gap) the offset before the gap, i.e. it moves forward by the gap. So a transition
 * at instant T from offset a to b sits on the wall clock at T + max(a, b).
 */
import { quoted } from '../sql.js';
import { formatWall, offsetAt } from '../wall-clock.js';
import { join, raw, sql, type Fragment } from './sql-text.js';

const HOUR_MS = 3_600_000;

export interface OffsetSpan {
  /** wall ms from which this offset applies (undefined: from the start of the range) */
  fromWall: number | undefined;
  offsetMs: number;
}

/** The instant in (lo, hi] at which the offset changes, given it differs at lo and hi. */
function transitionIn(zone: string, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  const before = offsetAt(zone, a);
  while (b - a > 1000) {
    const mid = a + Math.floor((b - a) / 2000) * 1000;
    if (offsetAt(zone, mid) === before) a = mid;
    else b = mid;
  }
  return b;
}

/**
 * The offsets of `zone` between the instants `from` and `to`, as wall-clock spans in order. Offsets
 * are looked up hourly: no zone has changed its offset twice within an hour.
 */
export function offsetSpans(zone: string, from: number, to: number): OffsetSpan[] {
  const spans: OffsetSpan[] = [{ fromWall: undefined, offsetMs: offsetAt(zone, from) }];
  let t = from;
  let current = spans[0]?.offsetMs ?? 0;
  while (t < to) {
    const next = Math.min(to, t + HOUR_MS);
    const offset = offsetAt(zone, next);
    if (offset !== current) {
      const at = transitionIn(zone, t, next);
      spans.push({ fromWall: at + Math.max(current, offset), offsetMs: offset });
      current = offset;
    }
    t = next;
  }
  return spans;
}

/** The instant (epoch ms) of wall ms `wall` by the spans: what the SQL below computes. */
export function instantBySpans(spans: readonly OffsetSpan[], wall: number): number {
  let offset = spans[0]?.offsetMs ?? 0;
  for (const s of spans) if (s.fromWall === undefined || wall >= s.fromWall) offset = s.offsetMs;
  return wall - offset;
}

/** The smallest and largest offset of the spans. */
export function offsetBounds(spans: readonly OffsetSpan[]): { min: number; max: number } {
  const offsets = spans.map((s) => s.offsetMs);
  return { min: Math.min(...offsets), max: Math.max(...offsets) };
}

/**
 * The epoch ms of DATETIME column `column` (of table alias `alias`) in MySQL: its wall clock as ms
 * (TIMESTAMPDIFF from the epoch, calendar arithmetic only) minus the offset of its span.
 */
export function instantSql(alias: string, column: string, spans: readonly OffsetSpan[]): Fragment {
  const col = raw(`${quoted(alias)}.${quoted(column)}`);
  const wallMs = sql`(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${col}) DIV 1000)`;
  const later = spans.filter((s) => s.fromWall !== undefined);
  if (later.length === 0) return sql`(${wallMs} - ${spans[0]?.offsetMs ?? 0})`;
  // CASE WHEN col < <first cut> THEN <first offset> WHEN col < <second cut> THEN … ELSE <last offset> END
  const whens = later.map((s, i) => sql`WHEN ${col} < ${formatWall(s.fromWall as number)} THEN ${(spans[i] as OffsetSpan).offsetMs}`);
  return sql`(${wallMs} - CASE ${join(whens, ' ')} ELSE ${(later[later.length - 1] as OffsetSpan).offsetMs} END)`;
}

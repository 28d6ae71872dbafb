/**
 * Wall-clock times in an IANA zone. The source's DATETIME columns (and their ClickHouse mirror,
 * which keeps the same wall-clock text) are read in RTDW_TIMEZONE, while watermarks and --from/--to
 * are UTC instants: buckets are cut on the wall clock (both engines can compute that without zone
 * rules) and converted to instants only to decide whether the watermark has passed them.
 * "Wall ms" below is a wall-clock date-time read as if it were UTC, in epoch ms.
 */
const formats = new Map<string, Intl.DateTimeFormat>();

function formatOf(zone: string): Intl.DateTimeFormat {
  let format = formats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, format);
  }
  return format;
}

/** Wall clock minus UTC at `instant` in `zone`, in ms. Throws a RangeError for a zone the platform does not know. */
export function offsetAt(zone: string, instant: number): number {
  if (zone === 'UTC') return 0;
  const second = Math.floor(instant / 1000) * 1000;
  const parts = Object.fromEntries(formatOf(zone).formatToParts(second).map((p) => [p.type, p.value]));
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - second;
}

export function wallOf(zone: string, instant: number): number {
  return instant + offsetAt(zone, instant);
}

/**
 * Every instant whose wall clock in `zone` reads `wall`: one, two in a DST overlap, none in a gap.
 * Offsets are looked up a day either side, which covers every transition rule in the tz database.
 */
function instantsOf(zone: string, wall: number): number[] {
  const day = 86_400_000;
  const offsets = new Set([offsetAt(zone, wall - day), offsetAt(zone, wall), offsetAt(zone, wall + day)]);
  return [...offsets].map((o) => wall - o).filter((instant) => wallOf(zone, instant) === wall).sort((a, b) => a - b);
}

/** The earliest instant the wall clock reads `wall`: java.time's choice in an overlap; in a gap, java.time's too (the time shifted forward by the gap). */
export function earliestInstant(zone: string, wall: number): number {
  const found = instantsOf(zone, wall);
  if (found[0] !== undefined) return found[0];
  return wall - offsetAt(zone, wall - 86_400_000);
}

/** The latest instant the wall clock reads `wall` (a value written in an overlap may mean the second pass). */
export function latestInstant(zone: string, wall: number): number {
  const found = instantsOf(zone, wall);
  const last = found[found.length - 1];
  if (last !== undefined) return last;
  return wall - offsetAt(zone, wall - 86_400_000);
}

const WALL_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

/**
 * Wall ms of 'YYYY-MM-DD HH:MM[:SS[.fraction]]'; undefined when `text` is not one. Digits past the
 * millisecond are truncated, which keeps every comparison with a whole-millisecond bound right.
 */
export function parseWall(text: string): number | undefined {
  const m = WALL_TEXT.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi] = m.slice(1, 6).map(Number) as [number, number, number, number, number];
  const s = Number(m[6] ?? '0');
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(wall);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return wall;
}

/** 'YYYY-MM-DD HH:MM:SS.mmm' of wall ms: how MySQL prints DATETIME(3) and ClickHouse DateTime64(3). */
export function formatWall(wall: number): string {
  const iso = new Date(wall).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** ISO 8601 UTC text of an instant, for reports. */
export function formatInstant(instant: number): string {
  return new Date(instant).toISOString();
}

/**
 * Wall-clock time in an IANA zone and UTC instants, exactly (DST and historical offsets included), with the
 * zone rules of the platform's ICU (Intl). A source's DATETIME columns are wall-clock values in a zone;
 * calendar days are days in a zone; everything else compares UTC instants in epoch ms.
 */
import { DAY_MS } from './windows.js';

/** Offsets are looked up per bucket of this length and reused when no transition falls inside it. */
const BUCKET_MS = 900_000;
const MAX_CACHED_BUCKETS = 200_000;

const DATETIME_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** 'YYYY-MM-DD HH:MM:SS.mmm' of a UTC instant: ClickHouse's DateTime64(3) text. */
export function formatUtc(instant: number): string {
  if (!Number.isSafeInteger(instant)) throw new RangeError(`instant ${instant} is not an integer of epoch ms`);
  const iso = new Date(instant).toISOString();
  if (iso.length !== 24) throw new RangeError(`instant ${instant} is outside the years 0000-9999`);
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** 'YYYY-MM-DD' of a day number (days since 1970-01-01). */
export function formatDay(epochDay: number): string {
  return new Date(epochDay * DAY_MS).toISOString().slice(0, 10);
}

/** Milliseconds of a wall-clock date-time read as if it were UTC ("local ms"). */
function localMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  // Date.UTC maps years 0-99 to 1900-1999
  date.setUTCFullYear(year);
  return date.getTime();
}

/** The local date-time that `text` ('YYYY-MM-DD HH:MM:SS[.fraction]', as MySQL prints DATETIME) names, in local ms. */
export function parseLocalDateTime(text: string): number {
  const m = DATETIME_TEXT.exec(text);
  if (m === null) throw new SyntaxError(`not a date-time 'YYYY-MM-DD HH:MM:SS[.fff]': ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = m[7] ?? '';
  // Never round silently: sub-millisecond digits must be zeros (DATETIME(3) has none).
  if (/[^0]/.test(fraction.slice(3))) throw new RangeError(`${JSON.stringify(text)} has sub-millisecond digits`);
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const local = localMs(year, month, day, hour, minute, second, ms);
  const back = new Date(local);
  if (back.getUTCMonth() + 1 !== month || back.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new RangeError(`${JSON.stringify(text)} is not a valid date-time`);
  }
  return local;
}

export interface ZonedDay {
  /** 'YYYY-MM-DD' in the zone */
  readonly day: string;
  /** first instant of the day */
  readonly start: number;
  /** first instant after the day (23 or 25 hours after start across a DST change) */
  readonly end: number;
}

const zones = new Map<string, TimeZone>();

export class TimeZone {
  /** The zone named `name` (IANA, e.g. 'Asia/Shanghai'); throws a RangeError for a name the platform does not know. */
  static of(name: string): TimeZone {
    let zone = zones.get(name);
    if (zone === undefined) {
      zone = new TimeZone(name);
      zones.set(name, zone);
    }
    return zone;
  }

  readonly name: string;
  private readonly format: Intl.DateTimeFormat | undefined;
  /** offset (ms) per bucket without a transition inside; null: the bucket holds one, look up exactly */
  private readonly buckets = new Map<number, number | null>();
  private lastDay: ZonedDay | undefined;
  private lastEpochDay = 0;

  private constructor(name: string) {
    this.name = name;
    if (name === 'UTC' || name === 'Etc/UTC') return;
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Wall clock minus UTC at `instant`, in ms (e.g. +8 h for Asia/Shanghai). */
  offsetAt(instant: number): number {
    if (this.format === undefined) return 0;
    const bucket = Math.floor(instant / BUCKET_MS);
    let offset = this.buckets.get(bucket);
    if (offset === undefined) {
      const first = this.exactOffset(bucket * BUCKET_MS);
      offset = first === this.exactOffset(bucket * BUCKET_MS + BUCKET_MS - 1) ? first : null;
      if (this.buckets.size >= MAX_CACHED_BUCKETS) this.buckets.clear();
      this.buckets.set(bucket, offset);
    }
    return offset ?? this.exactOffset(instant);
  }

  /**
   * The instant of a local date-time (local ms, see parseLocalDateTime), by java.time's rules
   * (ZonedDateTime.ofLocal): in an overlap the earlier offset, i.e. the earlier instant (`later` picks
   * the later one); in a gap the local time moves forward by the gap's length.
   */
  toInstant(local: number, overlap: 'earlier' | 'later' = 'earlier'): number {
    const before = this.offsetAt(local - DAY_MS);
    const after = this.offsetAt(local + DAY_MS);
    let earliest: number | undefined;
    let latest: number | undefined;
    for (const offset of before === after ? [before] : [before, after]) {
      const instant = local - offset;
      if (this.offsetAt(instant) !== offset) continue;
      if (earliest === undefined || instant < earliest) earliest = instant;
      if (latest === undefined || instant > latest) latest = instant;
    }
    // A gap: no offset maps to this local time; java.time shifts it later by the gap, i.e. uses the offset before it.
    if (earliest === undefined || latest === undefined) return local - before;
    return overlap === 'earlier' ? earliest : latest;
  }

  /** The instant of a DATETIME text written in this zone. */
  parse(text: string): number {
    return this.toInstant(parseLocalDateTime(text));
  }

  /** The calendar day in this zone holding `instant`. */
  dayOf(instant: number): ZonedDay {
    const epochDay = Math.floor((instant + this.offsetAt(instant)) / DAY_MS);
    // Event times come mostly in order: the day before is usually the day again.
    if (this.lastDay !== undefined && epochDay === this.lastEpochDay) return this.lastDay;
    const startLocal = epochDay * DAY_MS;
    // The day ends where the next local midnight last occurs, so that every instant whose local date is this day falls before it.
    const day = { day: formatDay(epochDay), start: this.toInstant(startLocal), end: this.toInstant(startLocal + DAY_MS, 'later') };
    this.lastDay = day;
    this.lastEpochDay = epochDay;
    return day;
  }

  private exactOffset(instant: number): number {
    // Offsets are whole seconds (LMT ones too); the formatter prints whole seconds.
    const second = Math.floor(instant / 1000) * 1000;
    const parts = (this.format as Intl.DateTimeFormat).formatToParts(second);
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let sec = 0;
    let bc = false;
    for (const part of parts) {
      switch (part.type) {
        case 'year': year = Number(part.value); break;
        case 'month': month = Number(part.value); break;
        case 'day': day = Number(part.value); break;
        case 'hour': hour = Number(part.value); break;
        case 'minute': minute = Number(part.value); break;
        case 'second': sec = Number(part.value); break;
        case 'era': bc = part.value === 'BC' || part.value === 'B'; break;
        default: break;
      }
    }
    return localMs(bc ? 1 - year : year, month, day, hour, minute, sec, 0) - second;
  }
}

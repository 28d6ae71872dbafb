/**
 * Wall-clock time in the source's zone (RTDW_TIMEZONE): DATETIME(3) values as MySQL prints them,
 * local hours for the diurnal curve, calendar days. Pure: the zone's rules come from Intl (ICU's tz
 * data), no clock is read. The offset is looked up once per UTC minute: zones change offset only on
 * whole minutes.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/** Throws a RangeError naming the zone when ICU does not know it. */
export function assertTimeZone(zone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone: zone });
}

export class ZonedClock {
  private readonly parts: Intl.DateTimeFormat;
  private offsetMinute = Number.NaN;
  private offset = 0;
  private prefixMinute = Number.NaN;
  private prefix = '';

  constructor(readonly zone: string) {
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The zone's offset from UTC at the instant, in ms (Asia/Shanghai: +28,800,000). */
  offsetMs(epochMs: number): number {
    const minute = Math.floor(epochMs / MINUTE_MS);
    if (minute !== this.offsetMinute) {
      const start = minute * MINUTE_MS;
      const f: Record<string, number> = {};
      for (const p of this.parts.formatToParts(start)) if (p.type !== 'literal') f[p.type] = Number(p.value);
      this.offset = Date.UTC(f.year ?? 0, (f.month ?? 1) - 1, f.day ?? 1, f.hour ?? 0, f.minute ?? 0, f.second ?? 0) - start;
      this.offsetMinute = minute;
    }
    return this.offset;
  }

  /** `YYYY-MM-DD HH:MM:SS.mmm`: the DATETIME(3) text of the instant on the zone's wall clock. */
  dateTime(epochMs: number): string {
    const local = epochMs + this.offsetMs(epochMs);
    const minute = Math.floor(local / MINUTE_MS);
    if (minute !== this.prefixMinute) {
      const d = new Date(minute * MINUTE_MS);
      this.prefix = `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:`;
      this.prefixMinute = minute;
    }
    const ms = local - minute * MINUTE_MS;
    return `${this.prefix}${pad2(Math.floor(ms / 1000))}.${pad3(ms % 1000)}`;
  }

  /** Hours since local midnight, fractional: 13.5 is half past one in the afternoon. */
  hourOfDay(epochMs: number): number {
    const local = epochMs + this.offsetMs(epochMs);
    return (((local % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000;
  }

  /** The local calendar day, `YYYY-MM-DD`. */
  day(epochMs: number): string {
    return this.dateTime(epochMs).slice(0, 10);
  }
}

/**
 * The zone TIMESTAMP values are rendered in (CDC_TIMEZONE). A TIMESTAMP is an instant: MySQL prints it
 * in the session's time_zone, Canal in its JVM's zone (java.sql.Timestamp.toString). The binlog carries
 * seconds since the epoch and the snapshot reads the values in UTC; both become the civil time of the
 * instant in this zone, so that every path prints the same text.
 */

export interface TimestampZone {
  /** As configured: '+08:00', 'UTC', 'Asia/Shanghai'. */
  readonly name: string;
  /** The UTC offset in seconds when it never changes, else null. */
  readonly fixedOffset: number | null;
  /** Seconds to add to an instant (seconds since the epoch) to get the zone's civil time. */
  offsetAt(epochSeconds: number): number;
}

class FixedZone implements TimestampZone {
  constructor(
    readonly name: string,
    readonly fixedOffset: number,
  ) {}

  offsetAt(): number {
    return this.fixedOffset;
  }
}

/** Cached offsets of a named zone: at most this many hours. */
const MAX_CACHED_HOURS = 100_000;

/** An IANA zone (daylight saving time and all), through the runtime's ICU data. */
class NamedZone implements TimestampZone {
  readonly fixedOffset = null;
  private readonly format: Intl.DateTimeFormat;
  /** offset per hour since the epoch, for hours without a transition */
  private readonly hours = new Map<number, number>();

  constructor(readonly name: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  offsetAt(epochSeconds: number): number {
    const hour = Math.floor(epochSeconds / 3600);
    const cached = this.hours.get(hour);
    if (cached !== undefined) return cached;
    const first = this.exactOffset(hour * 3600);
    // An hour with a transition is computed per instant; every other one once.
    if (first !== this.exactOffset(hour * 3600 + 3599)) return this.exactOffset(epochSeconds);
    if (this.hours.size >= MAX_CACHED_HOURS) this.hours.clear();
    this.hours.set(hour, first);
    return first;
  }

  private exactOffset(epochSeconds: number): number {
    const fields: Record<string, number> = {};
    for (const part of this.format.formatToParts(new Date(epochSeconds * 1000))) {
      if (part.type !== 'literal') fields[part.type] = Number(part.value);
    }
    const local = daysFromCivil(fields.year ?? 1970, fields.month ?? 1, fields.day ?? 1) * 86400 + (fields.hour ?? 0) * 3600 + (fields.minute ?? 0) * 60 + (fields.second ?? 0);
    return local - epochSeconds;
  }
}

export const UTC: TimestampZone = new FixedZone('UTC', 0);

const OFFSET = /^([+-])(\d{1,2}):(\d{2})$/;

/**
 * A zone as MySQL's time_zone writes it ('+08:00', '-3:30'; MySQL allows -13:59 to +14:00) or as an IANA
 * name ('Asia/Shanghai', 'UTC'). Throws on anything else, SYSTEM included (it names no zone by itself).
 */
export function parseTimeZone(text: string): TimestampZone {
  const offset = OFFSET.exec(text);
  if (offset !== null) {
    const hours = Number(offset[2]);
    const minutes = Number(offset[3]);
    const seconds = (offset[1] === '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    if (minutes > 59 || seconds > 14 * 3600 || seconds < -(13 * 3600 + 59 * 60)) throw new Error(`time zone offset ${text} is out of range (-13:59 to +14:00)`);
    return seconds === 0 ? UTC : new FixedZone(text, seconds);
  }
  if (/^(utc|z|gmt)$/i.test(text)) return UTC;
  try {
    return new NamedZone(new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone);
  } catch {
    throw new Error(`unknown time zone ${JSON.stringify(text)}: expected an offset such as +08:00 or a zone name such as Asia/Shanghai`);
  }
}

/** What the source server says of its zone (SchemaCache.timeZoneSettings). */
export interface ServerTimeZone {
  /** @@global.time_zone: an offset, a zone name, or SYSTEM */
  global: string;
  /** @@system_time_zone: the operating system's abbreviation (CST, UTC, ...) */
  system: string;
  /** NOW() - UTC_TIMESTAMP() in a session of the global zone, in seconds */
  offsetSeconds: number;
}

function offsetText(seconds: number): string {
  const minutes = Math.round(Math.abs(seconds) / 60);
  return `${seconds < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/**
 * The zone the server prints TIMESTAMP in: @@global.time_zone, or for SYSTEM the operating system's zone.
 * Its abbreviation is ambiguous (CST is China's and Chicago's), so it is taken as a zone only when the
 * zone it names has the server's current offset; otherwise the server's current offset, which misses
 * daylight saving changes (set CDC_TIMEZONE then).
 */
export function serverTimestampZone(server: ServerTimeZone): TimestampZone {
  if (server.global.toUpperCase() !== 'SYSTEM') return parseTimeZone(server.global);
  const nowSeconds = Math.floor(Date.now() / 1000);
  try {
    const named = parseTimeZone(server.system);
    if (Math.abs(named.offsetAt(nowSeconds) - server.offsetSeconds) < 60) return named;
  } catch {
    // not a zone name: the offset below
  }
  return parseTimeZone(offsetText(server.offsetSeconds));
}

/** Days since 1970-01-01 of a proleptic Gregorian date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date of days since 1970-01-01 (proleptic Gregorian, as Date's UTC getters): [year, month, day]. */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * A TIMESTAMP's UTC text ('YYYY-MM-DD hh:mm:ss' and any fraction, as zongji with timezone 'Z' and a
 * '+00:00' snapshot session print it) as the same instant's text in `zone`. The zero value stays.
 */
export function zonedTimestampText(utcText: string, zone: TimestampZone): string {
  if (zone.fixedOffset === 0 || utcText.startsWith('0000-00-00')) return utcText;
  const field = (from: number, to: number): number => Number(utcText.slice(from, to));
  const epoch = daysFromCivil(field(0, 4), field(5, 7), field(8, 10)) * 86400 + field(11, 13) * 3600 + field(14, 16) * 60 + field(17, 19);
  if (!Number.isInteger(epoch) || utcText.length < 19) throw new Error(`not a TIMESTAMP text: ${JSON.stringify(utcText)}`);
  const local = epoch + zone.offsetAt(epoch);
  const days = Math.floor(local / 86400);
  const inDay = local - days * 86400;
  const [year, month, day] = civilFromDays(days);
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)} ${pad2(Math.floor(inDay / 3600))}:${pad2(Math.floor((inDay % 3600) / 60))}:${pad2(inDay % 60)}${utcText.slice(19)}`;
}

/**
 * Options of a reconcile run, from the command line and the pipeline's environment
 * (RTDW_TIMEZONE, RTDW_ALLOWED_LATENESS_MS). Every bad value is named; none is guessed.
 */
import type { CheckLimits } from './check.js';
import { SOURCE_TABLES } from '../../schemas/events.js';
import { ADS_TABLE_NAMES } from './ads/tables.js';
import { earliestInstant, parseWall } from './wall-clock.js';

export interface ReconcileOptions {
  /** UTC epoch ms, [from, to) */
  from: number;
  to: number;
  /** IANA zone of the source's DATETIME values */
  timezone: string;
  /** the job whose published watermark gates event-time buckets */
  job: string;
  allowedLatenessMs: number;
  /** names of the checks to run, in order */
  checks: string[];
  /** source tables (checks 1, 2) and ADS tables (check 3) to compare; undefined: every one */
  tables: string[] | undefined;
  limits: CheckLimits;
  /** differences found are read again after this long (0: never) before they count */
  recheckAfterMs: number;
  /** write the run to reconcile_runs */
  history: boolean;
  /** re-send the mirror's differing rows through the CDC (repair.ts) */
  repair: boolean;
  /** how long a repair waits for its differences to go */
  repairTimeoutMs: number;
}

/** As commander hands them over: strings, all optional. */
export interface ReconcileFlags {
  from?: string;
  to?: string;
  job?: string;
  checks?: string;
  tables?: string;
  chunkRows?: string;
  leafRows?: string;
  keyRange?: string;
  maxListed?: string;
  recheckAfter?: string;
  history?: boolean;
  repair?: boolean;
  repairTimeout?: string;
}

export class OptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid options: ${problems.join('; ')}`);
    this.name = 'OptionsError';
  }
}

export const DEFAULT_RANGE_MS = 24 * 3_600_000;
export const DEFAULT_LIMITS: CheckLimits = { chunkRows: 10_000, leafRows: 1_000, bisectionFactor: 8, keyRangeWidth: 10_000, maxListed: 100 };
export const DEFAULT_RECHECK_AFTER_MS = 5_000;
export const DEFAULT_REPAIR_TIMEOUT_MS = 120_000;

/** An IANA zone the platform knows, in its canonical spelling; undefined otherwise (offsets like +08:00 are not zones). */
export function canonicalZone(name: string): string | undefined {
  if (!/^[A-Za-z][\w+\-/]*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * `now`, an ISO 8601 instant with its zone (2026-01-02T03:04:05Z, ...+08:00), or a wall-clock
 * date-time without one ('2026-01-02 03:04'), read in `zone` like the source's DATETIMEs.
 */
export function parseInstant(text: string, zone: string, now: number): number | undefined {
  if (text === 'now') return now;
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(text) && /^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? undefined : t;
  }
  const wall = parseWall(text);
  return wall === undefined ? undefined : earliestInstant(zone, wall);
}

export function reconcileOptions(flags: ReconcileFlags, knownChecks: readonly string[], env: Record<string, string | undefined> = process.env, now = Date.now()): ReconcileOptions {
  const problems: string[] = [];
  const timezone = canonicalZone(env.RTDW_TIMEZONE || 'UTC');
  if (timezone === undefined) problems.push('RTDW_TIMEZONE: expected an IANA time zone name, e.g. UTC or Asia/Shanghai');
  const zone = timezone ?? 'UTC';
  const int = (name: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) {
      problems.push(`${name}: expected an integer ≥ ${min}`);
      return fallback;
    }
    return n;
  };
  const instant = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const t = parseInstant(text, zone, now);
    if (t === undefined) problems.push(`--${name}: expected now, an ISO instant (2026-01-02T03:04:05Z) or a date-time in RTDW_TIMEZONE (2026-01-02 03:04)`);
    return t ?? fallback;
  };
  const to = instant('to', flags.to, now);
  const from = instant('from', flags.from, to - DEFAULT_RANGE_MS);
  if (!(from < to)) problems.push('--from must be before --to');
  const checks = flags.checks === undefined ? [...knownChecks] : flags.checks.split(',').map((c) => c.trim()).filter((c) => c !== '');
  for (const c of checks) if (!knownChecks.includes(c)) problems.push(`--checks: unknown check ${JSON.stringify(c)} (known: ${knownChecks.join(', ')})`);
  if (checks.length === 0) problems.push('--checks: name at least one check');
  let tables: string[] | undefined;
  if (flags.tables !== undefined) {
    tables = flags.tables.split(',').map((t) => t.trim()).filter((t) => t !== '');
    const known: readonly string[] = [...SOURCE_TABLES, ...ADS_TABLE_NAMES];
    for (const t of tables) if (!known.includes(t)) problems.push(`--tables: unknown table ${JSON.stringify(t)} (source tables: ${SOURCE_TABLES.join(', ')}; ADS tables: ${ADS_TABLE_NAMES.join(', ')})`);
  }
  const job = flags.job ?? 'ods';
  if (job === '') problems.push('--job: name the job whose watermark gates the buckets');
  const limits: CheckLimits = {
    chunkRows: int('--chunk-rows', flags.chunkRows, DEFAULT_LIMITS.chunkRows, 1),
    leafRows: int('--leaf-rows', flags.leafRows, DEFAULT_LIMITS.leafRows, 1),
    bisectionFactor: DEFAULT_LIMITS.bisectionFactor,
    keyRangeWidth: int('--key-range', flags.keyRange, DEFAULT_LIMITS.keyRangeWidth, 1),
    maxListed: int('--max-listed', flags.maxListed, DEFAULT_LIMITS.maxListed, 0),
  };
  const options: ReconcileOptions = {
    from,
    to,
    timezone: zone,
    job,
    allowedLatenessMs: int('RTDW_ALLOWED_LATENESS_MS', env.RTDW_ALLOWED_LATENESS_MS, 60_000, 0),
    checks,
    tables,
    limits,
    recheckAfterMs: int('--recheck-after', flags.recheckAfter, DEFAULT_RECHECK_AFTER_MS, 0),
    history: flags.history ?? true,
    repair: flags.repair ?? false,
    repairTimeoutMs: int('--repair-timeout', flags.repairTimeout, DEFAULT_REPAIR_TIMEOUT_MS, 0),
  };
  if (problems.length > 0) throw new OptionsError(problems);
  return options;
}

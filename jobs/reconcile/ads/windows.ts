/**
 * Which windows of an ADS table a run judges. Windows are event-time and aligned to the epoch, [start,
 * end): 1 h sliding by 5 min, 5-min and 1-min tumbling, and calendar days in RTDW_TIMEZONE (a day ends
 * where the next local midnight last occurs, as the stream's calendarDays do). A window is judged once
 * the table's job's published watermark W has passed it by the allowed lateness L (Flink's rule for a
 * window's final result: end - 1 + L <= W); the others in the range are pending. A run's range holds
 * the windows whose start lies in [from, to) once `from` is aligned down to the window grid.
 */
import { earliestInstant, formatInstant, latestInstant, wallOf } from '../wall-clock.js';
import type { GatingProgress } from '../window.js';
import type { WindowKind } from './tables.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export const WINDOW_SHAPES: Readonly<Record<Exclude<WindowKind, 'day'>, { size: number; grid: number }>> = {
  hop_1h: { size: 60 * MINUTE_MS, grid: 5 * MINUTE_MS },
  tumble_5m: { size: 5 * MINUTE_MS, grid: 5 * MINUTE_MS },
  tumble_1m: { size: MINUTE_MS, grid: MINUTE_MS },
};

export interface CalendarDay {
  /** YYYY-MM-DD in the zone */
  day: string;
  /** first instant of the day */
  start: number;
  /** first instant after it: the next local midnight's last occurrence */
  end: number;
}

/** Windows of one table: judged time windows start in [from, until) on the grid (days: `days`), pending ones after. */
export interface JudgedWindows {
  kind: WindowKind;
  progress: GatingProgress;
  size: number;
  grid: number;
  from: number;
  until: number;
  /** end of the range on the grid: windows starting in [until, end) are pending */
  end: number;
  /** kind 'day': the judged days, then the pending ones */
  days: CalendarDay[];
  pendingDays: CalendarDay[];
  pendingReason: string;
}

const floorTo = (t: number, grid: number) => Math.floor(t / grid) * grid;
const ceilTo = (t: number, grid: number) => Math.ceil(t / grid) * grid;

export function judged(end: number, progress: GatingProgress): boolean {
  return progress.watermark !== undefined && end - 1 + progress.allowedLatenessMs <= progress.watermark;
}

/** The calendar day of `zone` holding `instant`. */
export function dayOf(zone: string, instant: number): CalendarDay {
  const midnight = floorTo(wallOf(zone, instant), DAY_MS);
  return calendarDay(zone, midnight);
}

function calendarDay(zone: string, midnightWall: number): CalendarDay {
  return { day: new Date(midnightWall).toISOString().slice(0, 10), start: earliestInstant(zone, midnightWall), end: latestInstant(zone, midnightWall + DAY_MS) };
}

export function judgedWindows(kind: WindowKind, zone: string, from: number, to: number, progress: GatingProgress): JudgedWindows {
  const pendingReason =
    progress.watermark === undefined
      ? `no progress row for job ${JSON.stringify(progress.job)} in pipeline_progress`
      : `watermark of job ${JSON.stringify(progress.job)} is ${formatInstant(progress.watermark)}; a window is judged once it passes the window's end by the allowed lateness (${progress.allowedLatenessMs} ms)`;
  if (kind === 'day') {
    const days: CalendarDay[] = [];
    const pendingDays: CalendarDay[] = [];
    const last = dayOf(zone, to - 1);
    for (let d = dayOf(zone, from); d.day <= last.day; d = calendarDay(zone, Date.parse(`${d.day}T00:00:00Z`) + DAY_MS)) {
      // Days are judged in order: once one is pending, so are the later ones.
      if (pendingDays.length === 0 && judged(d.end, progress)) days.push(d);
      else pendingDays.push(d);
    }
    return { kind, progress, size: DAY_MS, grid: DAY_MS, from: days[0]?.start ?? pendingDays[0]?.start ?? from, until: pendingDays[0]?.start ?? last.end, end: last.end, days, pendingDays, pendingReason };
  }
  const { size, grid } = WINDOW_SHAPES[kind];
  const start = floorTo(from, grid);
  const end = Math.max(start, ceilTo(to, grid));
  let until = start;
  if (progress.watermark !== undefined) {
    // the latest start s with s + size - 1 + L <= W
    const latest = floorTo(progress.watermark - progress.allowedLatenessMs + 1 - size, grid);
    until = Math.min(end, Math.max(start, latest + grid));
  }
  return { kind, progress, size, grid, from: start, until, end, days: [], pendingDays: [], pendingReason };
}

/** Windows judged and pending. */
export function windowCounts(w: JudgedWindows): { judged: number; pending: number } {
  if (w.kind === 'day') return { judged: w.days.length, pending: w.pendingDays.length };
  return { judged: (w.until - w.from) / w.grid, pending: (w.end - w.until) / w.grid };
}

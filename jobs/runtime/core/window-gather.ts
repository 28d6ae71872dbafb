/**
 * All rows of a window in one place: keyed results of an upstream window operator (one row per key, its
 * latest value, or none once retracted), gathered per window so that the window can be published whole
 * and derived figures over all its rows (a ranking) computed. A window is complete once the watermark
 * reaches its maxTimestamp: every upstream task has fired it, so all its first results are in (the
 * upstream emits its results before its watermark). It then comes out whole; later changes of a row
 * within the lateness come out one by one, with the row's value before and after. State is dropped at
 * the cleanup time, end - 1 + lateness (the upstream's lateness: it sends nothing later); a row for a
 * window already dropped goes to the late output.
 *
 * Snapshot entries are per window and per row, so a checkpoint writes the rows that changed.
 */
import { takeAll } from './keyed-snapshots.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';
import type { TimeWindow } from './windows.js';

export interface WindowGatherOptions {
  /** allowed lateness of a table's windows, ms */
  latenessOf(table: string): number;
}

export type GatherOutput<V> =
  /** the window's rows, sorted by row key, when the window is complete */
  | { readonly kind: 'complete'; readonly table: string; readonly window: TimeWindow; readonly rows: ReadonlyArray<readonly [row: string, value: V]> }
  /** a row of a complete window changed (undefined: no row); `rows` is the window after the change, valid until the next call */
  | { readonly kind: 'change'; readonly table: string; readonly window: TimeWindow; readonly row: string; readonly before: V | undefined; readonly after: V | undefined; readonly rows: ReadonlyMap<string, V> }
  | { readonly kind: 'late'; readonly reason: 'window-expired'; readonly table: string; readonly window: TimeWindow; readonly row: string; readonly value: V | undefined };

interface GatheredWindow<V> {
  readonly table: string;
  readonly window: TimeWindow;
  readonly rows: Map<string, V>;
  complete: boolean;
}

export type SavedGatherEntry<V> = { readonly end: number; readonly complete: boolean } | { readonly value: V };

export interface WindowGatherSnapshot<V> {
  readonly watermark: number;
  readonly lateCount: number;
  /** 'w' + table + SEP + start: the window; 'r' + table + SEP + start + SEP + row: a row; sorted */
  readonly entries: ReadonlyArray<readonly [key: string, entry: SavedGatherEntry<V>]>;
}

const SEP = '\u0001';
const NO_OUTPUT: readonly never[] = Object.freeze([]);
const windowId = (table: string, start: number): string => `${table}${SEP}${start}`;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class WindowGather<V> {
  static restore<V>(options: WindowGatherOptions, snapshot: WindowGatherSnapshot<V>): WindowGather<V> {
    const gather = new WindowGather<V>(options);
    gather.watermark = snapshot.watermark;
    gather.late = snapshot.lateCount;
    gather.timers = new TimerService(snapshot.watermark);
    const rows: Array<readonly [string, V]> = [];
    for (const [key, entry] of snapshot.entries) {
      if ('end' in entry) {
        const [table, start] = key.slice(1).split(SEP) as [string, string];
        const w: GatheredWindow<V> = { table, window: { start: Number(start), end: entry.end }, rows: new Map(), complete: entry.complete };
        gather.windows.set(windowId(table, w.window.start), w);
        gather.registerTimers(w);
      } else {
        rows.push([key, entry.value]);
      }
    }
    for (const [key, value] of rows) {
      const [table, start, ...row] = key.slice(1).split(SEP) as [string, string, ...string[]];
      const w = gather.windows.get(windowId(table, Number(start)));
      if (w === undefined) throw new RangeError(`snapshot holds row ${row.join(SEP)} of a window it does not hold`);
      w.rows.set(row.join(SEP), value);
    }
    return gather;
  }

  readonly keyedField = 'entries';
  private readonly options: WindowGatherOptions;
  private readonly windows = new Map<string, GatheredWindow<V>>();
  private readonly changed = new Set<string>();
  /** per window id: completion at maxTimestamp, cleanup at maxTimestamp + lateness */
  private timers = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: WindowGatherOptions) {
    this.options = options;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  /** Windows holding state, for state-size metrics. */
  get windowCount(): number {
    return this.windows.size;
  }

  /** The row's new value, or its removal (undefined). */
  process(table: string, window: TimeWindow, row: string, value: V | undefined): readonly GatherOutput<V>[] {
    if (table.includes(SEP)) throw new RangeError(`table name ${JSON.stringify(table)} holds the separator U+0001`);
    if (!Number.isSafeInteger(window.start) || !Number.isSafeInteger(window.end) || window.end <= window.start) throw new RangeError(`not a window: [${window.start}, ${window.end})`);
    const lateness = this.lateness(table);
    // Flink WindowOperator.isWindowLate: the window's state is gone once cleanupTime <= watermark
    if (window.end - 1 + lateness <= this.watermark) {
      this.late += 1;
      return [{ kind: 'late', reason: 'window-expired', table, window, row, value }];
    }
    const id = windowId(table, window.start);
    let w = this.windows.get(id);
    if (w === undefined) {
      if (value === undefined) return NO_OUTPUT;
      w = { table, window: { start: window.start, end: window.end }, rows: new Map(), complete: window.end - 1 <= this.watermark };
      this.windows.set(id, w);
      this.registerTimers(w);
      this.changed.add(`w${id}`);
    } else if (w.window.end !== window.end) {
      throw new RangeError(`window ${table} at ${window.start} ends at ${w.window.end}, not ${window.end}`);
    }
    const before = w.rows.get(row);
    if (value === undefined) w.rows.delete(row);
    else w.rows.set(row, value);
    this.changed.add(`r${id}${SEP}${row}`);
    if (!w.complete || same(before, value)) return NO_OUTPUT;
    return [{ kind: 'change', table, window: w.window, row, before, after: value, rows: w.rows }];
  }

  /** Completes the windows whose maxTimestamp the watermark reaches, and drops those past their cleanup time. */
  advanceWatermark(watermark: number): readonly GatherOutput<V>[] {
    if (watermark <= this.watermark) return NO_OUTPUT;
    this.watermark = watermark;
    let outputs: GatherOutput<V>[] | undefined;
    this.timers.advanceWatermark(watermark, (id, time) => {
      const w = this.windows.get(id);
      if (w === undefined) return;
      if (!w.complete && w.window.end - 1 === time) {
        w.complete = true;
        this.changed.add(`w${id}`);
        if (w.rows.size > 0) {
          const rows = [...w.rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          (outputs ??= []).push({ kind: 'complete', table: w.table, window: w.window, rows });
        }
      }
      if (w.window.end - 1 + this.lateness(w.table) === time) {
        this.windows.delete(id);
        this.changed.add(`w${id}`);
        for (const row of w.rows.keys()) this.changed.add(`r${id}${SEP}${row}`);
      }
    });
    return outputs ?? NO_OUTPUT;
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): WindowGatherSnapshot<V> {
    const entries: Array<readonly [string, SavedGatherEntry<V>]> = [];
    const add = (key: string): void => {
      const entry = this.entry(key);
      if (entry !== undefined) entries.push([key, entry]);
    };
    if (only !== undefined) {
      for (const key of only) add(key);
    } else {
      for (const [id, w] of this.windows) {
        add(`w${id}`);
        for (const row of w.rows.keys()) add(`r${id}${SEP}${row}`);
      }
    }
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { watermark: this.watermark, lateCount: this.late, entries };
  }

  private entry(key: string): SavedGatherEntry<V> | undefined {
    const parts = key.slice(1).split(SEP);
    const w = this.windows.get(windowId(parts[0] as string, Number(parts[1])));
    if (w === undefined) return undefined;
    if (key.startsWith('w')) return { end: w.window.end, complete: w.complete };
    const value = w.rows.get(parts.slice(2).join(SEP));
    return value === undefined ? undefined : { value };
  }

  private lateness(table: string): number {
    const lateness = this.options.latenessOf(table);
    if (!Number.isSafeInteger(lateness) || lateness < 0) throw new RangeError(`allowed lateness of ${table} must be a non-negative integer of ms, got ${lateness}`);
    return lateness;
  }

  private registerTimers(w: GatheredWindow<V>): void {
    const id = windowId(w.table, w.window.start);
    if (!w.complete) this.timers.registerEventTimeTimer(id, w.window.end - 1);
    this.timers.registerEventTimeTimer(id, w.window.end - 1 + this.lateness(w.table));
  }
}

/** Per group and window, the top N results of a window operator by score, re-ranked as late updates arrive. */
import { entriesOf, takeAll } from './keyed-snapshots.js';
import { TimerService } from './timers.js';
import { type TimeWindow, type WindowOutput, cleanupTime, isWindowLate, maxTimestamp } from './windows.js';

export type Score = number | bigint;

export interface TopNOptions<V> {
  readonly n: number;
  /** The group a result key is ranked in, e.g. the shop of a "shop|product" key. */
  readonly groupOf: (key: string) => string;
  /** A result's score: highest ranks first, ties broken by key. */
  readonly score: (value: V) => Score;
  /** The upstream window operator's allowed lateness: rankings follow its updates for as long as it emits them. */
  readonly allowedLateness?: number;
}

export interface RankedItem {
  readonly rank: number;
  readonly key: string;
  readonly score: Score;
}

/** `result` when a window's ranking is first emitted, `update` when a late change alters it. */
export interface Ranking {
  readonly kind: 'result' | 'update';
  readonly group: string;
  readonly window: TimeWindow;
  readonly ranking: readonly RankedItem[];
}

/** A result for a window whose ranking state is already cleaned up. */
export interface LateWindowResult {
  readonly kind: 'late';
  readonly reason: 'window-expired';
  readonly group: string;
  readonly key: string;
  readonly window: TimeWindow;
}

export type TopNOutput = Ranking | LateWindowResult;

interface GroupWindow {
  readonly window: TimeWindow;
  readonly scores: Map<string, Score>;
  /** Set once the window has fired; kept equal to the ranking of `scores` from then on. */
  ranking: RankedItem[] | undefined;
  emitted: boolean;
}

/** bigint scores are saved as strings. */
export type SavedScore = number | string;

export type SavedGroupWindow = readonly [start: number, end: number, scores: ReadonlyArray<readonly [key: string, score: SavedScore]>, fired: boolean, emitted: boolean];

export interface TopNSnapshot {
  readonly n: number;
  readonly allowedLateness: number;
  readonly watermark: number;
  readonly lateCount: number;
  /** Per group, sorted by group. */
  readonly groups: ReadonlyArray<readonly [group: string, windows: readonly SavedGroupWindow[]]>;
}

const NO_OUTPUT: readonly never[] = Object.freeze([]);

function rank(scores: Map<string, Score>, n: number): RankedItem[] {
  return Array.from(scores)
    .sort(([keyA, a], [keyB, b]) => (a > b ? -1 : a < b ? 1 : keyA < keyB ? -1 : keyA > keyB ? 1 : 0))
    .slice(0, n)
    .map(([key, score], i) => ({ rank: i + 1, key, score }));
}

function sameRanking(a: readonly RankedItem[], b: readonly RankedItem[]): boolean {
  return a.length === b.length && a.every((item, i) => item.key === b[i]?.key && item.score === b[i]?.score);
}

const windowId = (window: TimeWindow): string => `${window.start}/${window.end}`;

export class TopN<V> {
  static restore<V>(options: TopNOptions<V>, snapshot: TopNSnapshot): TopN<V> {
    const topN = new TopN(options);
    if (snapshot.n !== topN.n || snapshot.allowedLateness !== topN.lateness) throw new RangeError('snapshot was taken with a different n or allowed lateness');
    topN.timers = new TimerService(snapshot.watermark);
    topN.late = snapshot.lateCount;
    for (const [group, windows] of snapshot.groups) {
      for (const [start, end, saved, fired, emitted] of windows) {
        const groupWindow = topN.groupWindow(group, { start, end });
        for (const [key, score] of saved) groupWindow.scores.set(key, typeof score === 'string' ? BigInt(score) : score);
        groupWindow.ranking = fired ? rank(groupWindow.scores, topN.n) : undefined;
        groupWindow.emitted = emitted;
      }
    }
    return topN;
  }

  private readonly n: number;
  private readonly lateness: number;
  private readonly groupOf: (key: string) => string;
  private readonly score: (value: V) => Score;
  private readonly groups = new Map<string, Map<string, GroupWindow>>();
  private readonly changed = new Set<string>();
  readonly keyedField = 'groups';
  /** Per group: a fire timer at each window's maxTimestamp and a cleanup timer at its cleanup time. */
  private timers = new TimerService();
  private late = 0;

  constructor(options: TopNOptions<V>) {
    const { n, allowedLateness = 0 } = options;
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`n must be a positive integer, got ${n}`);
    if (!Number.isSafeInteger(allowedLateness) || allowedLateness < 0) {
      throw new RangeError(`allowed lateness must be a non-negative integer of ms, got ${allowedLateness}`);
    }
    this.n = n;
    this.lateness = allowedLateness;
    this.groupOf = options.groupOf;
    this.score = options.score;
  }

  get currentWatermark(): number {
    return this.timers.currentWatermark;
  }

  get lateCount(): number {
    return this.late;
  }

  /** Takes the window operator's output stream; its late records carry no result and are ignored. */
  process(input: WindowOutput<unknown, V>): readonly TopNOutput[] {
    if (input.kind === 'late') return NO_OUTPUT;
    const { key, window } = input;
    const group = this.groupOf(key);
    // Flink WindowOperator.isWindowLate: this window's state is gone once cleanupTime <= watermark
    if (isWindowLate(window, this.lateness, this.currentWatermark)) {
      this.late += 1;
      return [{ kind: 'late', reason: 'window-expired', group, key, window }];
    }
    const groupWindow = this.groupWindow(group, window);
    this.changed.add(group);
    if (input.kind === 'retract') groupWindow.scores.delete(key);
    else groupWindow.scores.set(key, this.score(input.value));
    // Flink EventTimeTrigger.onElement: a window whose maxTimestamp the watermark has reached fires at once
    if (groupWindow.ranking === undefined && maxTimestamp(window) > this.currentWatermark) return NO_OUTPUT;
    return this.publish(group, groupWindow);
  }

  /** Emits the rankings of windows whose maxTimestamp the watermark reaches, and drops windows past cleanup. */
  advanceWatermark(watermark: number): readonly TopNOutput[] {
    let outputs: TopNOutput[] | undefined;
    this.timers.advanceWatermark(watermark, (group, time) => {
      const windows = this.groups.get(group);
      if (windows === undefined) return;
      this.changed.add(group);
      for (const [id, groupWindow] of windows) {
        if (maxTimestamp(groupWindow.window) === time) (outputs ??= []).push(...this.publish(group, groupWindow));
        if (cleanupTime(groupWindow.window, this.lateness) === time) windows.delete(id);
      }
      if (windows.size === 0) this.groups.delete(group);
    });
    return outputs ?? NO_OUTPUT;
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): TopNSnapshot {
    return {
      n: this.n,
      allowedLateness: this.lateness,
      watermark: this.currentWatermark,
      lateCount: this.late,
      groups: entriesOf(this.groups, only).map(([group, windows]) => [
          group,
          Array.from(windows.values(), (w): SavedGroupWindow => [
            w.window.start,
            w.window.end,
            Array.from(w.scores, ([key, score]) => [key, typeof score === 'bigint' ? score.toString() : score] as const),
            w.ranking !== undefined,
            w.emitted,
          ]),
        ] as const),
    };
  }

  private groupWindow(group: string, window: TimeWindow): GroupWindow {
    let windows = this.groups.get(group);
    if (windows === undefined) {
      windows = new Map();
      this.groups.set(group, windows);
    }
    const id = windowId(window);
    let groupWindow = windows.get(id);
    if (groupWindow === undefined) {
      groupWindow = { window: { start: window.start, end: window.end }, scores: new Map(), ranking: undefined, emitted: false };
      windows.set(id, groupWindow);
      if (maxTimestamp(window) > this.currentWatermark) this.timers.registerEventTimeTimer(group, maxTimestamp(window));
      this.timers.registerEventTimeTimer(group, cleanupTime(window, this.lateness));
    }
    return groupWindow;
  }

  /** Re-ranks; emits only when the ranking differs from the one last emitted. */
  private publish(group: string, groupWindow: GroupWindow): readonly TopNOutput[] {
    const ranking = rank(groupWindow.scores, this.n);
    const previous = groupWindow.ranking;
    groupWindow.ranking = ranking;
    if (previous !== undefined && sameRanking(previous, ranking)) return NO_OUTPUT;
    if (!groupWindow.emitted && ranking.length === 0) return NO_OUTPUT;
    const kind = groupWindow.emitted ? 'update' : 'result';
    groupWindow.emitted = true;
    return [{ kind, group, window: groupWindow.window, ranking }];
  }
}

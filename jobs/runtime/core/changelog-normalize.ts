/**
 * An upsert changelog (the latest row per key, with a version, or the key's deletion) turned into the
 * changes it makes: each new row of a key comes out with the key's previous row, so that a consumer can
 * retract what the previous row contributed and add what the new one does (Flink's ChangelogNormalize,
 * which keeps the last row per key and emits -U/+U). Versions grow per key; an older or repeated version
 * is refused.
 *
 * State retention is by event time, as the producing join keeps its rows: a key is kept while its row's
 * time + retention >= watermark. A row for a key no longer kept, itself older than that, goes to the
 * late output. Rows known never to change again may be passed with `remember = false`: they count once
 * and are not kept.
 */
import { entriesOf, takeAll } from './keyed-snapshots.js';
import { TimerService } from './timers.js';
import { MIN_TIMESTAMP } from './watermark.js';

export interface ChangelogNormalizeOptions {
  /** event-time state retention, ms */
  readonly retentionMs: number;
}

export type NormalizeOutput<V> =
  /** the key's row before and after (undefined: none, e.g. an insert, or a deletion) */
  | { readonly kind: 'change'; readonly key: string; readonly before: V | undefined; readonly after: V | undefined }
  | { readonly kind: 'late'; readonly reason: 'older-than-retention'; readonly key: string; readonly time: number; readonly watermark: number };

interface KeyState<V> {
  version: number;
  time: number;
  value: V;
}

export type SavedNormalizedKey<V> = readonly [version: number, time: number, value: V];

export interface ChangelogNormalizeSnapshot<V> {
  readonly retentionMs: number;
  readonly watermark: number;
  readonly lateCount: number;
  /** per key, sorted by key; values must be JSON-serialisable */
  readonly keys: ReadonlyArray<readonly [key: string, state: SavedNormalizedKey<V>]>;
}

export class ChangelogNormalize<V> {
  static restore<V>(options: ChangelogNormalizeOptions, snapshot: ChangelogNormalizeSnapshot<V>): ChangelogNormalize<V> {
    const normalize = new ChangelogNormalize<V>(options);
    if (snapshot.retentionMs !== normalize.retention) throw new RangeError('snapshot was taken with a different state retention');
    normalize.watermark = snapshot.watermark;
    normalize.late = snapshot.lateCount;
    normalize.timers = new TimerService(snapshot.watermark);
    for (const [key, [version, time, value]] of snapshot.keys) {
      normalize.keys.set(key, { version, time, value });
      normalize.registerCleanup(key, time);
    }
    return normalize;
  }

  readonly keyedField = 'keys';
  private readonly retention: number;
  private readonly keys = new Map<string, KeyState<V>>();
  private readonly changed = new Set<string>();
  private timers = new TimerService();
  private watermark = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: ChangelogNormalizeOptions) {
    if (!Number.isSafeInteger(options.retentionMs) || options.retentionMs <= 0) throw new RangeError(`state retention must be a positive integer of ms, got ${options.retentionMs}`);
    this.retention = options.retentionMs;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  /** Keys holding state, for state-size metrics. */
  get keyCount(): number {
    return this.keys.size;
  }

  /**
   * The key's new row (`value`), or its deletion (undefined), at `version` and event `time`. Returns the
   * change, a late output, or undefined when a deletion meets a key without a row.
   */
  process(key: string, version: number, time: number, value: V | undefined, remember = true): NormalizeOutput<V> | undefined {
    if (!Number.isSafeInteger(time)) throw new RangeError(`event time ${time} is not a safe integer of ms`);
    if (!Number.isSafeInteger(version)) throw new RangeError(`version ${version} is not a safe integer`);
    const state = this.keys.get(key);
    if (state !== undefined && version <= state.version) {
      throw new RangeError(`key ${key}: version ${version} is not newer than version ${state.version} already applied (the changelog is out of order or replayed)`);
    }
    if (state === undefined && time + this.retention < this.watermark) {
      this.late += 1;
      return { kind: 'late', reason: 'older-than-retention', key, time, watermark: this.watermark };
    }
    const before = state?.value;
    // A row moved to a time the retention no longer keeps counts once and is not kept (as the producing join drops it).
    if (value === undefined || !remember || time + this.retention < this.watermark) {
      if (state !== undefined) {
        this.keys.delete(key);
        this.changed.add(key);
      }
    } else if (state === undefined) {
      this.keys.set(key, { version, time, value });
      this.registerCleanup(key, time);
      this.changed.add(key);
    } else {
      state.version = version;
      state.value = value;
      if (time !== state.time) {
        state.time = time;
        this.registerCleanup(key, time);
      }
      this.changed.add(key);
    }
    if (before === undefined && value === undefined) return undefined;
    return { kind: 'change', key, before, after: value };
  }

  /** Drops the keys the retention no longer keeps; emits nothing (their last rows stay counted). */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    this.timers.advanceWatermark(watermark, (key) => {
      const state = this.keys.get(key);
      // A key whose time moved later has a later timer too.
      if (state === undefined || state.time + this.retention >= watermark) return;
      this.keys.delete(key);
      this.changed.add(key);
    });
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): ChangelogNormalizeSnapshot<V> {
    return {
      retentionMs: this.retention,
      watermark: this.watermark,
      lateCount: this.late,
      keys: entriesOf(this.keys, only).map(([key, s]) => [key, [s.version, s.time, s.value]] as const),
    };
  }

  private registerCleanup(key: string, time: number): void {
    // fires once the watermark reaches time + retention + 1, i.e. once time + retention < watermark
    this.timers.registerEventTimeTimer(key, time + this.retention + 1);
  }
}

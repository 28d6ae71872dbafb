/** Keyed value state with a processing-time TTL (Flink StateTtlConfig: OnCreateAndWrite, NeverReturnExpired). */

interface TtlEntry<T> {
  value: T;
  lastWriteMs: number;
}

export interface TtlValueStateSnapshot<T> {
  readonly ttlMs: number;
  readonly entries: ReadonlyArray<readonly [key: string, value: T, lastWriteMs: number]>;
}

/** Values must be JSON-serialisable for snapshots to be. */
export class TtlValueState<T> {
  static restore<T>(snapshot: TtlValueStateSnapshot<T>): TtlValueState<T> {
    const state = new TtlValueState<T>(snapshot.ttlMs);
    for (const [key, value, lastWriteMs] of snapshot.entries) state.entries.set(key, { value, lastWriteMs });
    return state;
  }

  private readonly entries = new Map<string, TtlEntry<T>>();
  private readonly ttlMs: number;

  constructor(ttlMs: number) {
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`TTL must be a positive integer of ms, got ${ttlMs}`);
    this.ttlMs = ttlMs;
  }

  /** Entries held, expired ones included until they are read or purged. */
  get size(): number {
    return this.entries.size;
  }

  value(key: string, nowMs: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.isExpired(entry, nowMs)) {
      // Flink NeverReturnExpired: an expired value is cleared on access, never returned
      this.entries.delete(key);
      return undefined;
    }
    // Flink OnCreateAndWrite: reading does not extend the TTL
    return entry.value;
  }

  update(key: string, value: T, nowMs: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.entries.set(key, { value, lastWriteMs: nowMs });
    } else {
      entry.value = value;
      entry.lastWriteMs = nowMs;
    }
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every expired entry (reads never see them anyway; this bounds memory) and returns how many. */
  purgeExpired(nowMs: number): number {
    let purged = 0;
    for (const [key, entry] of this.entries) {
      if (this.isExpired(entry, nowMs)) {
        this.entries.delete(key);
        purged += 1;
      }
    }
    return purged;
  }

  snapshot(): TtlValueStateSnapshot<T> {
    return { ttlMs: this.ttlMs, entries: Array.from(this.entries, ([key, entry]) => [key, entry.value, entry.lastWriteMs] as const) };
  }

  private isExpired(entry: TtlEntry<T>, nowMs: number): boolean {
    // Flink TtlUtils.expired: lastAccessTimestamp + ttl <= currentTimestamp
    return entry.lastWriteMs + this.ttlMs <= nowMs;
  }
}

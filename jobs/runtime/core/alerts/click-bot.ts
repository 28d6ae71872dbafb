/**
 * click_bot: a user blacklisted for clicking one ad more than N times in a day (a dim_blacklist row), one alert per
 * user per day. Rows wait until the watermark passes their blacklisted_at, then the day's earliest (ties by ad id)
 * alerts, so the alert does not depend on the order rows of several ads arrived in. A user-day is remembered for
 * `retention` after its blacklisting; a row older than that is sent to the late output, as it may repeat an alert.
 */
import { entriesOf, type KeyedSnapshots, takeAll } from '../keyed-snapshots.js';
import { MIN_TIMESTAMP } from '../watermark.js';
import { DAY_MS } from '../windows.js';
import { type Alert, type AlertOutput, NO_OUTPUT, compareKeys, requireNonNegativeMs } from './alert.js';

/** A dim_blacklist row: blacklisted_at in epoch ms, day the calendar day (YYYY-MM-DD) in the pipeline's zone. */
export interface BlacklistRow {
  readonly user_id: string | number | bigint;
  readonly ad_id: string | number | bigint;
  readonly day: string;
  readonly blacklisted_at: number;
}

export interface ClickBotOptions {
  /** N, the blacklist's limit of clicks on one ad in a day (RTDW_BLACKLIST_CLICKS). */
  readonly blacklistClicks: number;
  /** How long a user-day is remembered after its blacklisting; 2 days by default. */
  readonly retention?: number;
}

type PendingRow = readonly [blacklistedAt: number, adId: string, day: string];

interface UserState {
  pending: PendingRow[];
  /** Days alerted, with the blacklisting time that alerted. */
  alerted: Map<string, number>;
}

export interface SavedClickBotUser {
  readonly pending: readonly PendingRow[];
  readonly alerted: ReadonlyArray<readonly [day: string, blacklistedAt: number]>;
}

export interface ClickBotSnapshot {
  readonly blacklistClicks: number;
  readonly retention: number;
  readonly watermark: number;
  readonly lateCount: number;
  readonly users: ReadonlyArray<readonly [user: string, state: SavedClickBotUser]>;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class ClickBotDetector implements KeyedSnapshots<ClickBotSnapshot> {
  static restore(options: ClickBotOptions, snapshot: ClickBotSnapshot): ClickBotDetector {
    const detector = new ClickBotDetector(options);
    if (snapshot.blacklistClicks !== detector.clicks || snapshot.retention !== detector.retention) {
      throw new RangeError('snapshot was taken with a different click limit or retention');
    }
    detector.watermark = snapshot.watermark;
    detector.late = snapshot.lateCount;
    for (const [user, saved] of snapshot.users) {
      detector.users.set(user, { pending: saved.pending.map((row) => [row[0], row[1], row[2]] as const), alerted: new Map(saved.alerted) });
      if (saved.pending.length > 0) detector.waiting.add(user);
    }
    return detector;
  }

  readonly keyedField = 'users';
  private readonly clicks: number;
  private readonly retention: number;
  private readonly users = new Map<string, UserState>();
  /** Users with rows waiting for the watermark. */
  private readonly waiting = new Set<string>();
  private readonly changed = new Set<string>();
  private watermark = MIN_TIMESTAMP;
  private late = 0;

  constructor(options: ClickBotOptions) {
    const { blacklistClicks, retention = 2 * DAY_MS } = options;
    if (!Number.isSafeInteger(blacklistClicks) || blacklistClicks < 1) throw new RangeError(`blacklist clicks must be a positive integer, got ${blacklistClicks}`);
    requireNonNegativeMs('retention', retention);
    this.clicks = blacklistClicks;
    this.retention = retention;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  get lateCount(): number {
    return this.late;
  }

  process(row: BlacklistRow): readonly AlertOutput[] {
    const { day, blacklisted_at: at } = row;
    if (!Number.isSafeInteger(at)) throw new RangeError(`blacklisted_at must be epoch ms, got ${at}`);
    if (!DAY.test(day)) throw new RangeError(`day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
    const user = String(row.user_id);
    if (at + this.retention <= this.watermark) {
      this.late += 1;
      return [{ kind: 'late', reason: 'retention-expired', key: user, time: at }];
    }
    const state = this.userState(user);
    this.changed.add(user);
    const pending: PendingRow = [at, String(row.ad_id), day];
    if (at > this.watermark) {
      state.pending.push(pending);
      this.waiting.add(user);
      return NO_OUTPUT;
    }
    const alert = this.judge(user, state, pending);
    return alert === undefined ? NO_OUTPUT : [{ kind: 'alert', alert }];
  }

  /** Judges the rows the watermark reaches, earliest first (ties by user, then ad id); forgets user-days past retention. */
  advanceWatermark(watermark: number): readonly AlertOutput[] {
    if (watermark <= this.watermark) return NO_OUTPUT;
    this.watermark = watermark;
    const due: Array<readonly [user: string, row: PendingRow]> = [];
    for (const user of this.waiting) {
      const state = this.users.get(user) as UserState;
      const ready = state.pending.filter(([at]) => at <= watermark);
      if (ready.length === 0) continue;
      state.pending = state.pending.filter(([at]) => at > watermark);
      if (state.pending.length === 0) this.waiting.delete(user);
      for (const row of ready) due.push([user, row]);
    }
    due.sort(([userA, a], [userB, b]) => a[0] - b[0] || compareKeys(userA, userB) || compareKeys(a[1], b[1]));
    const outputs: AlertOutput[] = [];
    for (const [user, row] of due) {
      const alert = this.judge(user, this.users.get(user) as UserState, row);
      if (alert !== undefined) outputs.push({ kind: 'alert', alert });
    }
    for (const [user, state] of this.users) {
      for (const [day, at] of state.alerted) {
        if (at + this.retention <= watermark) {
          state.alerted.delete(day);
          this.changed.add(user);
        }
      }
      if (state.alerted.size === 0 && state.pending.length === 0) {
        this.users.delete(user);
        this.changed.add(user);
      }
    }
    return outputs;
  }

  takeChangedKeys(): string[] {
    return takeAll(this.changed);
  }

  snapshot(only?: Iterable<string>): ClickBotSnapshot {
    return {
      blacklistClicks: this.clicks,
      retention: this.retention,
      watermark: this.watermark,
      lateCount: this.late,
      users: entriesOf(this.users, only).map(([user, state]) => [user, { pending: state.pending.map((row) => [...row] as const), alerted: Array.from(state.alerted) }] as const),
    };
  }

  private judge(user: string, state: UserState, [at, adId, day]: PendingRow): Alert | undefined {
    this.changed.add(user);
    if (state.alerted.has(day)) return undefined;
    state.alerted.set(day, at);
    // blacklisted at the click that takes the user past N clicks on the ad: click N + 1
    return { time: at, kind: 'click_bot', subject: user, value: this.clicks + 1, threshold: this.clicks, detail: { ad_id: adId, day } };
  }

  private userState(user: string): UserState {
    let state = this.users.get(user);
    if (state === undefined) {
      state = { pending: [], alerted: new Map() };
      this.users.set(user, state);
    }
    return state;
  }
}

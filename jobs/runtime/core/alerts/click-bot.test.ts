import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeChanges } from '../../changelog-codec.js';
import { uniforms } from '../evt/evt-test-support.js';
import { DAY_MS } from '../windows.js';
import type { Alert, AlertOutput } from './alert.js';
import { type BlacklistRow, ClickBotDetector, type ClickBotSnapshot } from './click-bot.js';

const START = Date.UTC(2026, 0, 5);
const dayOf = (t: number): string => new Date(t).toISOString().slice(0, 10);

interface Delivery {
  readonly arrival: number;
  readonly row: BlacklistRow;
}

/**
 * Three days of dim_blacklist rows: 6 bots a day (the generator's default), each blacklisted on its ad and, a tenth of
 * the time, on a second ad a few minutes later; one bot comes back the next day. Rows arrive up to 30 s out of order.
 */
function blacklistRows(jitterSeed: number): { deliveries: Delivery[]; botDays: Set<string> } {
  const u = uniforms(21);
  const jitter = uniforms(jitterSeed);
  const deliveries: Delivery[] = [];
  const botDays = new Set<string>();
  const add = (user: number, ad: number, at: number): void => {
    deliveries.push({ arrival: at + Math.floor(jitter() * 30_000), row: { user_id: user, ad_id: ad, day: dayOf(at), blacklisted_at: at } });
    botDays.add(`${user}|${dayOf(at)}`);
  };
  for (let day = 0; day < 3; day++) {
    for (let k = 0; k < 6; k++) {
      const user = day === 1 && k === 0 ? 1_000 : 1_000 + day * 10 + k;
      const at = START + day * DAY_MS + Math.floor(u() * (DAY_MS - 600_000));
      add(user, 1 + Math.floor(u() * 50), at);
      if (u() < 0.1 || k === 3) add(user, 51 + Math.floor(u() * 50), at + 60_000 + Math.floor(u() * 240_000));
    }
  }
  deliveries.sort((a, b) => a.arrival - b.arrival);
  return { deliveries, botDays };
}

function run(deliveries: readonly Delivery[], from?: ClickBotSnapshot, start = 0): { alerts: Alert[]; detector: ClickBotDetector } {
  const detector = from === undefined ? new ClickBotDetector({ blacklistClicks: 100 }) : ClickBotDetector.restore({ blacklistClicks: 100 }, from);
  const alerts: Alert[] = [];
  const collect = (outputs: readonly AlertOutput[]): void => {
    for (const o of outputs) if (o.kind === 'alert') alerts.push(o.alert);
  };
  for (const { arrival, row } of deliveries.slice(start)) {
    collect(detector.process(row));
    collect(detector.advanceWatermark(arrival - 60_000));
  }
  collect(detector.advanceWatermark(START + 4 * DAY_MS));
  return { alerts, detector };
}

describe('click_bot on blacklist rows of planted bots', () => {
  it('alerts once per bot per day, at its earliest blacklisting, whatever the arrival order', () => {
    const { deliveries, botDays } = blacklistRows(1);
    const { alerts } = run(deliveries);
    console.log(`click_bot: ${deliveries.length} blacklist rows of ${botDays.size} bot-days, ${alerts.length} alerts`);
    expect(alerts.map((a) => `${a.subject}|${a.detail.day}`).sort()).toEqual(Array.from(botDays).sort());
    for (const alert of alerts) {
      const first = deliveries
        .map((d) => d.row)
        .filter((r) => String(r.user_id) === alert.subject && r.day === alert.detail.day)
        .sort((a, b) => a.blacklisted_at - b.blacklisted_at)[0] as BlacklistRow;
      expect(alert).toEqual({ time: first.blacklisted_at, kind: 'click_bot', subject: String(first.user_id), value: 101, threshold: 100, detail: { ad_id: String(first.ad_id), day: first.day } });
    }
    expect(run(blacklistRows(2).deliveries).alerts).toEqual(alerts);
  });

  it('restored from JSON mid-stream, or from an incremental changelog, gives what an uninterrupted run gives', () => {
    const { deliveries } = blacklistRows(3);
    const whole = run(deliveries).alerts;
    for (const cut of [5, 11, 17]) {
      const first = new ClickBotDetector({ blacklistClicks: 100 });
      const head: Alert[] = [];
      for (const { arrival, row } of deliveries.slice(0, cut)) {
        for (const o of [...first.process(row), ...first.advanceWatermark(arrival - 60_000)]) if (o.kind === 'alert') head.push(o.alert);
      }
      const rest = run(deliveries, JSON.parse(JSON.stringify(first.snapshot())) as ClickBotSnapshot, cut).alerts;
      expect(head.length).toBeLessThan(whole.length);
      expect([...head, ...rest]).toEqual(whole);
    }
    const detector = new ClickBotDetector({ blacklistClicks: 100 });
    const log = new Map<string, string>();
    for (const { arrival, row } of deliveries) {
      detector.process(row);
      detector.advanceWatermark(arrival - 60_000);
      const changed = detector.takeChangedKeys();
      for (const [key, value] of encodeChanges(detector.snapshot(changed), detector.keyedField, changed, null)) {
        if (value === null) log.delete(key);
        else log.set(key, value);
      }
      expect(decodeSnapshot<ClickBotSnapshot>(log)?.snapshot).toEqual(JSON.parse(JSON.stringify(detector.snapshot())));
    }
  });
});

describe('ClickBotDetector rules', () => {
  const row = (over: Partial<BlacklistRow> = {}): BlacklistRow => ({ user_id: 7, ad_id: 3, day: '2026-01-05', blacklisted_at: START, ...over });

  it('judges a row the watermark has passed at once, and repeats no alert that day', () => {
    const detector = new ClickBotDetector({ blacklistClicks: 20 });
    detector.advanceWatermark(START + 10_000);
    expect(detector.process(row())).toMatchObject([{ kind: 'alert', alert: { subject: '7', value: 21, threshold: 20, time: START } }]);
    expect(detector.process(row({ ad_id: 4, blacklisted_at: START + 5_000 }))).toEqual([]);
    expect(detector.process(row({ day: '2026-01-06', blacklisted_at: START + DAY_MS }))).toEqual([]);
    expect(detector.advanceWatermark(START + DAY_MS)).toMatchObject([{ kind: 'alert', alert: { detail: { day: '2026-01-06' } } }]);
  });

  it('sends a row older than the retention to the late output, and forgets user-days past it', () => {
    const detector = new ClickBotDetector({ blacklistClicks: 20, retention: DAY_MS });
    detector.process(row());
    detector.advanceWatermark(START);
    expect(detector.snapshot().users).toHaveLength(1);
    detector.advanceWatermark(START + DAY_MS);
    expect(detector.snapshot().users).toEqual([]);
    expect(detector.process(row({ ad_id: 9 }))).toEqual([{ kind: 'late', reason: 'retention-expired', key: '7', time: START }]);
    expect(detector.lateCount).toBe(1);
  });

  it('refuses rows it cannot read', () => {
    const detector = new ClickBotDetector({ blacklistClicks: 20 });
    expect(() => detector.process(row({ day: '5.1.2026' }))).toThrow(/YYYY-MM-DD/);
    expect(() => detector.process(row({ blacklisted_at: 1.5 }))).toThrow(/epoch ms/);
    expect(() => new ClickBotDetector({ blacklistClicks: 0 })).toThrow(/positive integer/);
  });
});

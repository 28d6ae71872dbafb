/**
 * The alert stages in memory on the generator's traffic: two hours at 40 actions a second, the first 70
 * minutes without abuse (the calibration of the learned thresholds), then brushing users, failure bursts
 * and click bots. What was injected comes from the generator's abuse markers and the rows and events it
 * wrote, never from the stages: every brushing user is alerted once, over the orders they placed; every
 * burst is alerted in a minute it covers; every bot once, at the click that took it past the limit. A
 * restart from a checkpoint, with alerts written after it lost, raises exactly the alerts of an
 * uninterrupted run.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeValue, parseColumnType } from '../../connectors/clickhouse/encoder.js';
import { parseScreenRecord } from '../../connectors/redis/records.js';
import { alertJob } from '../../test/support/alert-job.js';
import { generatorTraffic } from '../../test/support/generator-inputs.js';
import { type AlertRow, injected, overlaps, windowOf } from '../../test/support/alerts-model.js';
import { InMemoryJob } from '../../test/support/in-memory-job.js';
import { TimeZone } from '../runtime/core/index.js';
import { PIPELINE_DEFAULTS, dwdTopics, type DwdJobOptions } from '../dwd/options.js';
import { ALERT_DEFAULTS } from './alerts.js';

const P = 3;
const MINUTE = 60_000;
const START = Date.UTC(2026, 5, 1, 8);
const ABUSE_AFTER_MINUTES = 70;
const BLACKLIST_CLICKS = 100;
const namespace = 'al';
const topics = dwdTopics(namespace);
const options: DwdJobOptions = {
  ...PIPELINE_DEFAULTS,
  namespace,
  partitions: P,
  blacklistClicks: BLACKLIST_CLICKS,
  // an hour of minutes to calibrate on, so the test sees bursts within two hours
  alerts: { ...ALERT_DEFAULTS, paymentCalibrationMinutes: 60 },
};
const UTC = TimeZone.of('UTC');
const MINUTES = 130;
/** Episodes are expected alerted when they start (bots: are blacklisted) this long before the traffic ends, so the watermark passes their windows. */
const JUDGED_BEFORE = START + (MINUTES - 5) * MINUTE;

const traffic = generatorTraffic(
  { seed: 7, start: START, rate: 40, minutes: MINUTES, abuseAfterMinutes: ABUSE_AFTER_MINUTES, brushersPerHour: 12, failureBurstsPerHour: 6, botsPerHour: 12, blacklistClicks: BLACKLIST_CLICKS },
  { binlog: P, events: P },
);

/** Sends inputs [from, to), letting the test runner's messages through now and then (a run takes a minute of CPU). */
async function send(job: InMemoryJob, from: number, to: number): Promise<void> {
  for (let n = from; n < to; n++) {
    const i = traffic.inputs[n] as (typeof traffic.inputs)[number];
    job.send(i.source === 'binlog' ? topics.odsBinlog : topics.odsEvents, i.partition, i.key, i.value);
    if (n % 20_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}
const RUN_TIMEOUT_MS = 900_000;

const alertsOf = (job: InMemoryJob): AlertRow[] => job.values(`${namespace}.alerts`) as AlertRow[];
const { brushers, bursts, bots } = injected(traffic, BLACKLIST_CLICKS);
const judged = {
  brushers: brushers.filter((b) => b.from < JUDGED_BEFORE),
  bursts: bursts.filter((b) => b.from < JUDGED_BEFORE),
  bots: bots.filter((b) => b.blacklistedAt < JUDGED_BEFORE),
};

describe('alert stages in memory on the generator\'s traffic', () => {
  const job = new InMemoryJob(alertJob(options), { [topics.odsBinlog]: P, [topics.odsEvents]: P });
  let alerts: AlertRow[] = [];
  const ofKind = (kind: string): AlertRow[] => alerts.filter((a) => a.kind === kind);
  beforeAll(async () => {
    await send(job, 0, traffic.inputs.length);
    alerts = alertsOf(job);
  }, RUN_TIMEOUT_MS);

  it('the traffic injects every kind, only after the calibration stretch', () => {
    expect(judged.brushers.length).toBeGreaterThanOrEqual(5);
    expect(judged.bursts.length).toBeGreaterThanOrEqual(3);
    expect(judged.bots.length).toBeGreaterThanOrEqual(5);
    for (const { at } of traffic.abuse) expect(at).toBeGreaterThanOrEqual(START + ABUSE_AFTER_MINUTES * MINUTE);
    // a brushing episode lasts at most 40 orders 25 s apart; the user may order something small besides
    for (const b of brushers.filter((x) => x.from < START + (MINUTES - 17) * MINUTE)) expect(b.orders).toBeGreaterThanOrEqual(b.planned);
  });

  it('alerts every brushing user once, over the orders they placed', () => {
    for (const b of judged.brushers) {
      const mine = ofKind('order_brushing').filter((a) => a.subject === b.user && overlaps(windowOf(a), b));
      expect(mine.length, `brusher ${b.user}`).toBe(1);
      expect(mine[0]?.value).toBeGreaterThan(mine[0]?.threshold as number);
    }
  });

  it('alerts every failure burst in a minute it covers', () => {
    for (const burst of judged.bursts) {
      const mine = ofKind('payment_failure').filter((a) => overlaps(windowOf(a), burst));
      expect(mine.length, `burst ${new Date(burst.from).toISOString()}`).toBeGreaterThanOrEqual(1);
      for (const a of mine) expect(a.value).toBeGreaterThan(a.threshold);
    }
  });

  it('alerts every click bot once, at the click that took it past the limit', () => {
    const got = ofKind('click_bot').map((a) => ({ user: a.subject, time: UTC.parse(a.time), value: a.value, threshold: a.threshold })).filter((a) => a.time < JUDGED_BEFORE);
    expect(got.sort((a, b) => a.time - b.time)).toEqual(judged.bots.map((b) => ({ user: b.user, time: b.blacklistedAt, value: BLACKLIST_CLICKS + 1, threshold: BLACKLIST_CLICKS })).sort((a, b) => a.time - b.time));
  });

  it('raises few alerts on normal traffic (printed: the false alerts)', () => {
    const brushingFalse = ofKind('order_brushing').filter((a) => !brushers.some((b) => b.user === a.subject && overlaps(windowOf(a), b)));
    const paymentFalse = ofKind('payment_failure').filter((a) => !bursts.some((b) => overlaps(windowOf(a), b)));
    console.log(
      `alerts: ${alerts.length}; order_brushing ${ofKind('order_brushing').length} for ${brushers.length} brushers, ${brushingFalse.length} false; ` +
        `payment_failure ${ofKind('payment_failure').length} for ${bursts.length} bursts, ${paymentFalse.length} false; click_bot ${ofKind('click_bot').length} for ${bots.length} bots`,
    );
    expect(brushingFalse.length).toBeLessThanOrEqual(2);
    expect(paymentFalse.length).toBeLessThanOrEqual(2);
  });

  it('writes each alert once, as a row of ClickHouse alerts and a Redis record the sink accepts', () => {
    const sql = readFileSync(new URL('../../schemas/clickhouse/0006_alerts.sql', import.meta.url), 'utf8');
    const body = /CREATE TABLE IF NOT EXISTS \{\{database\}\}\.alerts\s*\(([\s\S]*?)\)\s*ENGINE/.exec(sql)?.[1] as string;
    const columns = body.split(',\n').map((line) => line.trim().split(/\s+/)).map(([name, ...type]) => [name as string, type.join(' ')] as const);
    expect(new Set(alerts.map((a) => a.alert_id)).size).toBe(alerts.length);
    for (const a of alerts) {
      expect(Object.keys(a)).toEqual(columns.map(([name]) => name));
      for (const [name, type] of columns) expect(() => encodeValue(parseColumnType(type), a[name as keyof AlertRow]), `${name} = ${JSON.stringify(a[name as keyof AlertRow])}`).not.toThrow();
    }
    const redis = job.outputs.filter((o) => o.topic === `${namespace}.ads_redis`);
    expect(redis.map((r) => r.key)).toEqual(alerts.map(() => 'alerts'));
    const records = redis.map((r) => parseScreenRecord(JSON.parse(r.value as string)));
    expect(records.map((r) => (r.kind === 'alert' ? `${r.alert.kind}:${r.alert.subject}:${r.alert.time}` : r.kind))).toEqual(alerts.map((a) => a.alert_id));
  });

  it('a kill and restart from a checkpoint mid-abuse loses and repeats no alert', async () => {
    const restarted = new InMemoryJob(alertJob(options), { [topics.odsBinlog]: P, [topics.odsEvents]: P });
    const checkpointAt = Math.floor(traffic.inputs.length * 0.6);
    const crashAt = Math.floor(traffic.inputs.length * 0.8);
    await send(restarted, 0, checkpointAt);
    const checkpoint = restarted.checkpoint();
    const before = alertsOf(restarted).length;
    await send(restarted, checkpointAt, crashAt);
    // the kill lands mid-work: alerts raised since the checkpoint are lost with their transactions
    expect(alertsOf(restarted).length).toBeGreaterThan(before);
    expect(before).toBeGreaterThan(0);
    restarted.restartFrom(checkpoint);
    expect(alertsOf(restarted).length).toBe(before);
    await send(restarted, checkpointAt, traffic.inputs.length);
    expect(alertsOf(restarted)).toEqual(alerts);
  }, RUN_TIMEOUT_MS);
});

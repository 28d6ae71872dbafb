/**
 * The traffic and settings of the alerts integration test (alerts.it.test.ts) and its worker process: 75
 * minutes of the generator's traffic at 30 actions/s, abuse after 35 minutes, DSPOT calibrating on 30
 * minutes (level 0.95, so that 30 minutes leave 20 deviations for one above the quantile).
 */
import { ALERT_DEFAULTS } from '../../jobs/alerts/alerts.js';
import { PIPELINE_DEFAULTS, type DwdJobOptions } from '../../jobs/dwd/options.js';
import type { GeneratorOptionsInput } from '../../connectors/generator/options.js';

export const PARTITIONS = 3;
export const MINUTE = 60_000;
export const START = Date.UTC(2026, 5, 1, 8);
export const MINUTES = 75;
export const ABUSE_AFTER_MINUTES = 35;
export const BLACKLIST_CLICKS = 100;

export const GENERATOR: GeneratorOptionsInput = {
  seed: 21,
  start: START,
  rate: 30,
  minutes: MINUTES,
  abuseAfterMinutes: ABUSE_AFTER_MINUTES,
  brushersPerHour: 12,
  failureBurstsPerHour: 6,
  botsPerHour: 12,
  blacklistClicks: BLACKLIST_CLICKS,
};

export function alertOptions(namespace: string): DwdJobOptions {
  return {
    ...PIPELINE_DEFAULTS,
    namespace,
    partitions: PARTITIONS,
    blacklistClicks: BLACKLIST_CLICKS,
    checkpointIntervalMs: 500,
    alerts: { ...ALERT_DEFAULTS, level: 0.95, paymentCalibrationMinutes: 30 },
  };
}

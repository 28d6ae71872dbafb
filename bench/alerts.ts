/**
 * False-alarm rate of the learned-threshold alerts on normal traffic: `npm run bench:alerts`.
 *
 * The generator's traffic without any abuse (no brushers, bursts or bots; its slow ±30 % drift of the
 * failure rate stays on) goes through the alert stages and the DWD stages they read, in memory
 * (test/support/alert-job.ts), with the alert settings of the environment (RTDW_ALERT_*, defaults: q 1e-4,
 * level 0.98, d 10). Every alert is then a false one. Printed per alert kind: the values the detector
 * judged after its calibration (order_brushing: users' 10-minute window counts; payment_failure:
 * minutes with enough payments), the alerts, and their rate per judged value (compare with q).
 *
 * Options (env): BENCH_ALERTS_HOURS (6), BENCH_ALERTS_RATE (40 actions/s), BENCH_ALERTS_SEED (3).
 */
import type { KafkaMessage } from 'kafkajs';
import { adsContext } from '../jobs/ads/context.js';
import { PIPELINE_DEFAULTS, dwdTopics, type DwdJobOptions } from '../jobs/dwd/options.js';
import { loadConfig } from '../schemas/config.js';
import { alertJob } from '../test/support/alert-job.js';
import { generatorTraffic } from '../test/support/generator-inputs.js';
import { InMemoryJob } from '../test/support/in-memory-job.js';

const hours = Number(process.env.BENCH_ALERTS_HOURS ?? 6);
const rate = Number(process.env.BENCH_ALERTS_RATE ?? 40);
const seed = Number(process.env.BENCH_ALERTS_SEED ?? 3);
const P = 3;
const namespace = 'bench_alerts';
const settings = loadConfig().pipeline.alerts;
const options: DwdJobOptions = { ...PIPELINE_DEFAULTS, namespace, partitions: P, alerts: settings };
const topics = dwdTopics(namespace);

const started = performance.now();
const traffic = generatorTraffic({ seed, start: Date.UTC(2026, 5, 1, 0), rate, minutes: hours * 60, brushersPerHour: 0, failureBurstsPerHour: 0, botsPerHour: 0 }, { binlog: P, events: P });

/** The distinct windows each detector stage is given, in arrival order: calibration first. */
const judged = new Map<string, string[]>();
/** payment_failure: payments per minute (window end) and key */
const payments = new Map<number, Map<string, number>>();
const spec = alertJob(options);
const job = new InMemoryJob(
  {
    ...spec,
    stages: spec.stages.map((stage) => {
      if (!stage.name.endsWith('.detect')) return stage;
      const seen = new Set<string>();
      const windows: string[] = [];
      judged.set(stage.name, windows);
      return {
        ...stage,
        createProcessor: (context) => {
          const processor = stage.createProcessor(context);
          const onRecord = processor.onRecord.bind(processor);
          processor.onRecord = (message: KafkaMessage) => {
            const v = (JSON.parse(message.value?.toString() ?? 'null') as { v?: { kind?: string; key?: string; end?: number; value?: { payments?: number } } } | null)?.v;
            if (v?.kind === 'update' && stage.name.includes('payment_failure')) {
              // a minute's payments, summed over the keys (source partitions)
              const minute = payments.get(v.end as number) ?? new Map<string, number>();
              minute.set(v.key as string, v.value?.payments ?? 0);
              payments.set(v.end as number, minute);
            } else if (v?.kind === 'update' && !seen.has(`${v.key}/${v.end}`)) {
              // a user's window counts once, at its first result (later ones are judged, not learned)
              seen.add(`${v.key}/${v.end}`);
              windows.push(`${v.key}/${v.end}`);
            }
            return onRecord(message);
          };
          return processor;
        },
      };
    }),
  },
  { [topics.odsBinlog]: P, [topics.odsEvents]: P },
);
for (const i of traffic.inputs) job.send(i.source === 'binlog' ? topics.odsBinlog : topics.odsEvents, i.partition, i.key, i.value);
const alerts = job.values(`${namespace}.alerts`) as Array<{ kind: string; subject: string; time: string; value: number; threshold: number }>;

const ctx = adsContext(options);
console.log(`alerts on normal traffic: ${hours} h at ${rate} actions/s (seed ${seed}), ${traffic.inputs.length} inputs, ${Math.round((performance.now() - started) / 1000)} s`);
console.log(`settings: ${JSON.stringify(settings)}; generator abuse off (its failure-rate drift on)`);
const rows: Array<[string, number, number]> = [
  [`order_brushing (user window counts, ${settings.brushingCalibration} calibrate)`, (judged.get(`${ctx.namespace}.alerts.order_brushing.detect`)?.length ?? 0) - settings.brushingCalibration, alerts.filter((a) => a.kind === 'order_brushing').length],
  // minutes with fewer than minPayments payments are skipped
  [
    `payment_failure (minutes with ${settings.minPayments}+ payments, ${settings.paymentCalibrationMinutes} calibrate)`,
    [...payments.values()].filter((m) => [...m.values()].reduce((sum, n) => sum + n, 0) >= settings.minPayments).length - settings.paymentCalibrationMinutes,
    alerts.filter((a) => a.kind === 'payment_failure').length,
  ],
  ['click_bot (no bot injected)', Number.NaN, alerts.filter((a) => a.kind === 'click_bot').length],
];
for (const [what, values, count] of rows) {
  const per = Number.isNaN(values) ? '' : `, ${values} judged after calibration, false-alarm rate ${values > 0 ? (count / values).toExponential(2) : 'n/a'} (q = ${settings.q})`;
  console.log(`  ${what}: ${count} alerts${per}`);
}
for (const a of alerts) console.log(`  ${a.time} ${a.kind} ${a.subject}: ${a.value} > ${a.threshold}`);

/**
 * `npm run bench:e2e`: bench:engine's Kafka step alone — 2M JSON events {key, ts, value} (10k keys) on a
 * 4-partition topic, the sliding-sum job (1 h windows every 5 min, SUM, 5 s out-of-orderness) in its
 * own process with exactly-once output, timed from spawn until its committed offsets reach the end of
 * the input; the output is read back read_committed and checked against the answer computed without
 * an engine (bench/engine.ts expectedAnswer). Options as bench:engine (BENCH_ENGINE_EVENTS, _KEYS, ...);
 * BENCH_E2E_PROFILE=1 adds a CPU profile of the worker. The LAST line printed is `e2e events/s: N`.
 */
import { pathToFileURL } from 'node:url';
import { kafkaStep, KAFKA_E2E } from './engine-kafka.js';
import { loadBenchConfig, main, type Measurement, type MeasurementStep } from './engine.js';

let measured: Measurement | undefined;
const step: MeasurementStep = {
  id: KAFKA_E2E,
  async run(ctx) {
    measured = await kafkaStep.run(ctx);
    return measured;
  },
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main([step], { ...loadBenchConfig(), skipFlink: true }).then(
    (code) => {
      if (measured !== undefined) {
        if (measured.cpuSeconds !== undefined) console.log(`e2e events per worker CPU-second: ${Math.round(measured.events / measured.cpuSeconds)}`);
        console.log(`e2e events/s: ${Math.round(measured.events / measured.wallSeconds)}`);
      }
      process.exit(measured === undefined ? 1 : code);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}

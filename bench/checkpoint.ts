/**
 * Checkpoint cost of a stage's state: `npx tsx bench/checkpoint.ts` (npm run bench:checkpoint). Prints
 * figures, asserts nothing.
 *
 * A sliding 1 h / 5 min decimal sum (the engine bench's operator) holds K keys with 4 panes each; then
 * 1,000 keys change and a checkpoint takes the changed keys' snapshot and encodes their changelog
 * records, as EventTimeProcessor.changes() does at every commit. Timed: the first checkpoint (every
 * key is new) and the incremental one (median of 5 rounds), for K = 10k, 100k and 500k (BENCH_CHECKPOINT_KEYS,
 * comma-separated). The last line is the incremental checkpoint at the largest K.
 */
import { encodeChanges } from '../jobs/runtime/changelog-codec.js';
import { SlicedWindowOperator, slidingWindows, sumDecimal, type KeyedSnapshots } from '../jobs/runtime/core/index.js';

const KEY_COUNTS = (process.env.BENCH_CHECKPOINT_KEYS ?? '10000,100000,500000').split(',').map(Number);
const CHANGED = 1000;
const ROUNDS = 5;
const BASE = Date.UTC(2026, 0, 1);

function checkpoint<S extends object>(op: KeyedSnapshots<S> & { readonly currentWatermark: number }): { ms: number; records: number; bytes: number } {
  const started = performance.now();
  const changed = op.takeChangedKeys();
  const records = encodeChanges(op.snapshot(changed), op.keyedField, changed, { watermark: op.currentWatermark });
  const ms = performance.now() - started;
  return { ms, records: records.length, bytes: records.reduce((n, [k, v]) => n + k.length + (v?.length ?? 0), 0) };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
let last = 0;
console.log('keys       first checkpoint (all keys)          1,000 keys changed (median of 5)');
for (const keys of KEY_COUNTS) {
  const op = new SlicedWindowOperator({ assigner: slidingWindows(3_600_000, 300_000), aggregate: sumDecimal(2) });
  for (let pane = 0; pane < 4; pane++) for (let k = 0; k < keys; k++) op.process(`key-${k}`, BASE + pane * 300_000 + (k % 1000), 1234n);
  const first = checkpoint(op);
  const times: number[] = [];
  let incremental = first;
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < CHANGED; i++) op.process(`key-${(round * 7919 + i * 104_729) % keys}`, BASE + 3 * 300_000 + i, 5n);
    incremental = checkpoint(op);
    times.push(incremental.ms);
  }
  times.sort((a, b) => a - b);
  last = times[Math.floor(ROUNDS / 2)] as number;
  console.log(
    `${fmt(keys).padEnd(10)} ${first.ms.toFixed(0).padStart(6)} ms, ${fmt(first.records)} records, ${(first.bytes / 1e6).toFixed(1)} MB   ` +
      `${last.toFixed(2).padStart(7)} ms, ${fmt(incremental.records)} records, ${(incremental.bytes / 1e3).toFixed(0)} kB`,
  );
}
console.log(`checkpoint ms (${fmt(KEY_COUNTS[KEY_COUNTS.length - 1] ?? 0)} keys, ${fmt(CHANGED)} changed): ${last.toFixed(2)}`);

/**
 * Incremental checkpoints: every operator reports the keys whose state changed, and a changelog built
 * only from those keys' records must always decode to the operator's whole state. Random streams
 * (disorder, lateness, retractions, expiry) with a checkpoint after random steps; a key an operator
 * forgot to report shows up as a difference.
 */
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeChanges } from './changelog-codec.js';
import {
  ChangelogIntervalJoin,
  ClickBlacklist,
  IntervalJoin,
  SessionWindowOperator,
  SlicedWindowOperator,
  TimeZone,
  TopN,
  WindowJoin,
  sessionWindows,
  slidingWindows,
  sumDecimal,
  tumblingWindows,
  type KeyedSnapshots,
  type WindowOutput,
} from './core/index.js';

/** mulberry32 */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** A changelog topic after compaction: the latest record per key. */
class Changelog {
  readonly records = new Map<string, string>();

  checkpoint<S extends object>(operator: KeyedSnapshots<S>): number {
    const changed = operator.takeChangedKeys();
    for (const [key, value] of encodeChanges(operator.snapshot(changed), operator.keyedField, changed, null)) {
      if (value === null) this.records.delete(key);
      else this.records.set(key, value);
    }
    return changed.length;
  }

  expectToHold<S extends object>(operator: KeyedSnapshots<S>): void {
    // JSON round trip: what a restore reads back
    expect(decodeSnapshot<S>(this.records)?.snapshot).toEqual(JSON.parse(JSON.stringify(operator.snapshot())));
  }
}

interface Step {
  /** feeds one record or advances the watermark */
  (r: (n: number) => number, time: number): void;
}

/** Runs `steps` with a rising event time; checkpoints at random and at the end, comparing each time. */
function run<S extends object>(seed: number, operator: KeyedSnapshots<S>, step: Step, steps = 3000): { checkpoints: number; written: number } {
  const r = random(seed);
  const log = new Changelog();
  let time = 1_000_000;
  let checkpoints = 0;
  let written = 0;
  for (let i = 0; i < steps; i++) {
    time += r(20_000);
    step(r, time);
    if (r(40) === 0 || i === steps - 1) {
      written += log.checkpoint(operator);
      log.expectToHold(operator);
      checkpoints += 1;
    }
  }
  return { checkpoints, written };
}

const keys = (r: (n: number) => number) => `k${r(30)}`;

describe('incremental checkpoints: changed keys only, the whole state restored', () => {
  it('sliding windows on shared panes, with allowed lateness, retractions and late data', () => {
    for (const seed of [1, 2, 3]) {
      const op = new SlicedWindowOperator({ assigner: slidingWindows(600_000, 120_000), aggregate: sumDecimal(2), allowedLateness: 60_000 });
      const { checkpoints, written } = run(seed, op, (r, time) => {
        if (r(10) === 0) op.advanceWatermark(time - 30_000);
        else op.process(keys(r), time - r(200_000), BigInt(r(1000) - 200), r(8) === 0 ? -1 : 1);
      });
      expect(checkpoints).toBeGreaterThan(50);
      // far fewer records than a full snapshot per checkpoint would write
      expect(written).toBeLessThan(checkpoints * 30);
    }
  });

  it('session windows merging, firing, updating and being cleaned up', () => {
    for (const seed of [4, 5]) {
      const op = new SessionWindowOperator({ assigner: sessionWindows(30_000), aggregate: sumDecimal(0), allowedLateness: 20_000 });
      run(seed, op, (r, time) => {
        if (r(8) === 0) op.advanceWatermark(time - 40_000);
        else op.process(keys(r), time - r(60_000), BigInt(r(100)), r(10) === 0 ? -1 : 1);
      });
    }
  });

  it('interval join buffers added and evicted', () => {
    for (const seed of [6, 7]) {
      const join = new IntervalJoin<number, number>({ lowerBound: -60_000, upperBound: 120_000 });
      run(seed, join, (r, time) => {
        if (r(6) === 0) join.advanceWatermark(time - 50_000);
        else if (r(2) === 0) join.processLeft(keys(r), time - r(40_000), r(1000));
        else join.processRight(keys(r), time - r(40_000), r(1000));
      });
    }
  });

  it('window join panes fired and dropped', () => {
    const join = new WindowJoin<number, number>({ assigner: tumblingWindows(300_000) });
    run(8, join, (r, time) => {
      if (r(6) === 0) join.advanceWatermark(time - 50_000);
      else if (r(2) === 0) join.processLeft(keys(r), time - r(40_000), r(1000));
      else join.processRight(keys(r), time - r(40_000), r(1000));
    });
  });

  it('TopN groups ranked, re-ranked, fired and cleaned up', () => {
    const topN = new TopN<bigint>({ n: 3, groupOf: (key) => key.slice(0, 2), score: (v) => v, allowedLateness: 120_000 });
    run(9, topN, (r, time) => {
      if (r(6) === 0) {
        topN.advanceWatermark(time - 100_000);
        return;
      }
      const start = Math.floor((time - r(200_000)) / 60_000) * 60_000;
      const window = { start, end: start + 60_000 };
      const key = `g${r(4)}|${r(10)}`;
      const input: WindowOutput<unknown, bigint> = r(8) === 0 ? { kind: 'retract', key, window } : { kind: r(2) === 0 ? 'result' : 'update', key, window, value: BigInt(r(500)) };
      topN.process(input);
    });
  });

  it('changelog interval join: both sides upserted and deleted, dimension rows changed, keys dropped by retention', () => {
    for (const seed of [10, 11]) {
      const join = new ChangelogIntervalJoin<{ area: string }, { ok: boolean }, string, string>({
        lowerBound: 0,
        upperBound: 30_000,
        retentionMs: 200_000,
        matches: (p) => p.ok,
        compareIds: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
        dimensionOf: (o) => o.area,
        result: (o, first, area) => `${o.time}|${first?.id ?? '-'}|${area ?? '-'}`,
      });
      run(seed, join, (r, time) => {
        const pick = r(10);
        const at = time - r(100_000);
        if (pick === 0) join.advanceWatermark(time - 50_000);
        else if (pick === 1) join.process({ side: 'dimension', op: r(3) === 0 ? 'delete' : 'upsert', id: `a${r(4)}`, row: `city${r(5)}` });
        else if (pick < 5) join.process({ side: 'left', op: r(5) === 0 ? 'delete' : 'upsert', key: keys(r), time: at, row: { area: `a${r(4)}` } });
        else join.process({ side: 'right', op: r(5) === 0 ? 'delete' : 'upsert', key: keys(r), id: `p${r(8)}`, time: at, row: { ok: r(3) !== 0 } });
      });
    }
  });

  it('click blacklist: events deduplicated, clicks held, released, corrected and expired, dimension rows arriving late', () => {
    for (const seed of [12, 13]) {
      const op = new ClickBlacklist<null, string>({ allowedLateness: 60_000, threshold: 3, timeZone: TimeZone.of('Asia/Shanghai') });
      run(seed, op, (r, time) => {
        const pick = r(12);
        if (pick === 0) op.advanceWatermark(time - 30_000);
        else if (pick === 1) op.changeDimension(`a${r(4)}`, r(4) === 0 ? undefined : `city${r(3)}`);
        else op.process(`u${r(6)}`, { id: `e${r(400)}`, time: time - r(80_000), dimensionId: `a${r(5)}`, clickOn: r(3) === 0 ? null : `ad${r(2)}`, payload: null });
      });
    }
  });
});

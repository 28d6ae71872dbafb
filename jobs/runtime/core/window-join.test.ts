import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowJoin, type WindowJoinOutput, type WindowJoinSnapshot } from './window-join.js';
import { assignWindows, slidingWindows, tumblingWindows } from './windows.js';

const pairs = (outputs: readonly WindowJoinOutput<string, string>[]): string[] =>
  outputs.flatMap((o) => (o.kind === 'joined' ? [`${o.left}${o.right}@[${o.window.start},${o.window.end})`] : []));

describe('WindowJoin', () => {
  it('emits every left x right pair of a key in a window when the window fires, stamped end - 1', () => {
    const join = new WindowJoin<string, string>({ assigner: tumblingWindows(10) });
    join.processLeft('k', 1, 'a');
    join.processRight('k', 3, 'x');
    join.processLeft('k', 5, 'b');
    join.processRight('k', 9, 'y');
    join.processRight('k', 10, 'next-window');
    join.processLeft('other', 2, 'c');
    expect(join.advanceWatermark(8)).toEqual([]);
    const fired = join.advanceWatermark(9);
    expect(pairs(fired)).toEqual(['ax@[0,10)', 'ay@[0,10)', 'bx@[0,10)', 'by@[0,10)']);
    expect(fired[0]).toEqual({ kind: 'joined', key: 'k', window: { start: 0, end: 10 }, left: 'a', right: 'x', timestamp: 9 });
    expect(join.advanceWatermark(100)).toEqual([]); // only one side in [10, 20) and for 'other'
  });

  it('joins in every sliding window both records share', () => {
    const join = new WindowJoin<string, string>({ assigner: slidingWindows(15, 5) });
    join.processLeft('k', 12, 'l');
    join.processRight('k', 7, 'r');
    expect(pairs(join.advanceWatermark(100))).toEqual(['lr@[0,15)', 'lr@[5,20)']);
  });

  it('sends an input whose windows have all fired to the late output, with its side', () => {
    const join = new WindowJoin<string, string>({ assigner: tumblingWindows(10) });
    join.processLeft('k', 1, 'a');
    join.advanceWatermark(9);
    expect(join.processRight('k', 5, 'x')).toEqual([{ kind: 'late', reason: 'window-expired', key: 'k', timestamp: 5, side: 'right', record: 'x' }]);
    expect(join.processLeft('k', 9, 'b')).toMatchObject([{ kind: 'late', side: 'left', record: 'b' }]);
    expect(join.lateCount).toBe(2);
    expect(join.currentWatermark).toBe(9);
  });

  type Op = readonly ['left' | 'right', string, number] | readonly ['watermark', number];
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('left' as const, 'right' as const), fc.constantFrom('a', 'b'), fc.integer({ min: -12, max: 20 })) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('watermark' as const), fc.integer({ min: 0, max: 8 })) },
  );
  const scenarioArb = fc.record({
    slide: fc.integer({ min: 1, max: 6 }),
    multiple: fc.integer({ min: 1, max: 4 }),
    ops: fc.array(opArb, { maxLength: 60 }),
    cut: fc.nat(),
  });

  function drive(ops: readonly Op[], start: WindowJoin<string, string>, cut = -1, swap = (join: WindowJoin<string, string>) => join): WindowJoinOutput<string, string>[] {
    let join = start;
    let watermark = 0;
    const outputs: WindowJoinOutput<string, string>[] = [...join.advanceWatermark(watermark)];
    ops.forEach((op, i) => {
      if (i === cut) join = swap(join);
      if (op[0] === 'watermark') {
        watermark += op[1];
        outputs.push(...join.advanceWatermark(watermark));
      } else {
        const ts = watermark + op[2];
        outputs.push(...(op[0] === 'left' ? join.processLeft(op[1], ts, `L${i}`) : join.processRight(op[1], ts, `R${i}`)));
      }
    });
    outputs.push(...join.advanceWatermark(watermark + 1_000));
    return outputs;
  }

  it('pairs exactly the records that share a window and were on time for it', () => {
    fc.assert(
      fc.property(scenarioArb, ({ slide, multiple, ops }) => {
        const assigner = slidingWindows(slide * multiple, slide);
        const expected: string[] = [];
        const arrivals: Array<{ side: string; key: string; ts: number; record: string; watermark: number }> = [];
        let watermark = 0;
        ops.forEach((op, i) => {
          if (op[0] === 'watermark') watermark += op[1];
          else arrivals.push({ side: op[0], key: op[1], ts: watermark + op[2], record: op[0] === 'left' ? `L${i}` : `R${i}`, watermark });
        });
        // Flink, zero lateness: a record enters each of its windows that had not fired (end - 1 > watermark) on arrival
        const entered = (a: { watermark: number }, w: { end: number }): boolean => w.end - 1 > a.watermark;
        for (const l of arrivals.filter((a) => a.side === 'left')) {
          for (const r of arrivals.filter((a) => a.side === 'right' && a.key === l.key)) {
            for (const w of assignWindows(assigner, l.ts)) {
              if (r.ts >= w.start && r.ts < w.end && entered(l, w) && entered(r, w)) expected.push(`${l.record}${r.record}@[${w.start},${w.end})`);
            }
          }
        }
        expect(pairs(drive(ops, new WindowJoin({ assigner }))).sort()).toEqual(expected.sort());
      }),
      { numRuns: 300 },
    );
  });

  it('restores from a snapshot taken mid-stream and continues with identical outputs', () => {
    fc.assert(
      fc.property(scenarioArb, ({ slide, multiple, ops, cut }) => {
        const options = { assigner: slidingWindows(slide * multiple, slide) };
        const restoredRun = drive(ops, new WindowJoin(options), cut % (ops.length + 1), (join) =>
          WindowJoin.restore(options, JSON.parse(JSON.stringify(join.snapshot())) as WindowJoinSnapshot<string, string>),
        );
        expect(restoredRun).toEqual(drive(ops, new WindowJoin(options)));
      }),
      { numRuns: 300 },
    );
  });
});

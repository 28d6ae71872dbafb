/**
 * An independent model of a keyed event-time sliding-window sum, written from Flink's rules (not
 * from jobs/runtime), for the runtime's integration tests. Per input partition, in the partition's
 * record order:
 * - the watermark is bounded out-of-orderness: max event time seen − bound − 1, moved after every
 *   record (Flink's BoundedOutOfOrdernessWatermarks);
 * - a record counts in each window [start, start + size) holding it whose end − 1 is above the
 *   watermark it arrives at (Flink's WindowOperator.isWindowLate, allowed lateness 0), and goes to
 *   the late output when no such window is left;
 * - a window with at least one record fires once, when the watermark reaches end − 1 (Flink's
 *   EventTimeTrigger), so the windows emitted are those whose end − 1 the final watermark reached.
 */

export interface ModelEvent {
  key: string;
  ts: number;
  value: number;
  partition: number;
}

export interface WindowSpec {
  size: number;
  slide: number;
  outOfOrdernessMs: number;
}

export interface SlidingSumModel {
  /** `result <key>|<start>|<end>=<sum>` of every window that fires, sorted */
  results: string[];
  /** the records no window took, in input order */
  late: ModelEvent[];
}

export function resultText(r: { kind: string; key: string; start: number; end: number; sum: string | bigint }): string {
  return `${r.kind} ${r.key}|${r.start}|${r.end}=${r.sum}`;
}

export function slidingSumModel(events: readonly ModelEvent[], w: WindowSpec): SlidingSumModel {
  const byPartition = new Map<number, ModelEvent[]>();
  for (const e of events) {
    const list = byPartition.get(e.partition) ?? [];
    byPartition.set(e.partition, list);
    list.push(e);
  }
  const results: string[] = [];
  const late: ModelEvent[] = [];
  for (const partitionEvents of byPartition.values()) {
    let watermark = Number.NEGATIVE_INFINITY;
    const sums = new Map<string, { key: string; start: number; sum: bigint }>();
    for (const e of partitionEvents) {
      let counted = false;
      // windows holding e.ts: starts at multiples of the slide in (ts − size, ts]
      for (let start = e.ts - (((e.ts % w.slide) + w.slide) % w.slide); start > e.ts - w.size; start -= w.slide) {
        if (start + w.size - 1 <= watermark) continue;
        counted = true;
        const id = `${e.key}|${start}`;
        const window = sums.get(id) ?? { key: e.key, start, sum: 0n };
        sums.set(id, window);
        window.sum += BigInt(e.value);
      }
      if (!counted) late.push(e);
      watermark = Math.max(watermark, e.ts - w.outOfOrdernessMs - 1);
    }
    for (const { key, start, sum } of sums.values()) {
      if (start + w.size - 1 <= watermark) results.push(resultText({ kind: 'result', key, start, end: start + w.size, sum }));
    }
  }
  return { results: results.sort(), late };
}

/** What one multiset of records has more often than the other, shortened for a readable failure. */
export function difference(actual: readonly string[], expected: readonly string[]): { extra: string[]; missing: string[] } {
  const counts = new Map<string, number>();
  for (const x of actual) counts.set(x, (counts.get(x) ?? 0) + 1);
  for (const x of expected) counts.set(x, (counts.get(x) ?? 0) - 1);
  const extra: string[] = [];
  const missing: string[] = [];
  for (const [x, n] of counts) {
    for (let i = 0; i < n; i++) extra.push(x);
    for (let i = 0; i < -n; i++) missing.push(x);
  }
  const shorten = (xs: string[]): string[] => xs.slice(0, 5).concat(xs.length > 5 ? [`… ${xs.length} in all`] : []);
  return { extra: shorten(extra), missing: shorten(missing) };
}

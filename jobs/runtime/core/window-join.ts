/**
 * Inner join of two keyed streams in the same tumbling or sliding window (Flink join().where().equalTo().window()):
 * both sides are buffered per key and pane; when a window fires, every left x right pair of a key is emitted.
 */
import type { AggregateSpec } from './aggregates.js';
import { SlicedWindowOperator, type SlicedWindowSnapshot } from './sliced-window.js';
import { type AlignedWindows, type TimeWindow, type WindowOutput, maxTimestamp } from './windows.js';

export interface WindowJoinOptions {
  readonly assigner: AlignedWindows;
}

type JoinInput<L, R> = { readonly side: 'left'; readonly record: L } | { readonly side: 'right'; readonly record: R };

export interface JoinBuffers<L, R> {
  readonly left: L[];
  readonly right: R[];
}

export interface WindowJoinedPair<L, R> {
  readonly kind: 'joined';
  readonly key: string;
  readonly window: TimeWindow;
  readonly left: L;
  readonly right: R;
  /** window.maxTimestamp(), as Flink stamps window output. */
  readonly timestamp: number;
}

/** An input whose every window has fired (Flink's join has no lateness by default and drops it). */
export type LateWindowJoinInput<L, R> = { readonly kind: 'late'; readonly reason: 'window-expired'; readonly key: string; readonly timestamp: number } & (
  | { readonly side: 'left'; readonly record: L }
  | { readonly side: 'right'; readonly record: R }
);

export type WindowJoinOutput<L, R> = WindowJoinedPair<L, R> | LateWindowJoinInput<L, R>;

/** Records must be JSON-serialisable. */
export type WindowJoinSnapshot<L, R> = SlicedWindowSnapshot<JoinBuffers<L, R>>;

const NO_OUTPUT: readonly never[] = Object.freeze([]);

/** Buffers each side in arrival order; merging panes concatenates them in pane order. Inputs are insert-only. */
function joinBuffers<L, R>(): AggregateSpec<JoinInput<L, R>, JoinBuffers<L, R>, JoinBuffers<L, R>, JoinBuffers<L, R>> {
  return {
    create: () => ({ left: [], right: [] }),
    add(acc, input) {
      if (input.side === 'left') acc.left.push(input.record);
      else acc.right.push(input.record);
      return acc;
    },
    merge(target, source) {
      for (const record of source.left) target.left.push(record);
      for (const record of source.right) target.right.push(record);
      return target;
    },
    result: (acc) => acc,
    save: (acc) => ({ left: acc.left.slice(), right: acc.right.slice() }),
    load: (saved) => ({ left: saved.left.slice(), right: saved.right.slice() }),
  };
}

export class WindowJoin<L, R> {
  static restore<L, R>(options: WindowJoinOptions, snapshot: WindowJoinSnapshot<L, R>): WindowJoin<L, R> {
    const join = new WindowJoin<L, R>(options);
    join.windows = SlicedWindowOperator.restore({ assigner: options.assigner, aggregate: joinBuffers<L, R>() }, snapshot);
    return join;
  }

  /** Flink's join has no allowed lateness by default: a window fires once and is then cleaned up. */
  private windows: SlicedWindowOperator<JoinInput<L, R>, JoinBuffers<L, R>, JoinBuffers<L, R>, JoinBuffers<L, R>>;

  constructor(options: WindowJoinOptions) {
    this.windows = new SlicedWindowOperator({ assigner: options.assigner, aggregate: joinBuffers<L, R>() });
  }

  get currentWatermark(): number {
    return this.windows.currentWatermark;
  }

  get lateCount(): number {
    return this.windows.lateCount;
  }

  processLeft(key: string, timestamp: number, record: L): readonly WindowJoinOutput<L, R>[] {
    return this.translate(this.windows.process(key, timestamp, { side: 'left', record }));
  }

  processRight(key: string, timestamp: number, record: R): readonly WindowJoinOutput<L, R>[] {
    return this.translate(this.windows.process(key, timestamp, { side: 'right', record }));
  }

  /** The watermark of the join: the min of both inputs' watermarks (see WatermarkCombiner). */
  advanceWatermark(watermark: number): readonly WindowJoinOutput<L, R>[] {
    return this.translate(this.windows.advanceWatermark(watermark));
  }

  readonly keyedField = 'keys';

  takeChangedKeys(): string[] {
    return this.windows.takeChangedKeys();
  }

  snapshot(only?: Iterable<string>): WindowJoinSnapshot<L, R> {
    return this.windows.snapshot(only);
  }

  private translate(outputs: readonly WindowOutput<JoinInput<L, R>, JoinBuffers<L, R>>[]): readonly WindowJoinOutput<L, R>[] {
    if (outputs.length === 0) return NO_OUTPUT;
    const translated: WindowJoinOutput<L, R>[] = [];
    // Zero lateness and insert-only inputs: only first firings and late inputs occur, never updates or retractions.
    for (const output of outputs) {
      if (output.kind === 'late') {
        const { key, timestamp, record: input } = output;
        translated.push(
          input.side === 'left'
            ? { kind: 'late', reason: 'window-expired', key, timestamp, side: 'left', record: input.record }
            : { kind: 'late', reason: 'window-expired', key, timestamp, side: 'right', record: input.record },
        );
      } else if (output.kind === 'result') {
        const { key, window, value } = output;
        const timestamp = maxTimestamp(window);
        // Flink CoGroupJoinHelper: for each left, for each right
        for (const left of value.left) for (const right of value.right) translated.push({ kind: 'joined', key, window, left, right, timestamp });
      }
    }
    return translated;
  }
}

/** Event-time progress: bounded-out-of-orderness watermarks per source partition, idleness, and min-combining. */

/** Flink's Long.MIN_VALUE: the watermark (and time) before anything has been seen. JSON-safe, unlike -Infinity. */
export const MIN_TIMESTAMP = Number.MIN_SAFE_INTEGER;

export interface BoundedOutOfOrdernessSnapshot {
  readonly maxTimestamp: number | null;
}

/** Watermark generator for one source partition (Flink BoundedOutOfOrdernessWatermarks). */
export class BoundedOutOfOrdernessWatermarks {
  static restore(outOfOrdernessMs: number, snapshot: BoundedOutOfOrdernessSnapshot): BoundedOutOfOrdernessWatermarks {
    const generator = new BoundedOutOfOrdernessWatermarks(outOfOrdernessMs);
    generator.maxTimestamp = snapshot.maxTimestamp ?? undefined;
    return generator;
  }

  private readonly outOfOrdernessMs: number;
  private maxTimestamp: number | undefined;

  constructor(outOfOrdernessMs: number) {
    if (!Number.isSafeInteger(outOfOrdernessMs) || outOfOrdernessMs < 0) {
      throw new RangeError(`out-of-orderness must be a non-negative integer of ms, got ${outOfOrdernessMs}`);
    }
    this.outOfOrdernessMs = outOfOrdernessMs;
  }

  onEvent(timestamp: number): void {
    if (this.maxTimestamp === undefined || timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  currentWatermark(): number {
    if (this.maxTimestamp === undefined) return MIN_TIMESTAMP;
    // Flink BoundedOutOfOrdernessWatermarks.onPeriodicEmit: watermark = maxTimestamp - outOfOrderness - 1
    return Math.max(MIN_TIMESTAMP, this.maxTimestamp - this.outOfOrdernessMs - 1);
  }

  snapshot(): BoundedOutOfOrdernessSnapshot {
    return { maxTimestamp: this.maxTimestamp ?? null };
  }
}

interface InputWatermark {
  watermark: number;
  idle: boolean;
}

function combine(current: number, inputs: Iterable<InputWatermark>): number {
  let min = Number.POSITIVE_INFINITY;
  for (const input of inputs) if (!input.idle && input.watermark < min) min = input.watermark;
  // Flink CombinedWatermarkStatus.updateCombinedWatermark: min over non-idle inputs, only forward; all idle -> unchanged
  return min !== Number.POSITIVE_INFINITY && min > current ? min : current;
}

export interface WatermarkCombinerSnapshot {
  readonly combined: number;
  readonly inputs: ReadonlyArray<readonly [id: string, state: { readonly watermark: number; readonly idle: boolean }]>;
}

/**
 * Min of the watermarks of a fixed set of inputs: the two sides of a join, or the N upstream producers of a
 * repartition topic (each writes (producerId, watermark) into every partition), so watermarks survive repartitioning.
 */
export class WatermarkCombiner {
  static restore(snapshot: WatermarkCombinerSnapshot): WatermarkCombiner {
    const combiner = new WatermarkCombiner(snapshot.inputs.map(([id]) => id));
    for (const [id, state] of snapshot.inputs) combiner.inputs.set(id, { watermark: state.watermark, idle: state.idle });
    combiner.combined = snapshot.combined;
    return combiner;
  }

  private readonly inputs = new Map<string, InputWatermark>();
  private combined = MIN_TIMESTAMP;

  constructor(inputIds: readonly string[]) {
    if (inputIds.length === 0) throw new RangeError('a watermark combiner needs at least one input');
    for (const id of inputIds) {
      if (this.inputs.has(id)) throw new RangeError(`duplicate watermark input ${JSON.stringify(id)}`);
      this.inputs.set(id, { watermark: MIN_TIMESTAMP, idle: false });
    }
  }

  get currentWatermark(): number {
    return this.combined;
  }

  isIdle(inputId: string): boolean {
    return this.input(inputId).idle;
  }

  /** Every input is idle: the combined stream is idle too (Flink's valve then emits WatermarkStatus.IDLE). */
  get idle(): boolean {
    for (const input of this.inputs.values()) if (!input.idle) return false;
    return true;
  }

  /** Records an input's watermark (which also marks it active) and returns the combined watermark. */
  update(inputId: string, watermark: number): number {
    const input = this.input(inputId);
    input.idle = false;
    // Flink StatusWatermarkValve.inputWatermark: an input's watermark only moves forward
    if (watermark > input.watermark) input.watermark = watermark;
    this.combined = combine(this.combined, this.inputs.values());
    return this.combined;
  }

  /** Excludes an input from the min until its next update, and returns the combined watermark. */
  markIdle(inputId: string): number {
    const input = this.input(inputId);
    if (input.idle) return this.combined;
    input.idle = true;
    let active = false;
    let max = MIN_TIMESTAMP;
    for (const other of this.inputs.values()) {
      active ||= !other.idle;
      if (other.watermark > max) max = other.watermark;
    }
    // Flink StatusWatermarkValve: once every channel is idle, and the last one held the min back, the max across channels is flushed
    if (!active) {
      if (input.watermark === this.combined && max > this.combined) this.combined = max;
    } else {
      this.combined = combine(this.combined, this.inputs.values());
    }
    return this.combined;
  }

  snapshot(): WatermarkCombinerSnapshot {
    return {
      combined: this.combined,
      inputs: Array.from(this.inputs, ([id, input]) => [id, { watermark: input.watermark, idle: input.idle }] as const),
    };
  }

  private input(inputId: string): InputWatermark {
    const input = this.inputs.get(inputId);
    if (input === undefined) throw new RangeError(`unknown watermark input ${JSON.stringify(inputId)}`);
    return input;
  }
}

export interface PartitionedWatermarksOptions {
  readonly partitions: readonly string[];
  readonly outOfOrdernessMs: number;
  /** Processing time without events after which a partition stops holding the watermark back; omit to never idle. */
  readonly idleTimeoutMs?: number;
}

interface PartitionState extends InputWatermark {
  readonly generator: BoundedOutOfOrdernessWatermarks;
  lastActivityMs: number;
}

export interface SavedPartition {
  readonly maxTimestamp: number | null;
  readonly lastActivityMs: number;
  readonly watermark: number;
  readonly idle: boolean;
}

export interface PartitionedWatermarksSnapshot {
  readonly combined: number;
  readonly partitions: ReadonlyArray<readonly [partition: string, state: SavedPartition]>;
}

/**
 * The watermark of one source: a bounded-out-of-orderness generator per partition, idleness by processing time,
 * min over the active partitions. Call onPeriodicEmit on Flink's auto-watermark interval.
 */
export class PartitionedWatermarks {
  static restore(options: PartitionedWatermarksOptions, snapshot: PartitionedWatermarksSnapshot): PartitionedWatermarks {
    const restored = new PartitionedWatermarks(options, MIN_TIMESTAMP);
    const saved = new Map(snapshot.partitions);
    for (const partition of options.partitions) {
      const state = saved.get(partition);
      if (state === undefined) throw new RangeError(`snapshot has no state for partition ${JSON.stringify(partition)}`);
      restored.partitions.set(partition, {
        generator: BoundedOutOfOrdernessWatermarks.restore(options.outOfOrdernessMs, state),
        lastActivityMs: state.lastActivityMs,
        watermark: state.watermark,
        idle: state.idle,
      });
    }
    restored.combined = snapshot.combined;
    return restored;
  }

  private readonly partitions = new Map<string, PartitionState>();
  private readonly idleTimeoutMs: number;
  private combined = MIN_TIMESTAMP;

  constructor(options: PartitionedWatermarksOptions, nowMs: number) {
    const { idleTimeoutMs = Number.POSITIVE_INFINITY } = options;
    if (!(idleTimeoutMs >= 0)) throw new RangeError(`idle timeout must be non-negative, got ${idleTimeoutMs}`);
    if (options.partitions.length === 0) throw new RangeError('a source needs at least one partition');
    this.idleTimeoutMs = idleTimeoutMs;
    for (const partition of options.partitions) {
      if (this.partitions.has(partition)) throw new RangeError(`duplicate partition ${JSON.stringify(partition)}`);
      this.partitions.set(partition, {
        generator: new BoundedOutOfOrdernessWatermarks(options.outOfOrdernessMs),
        lastActivityMs: nowMs,
        watermark: MIN_TIMESTAMP,
        idle: false,
      });
    }
  }

  get currentWatermark(): number {
    return this.combined;
  }

  isIdle(partition: string): boolean {
    return this.partition(partition).idle;
  }

  onEvent(partition: string, timestamp: number, nowMs: number): void {
    const state = this.partition(partition);
    state.generator.onEvent(timestamp);
    state.lastActivityMs = nowMs;
  }

  /** Marks partitions idle or active, then combines once (Flink WatermarkOutputMultiplexer.onPeriodicEmit). */
  onPeriodicEmit(nowMs: number): number {
    for (const state of this.partitions.values()) {
      // Flink WatermarksWithIdleness: idle once no event arrived for longer than the timeout (IdlenessTimer compares with >)
      state.idle = nowMs - state.lastActivityMs > this.idleTimeoutMs;
      if (!state.idle) state.watermark = state.generator.currentWatermark();
    }
    this.combined = combine(this.combined, this.partitions.values());
    return this.combined;
  }

  snapshot(): PartitionedWatermarksSnapshot {
    return {
      combined: this.combined,
      partitions: Array.from(this.partitions, ([partition, state]) => [
        partition,
        { ...state.generator.snapshot(), lastActivityMs: state.lastActivityMs, watermark: state.watermark, idle: state.idle },
      ] as const),
    };
  }

  private partition(partition: string): PartitionState {
    const state = this.partitions.get(partition);
    if (state === undefined) throw new RangeError(`unknown partition ${JSON.stringify(partition)}`);
    return state;
  }
}

/**
 * What every event-time stage processor shares: where its watermark comes from (generated from the
 * records of a source partition, or combined from upstream tasks' markers), dead letters instead of
 * crashes, and checkpointing the keys of its operator's state that changed as one changelog record each.
 */
import type { KafkaMessage } from 'kafkajs';
import {
  BoundedOutOfOrdernessWatermarks,
  MIN_TIMESTAMP,
  WatermarkCombiner,
  type BoundedOutOfOrdernessSnapshot,
  type KeyedSnapshots,
  type WatermarkCombinerSnapshot,
} from './core/index.js';
import { decodeSnapshot, encodeChanges, keyedRecordKey, META_KEY } from './changelog-codec.js';
import { toJson } from './json.js';
import type { Emitted, PartitionProcessor, ProcessorStats, StageContext, StateChange } from './stage.js';

/**
 * A source stage generates its watermark from event time (Flink's forBoundedOutOfOrderness:
 * max event time − bound − 1); a stage behind an internal topic takes the min over its upstream tasks.
 */
export type WatermarkSource = { outOfOrdernessMs: number } | 'upstream';

interface ExtraState {
  generator?: BoundedOutOfOrdernessSnapshot;
  combiner?: WatermarkCombinerSnapshot;
  watermark: number;
  deadLetters: number;
}

/**
 * No outputs, shared: most records emit nothing, and an array per record is garbage to collect.
 * Frozen, so a caller that tried to add to it would fail loudly.
 */
export const NOTHING: Emitted[] = Object.freeze([]) as unknown as Emitted[];

export interface ProcessResult {
  outputs: Emitted[];
  /** the record's event time, which advances a generated watermark */
  timestamp?: number;
}

export abstract class EventTimeProcessor<Snapshot extends object> implements PartitionProcessor {
  private readonly outOfOrdernessMs: number | undefined;
  private generator: BoundedOutOfOrdernessWatermarks | undefined;
  private combiner: WatermarkCombiner | undefined;
  private watermark = MIN_TIMESTAMP;
  private deadLetters = 0;
  /** Changelog keys holding state (a key removed before it was ever written needs no tombstone). */
  private writtenKeys = new Set<string>();
  private writtenMeta: string | undefined;

  protected constructor(
    watermarks: WatermarkSource,
    private readonly deadLetterTopic: string,
    context: StageContext,
  ) {
    if (watermarks === 'upstream') {
      if (context.upstream.length === 0) throw new Error('the stage combines upstream watermarks, but no stage forwards watermarks into its input');
      this.combiner = new WatermarkCombiner(context.upstream);
    } else {
      if (context.upstream.length > 0) throw new Error(`the stage generates its own watermark, but ${context.upstream.length} upstream tasks forward theirs into its input`);
      this.outOfOrdernessMs = watermarks.outOfOrdernessMs;
      this.generator = new BoundedOutOfOrdernessWatermarks(watermarks.outOfOrdernessMs);
    }
  }

  /** One data record; throwing sends the record to the dead-letter topic with the error as reason. */
  protected abstract process(message: KafkaMessage): ProcessResult;
  /** The watermark moved forward: fire windows, drop expired state. */
  protected abstract advance(watermark: number): Emitted[];
  /** The operator whose state is checkpointed; undefined for a stage that keeps none beyond its watermark. */
  protected abstract keyedState(): KeyedSnapshots<Snapshot> | undefined;
  protected abstract restoreState(snapshot: Snapshot): void;
  protected abstract lateCount(): number;

  onRecord(message: KafkaMessage): Emitted[] {
    let result: ProcessResult;
    try {
      result = this.process(message);
    } catch (err) {
      // One bad record (unparseable, a timestamp out of range) must not stop the stage.
      return [this.deadLetter(message, err instanceof Error ? err.message : String(err))];
    }
    if (this.generator !== undefined && result.timestamp !== undefined) {
      this.generator.onEvent(result.timestamp);
      // The watermark moves after every record, not per fetched batch, so what is late and when a
      // window fires depend only on the partition's record order: a replay emits exactly the same.
      const fired = this.advanceTo(this.generator.currentWatermark());
      if (fired.length > 0) return result.outputs.length === 0 ? fired : result.outputs.concat(fired);
    }
    return result.outputs;
  }

  onWatermark(producer: string, watermark: number | null): Emitted[] {
    if (this.combiner === undefined) {
      this.deadLetters += 1;
      return [{ topic: this.deadLetterTopic, key: null, value: toJson({ reason: `watermark marker from ${producer} into a stage that generates its own watermark` }) }];
    }
    // Flink StatusWatermarkValve: the combined watermark is the min over active inputs and only moves forward
    const combined = watermark === null ? this.combiner.markIdle(producer) : this.combiner.update(producer, watermark);
    return this.advanceTo(combined);
  }

  outputWatermark(): number {
    return this.watermark;
  }

  isIdle(): boolean {
    return this.combiner?.idle ?? false;
  }

  changes(): StateChange[] {
    const extra: ExtraState = { generator: this.generator?.snapshot(), combiner: this.combiner?.snapshot(), watermark: this.watermark, deadLetters: this.deadLetters };
    const operator = this.keyedState();
    const changed = operator?.takeChangedKeys() ?? [];
    const records = encodeChanges(operator?.snapshot(changed) ?? {}, operator?.keyedField ?? 'keys', changed, extra);
    const out: StateChange[] = [];
    for (const [key, value] of records) {
      if (key === META_KEY) {
        if (value === this.writtenMeta) continue;
        this.writtenMeta = value ?? undefined;
      } else if (value === null) {
        if (!this.writtenKeys.delete(key)) continue;
      } else {
        this.writtenKeys.add(key);
      }
      out.push([key, value]);
    }
    return out;
  }

  restore(state: ReadonlyMap<string, string>): void {
    this.writtenKeys = new Set([...state.keys()].filter((key) => key !== META_KEY));
    this.writtenMeta = state.get(META_KEY);
    const decoded = decodeSnapshot<Snapshot>(state);
    if (decoded === undefined) return;
    const extra = decoded.extra as ExtraState;
    this.restoreState(decoded.snapshot);
    if (extra.generator !== undefined && this.outOfOrdernessMs !== undefined) this.generator = BoundedOutOfOrdernessWatermarks.restore(this.outOfOrdernessMs, extra.generator);
    if (extra.combiner !== undefined && this.combiner !== undefined) this.combiner = WatermarkCombiner.restore(extra.combiner);
    this.watermark = extra.watermark;
    this.deadLetters = extra.deadLetters;
  }

  stats(): ProcessorStats {
    return { stateKeys: this.writtenKeys.size, watermark: this.watermark, late: this.lateCount() };
  }

  private advanceTo(watermark: number): Emitted[] {
    if (watermark <= this.watermark) return NOTHING;
    this.watermark = watermark;
    return this.advance(watermark);
  }

  protected deadLetter(message: KafkaMessage, reason: string): Emitted {
    this.deadLetters += 1;
    return {
      topic: this.deadLetterTopic,
      key: message.key?.toString() ?? null,
      value: toJson({ reason, offset: message.offset, value: message.value?.toString('base64') ?? null }),
    };
  }
}

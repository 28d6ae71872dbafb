/**
 * TopN per group per window (jobs/runtime/core/topn.ts) as a stage over window results that a
 * window stage wrote to an internal topic keyed by group (windowResultsTo). A window's ranking is
 * emitted once the combined watermark shows every upstream task has fired that window.
 */
import type { KafkaMessage } from 'kafkajs';
import { TopN, type Ranking, type TopNOptions, type TopNSnapshot, type WindowOutput } from './core/index.js';
import { decodeEnvelope } from './envelope.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import { toJson } from './json.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';
import type { WindowResultValue } from './window-stage.js';

export interface TopNStageOptions<V> {
  topN: TopNOptions<V>;
  /** Typed window result value; throwing dead-letters the record. */
  value(value: unknown): V;
  output: { topic: string; encode(ranking: Ranking): { key: string; value: string } };
  watermarks: WatermarkSource;
  lateTopic: string;
  deadLetterTopic: string;
}

export function topNStage<V>(opts: TopNStageOptions<V>): (context: StageContext) => PartitionProcessor {
  return (context) => new TopNProcessor(opts, context);
}

class TopNProcessor<V> extends EventTimeProcessor<TopNSnapshot> {
  private topN: TopN<V>;

  constructor(private readonly opts: TopNStageOptions<V>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.topN = new TopN(opts.topN);
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { envelope } = decodeEnvelope(message);
    const r = envelope.v as Partial<WindowResultValue>;
    if (typeof r.key !== 'string' || typeof r.start !== 'number' || typeof r.end !== 'number') throw new Error('not a window result {key, start, end, kind, value}');
    const window = { start: r.start, end: r.end };
    let input: WindowOutput<unknown, V>;
    if (r.kind === 'retract') input = { kind: 'retract', key: r.key, window };
    else if (r.kind === 'result' || r.kind === 'update') input = { kind: r.kind, key: r.key, window, value: this.opts.value(r.value) };
    else throw new Error(`unknown window result kind ${JSON.stringify(r.kind)}`);
    return { outputs: this.emit(this.topN.process(input)), timestamp: envelope.t };
  }

  protected advance(watermark: number): Emitted[] {
    return this.emit(this.topN.advanceWatermark(watermark));
  }

  protected keyedState(): TopN<V> {
    return this.topN;
  }

  protected restoreState(snapshot: TopNSnapshot): void {
    this.topN = TopN.restore(this.opts.topN, snapshot);
  }

  protected lateCount(): number {
    return this.topN.lateCount;
  }

  private emit(outputs: ReturnType<TopN<V>['process']>): Emitted[] {
    return outputs.map((o) =>
      o.kind === 'late'
        ? { topic: this.opts.lateTopic, key: o.group, value: toJson({ reason: o.reason, group: o.group, key: o.key, window: o.window }) }
        : { topic: this.opts.output.topic, ...this.opts.output.encode(o) },
    );
  }
}

/**
 * An upsert changelog topic (rows keyed by id with a version, deletions flagged), normalized
 * (core/changelog-normalize.ts) into what each change of a row contributes downstream: the job says
 * what a row contributes (a topic, a key, an event time and a value per contribution), and every new
 * version of a row retracts what its previous version contributed and adds what it contributes now,
 * re-keyed for the next stages (signed-items.ts). Rows that can no longer change may be left out of
 * the state. A row for a key no longer kept, older than the retention, goes to the late topic.
 */
import type { KafkaMessage } from 'kafkajs';
import { ChangelogNormalize, type ChangelogNormalizeSnapshot } from './core/index.js';
import { EventTimeProcessor, type ProcessResult, type WatermarkSource } from './event-time-processor.js';
import { contributionChanges, type Contribution } from './signed-items.js';
import type { Emitted, PartitionProcessor, StageContext } from './stage.js';

export interface ChangelogRow<Row> {
  key: string;
  version: number;
  /** event time of the row, epoch ms */
  time: number;
  /** undefined: the key's row is deleted */
  row: Row | undefined;
}

export interface NormalizeStageOptions<Row> {
  /** One changelog record; throwing dead-letters it. */
  parse(message: KafkaMessage): ChangelogRow<Row>;
  retentionMs: number;
  /** Whether a later version of the row may come (default: yes); rows that cannot change are not kept. */
  mayChange?(row: Row): boolean;
  contributions(row: Row): Contribution[];
  late: { topic: string; encode(late: { key: string; time: number; watermark: number; row: Row | undefined }): { key: string; value: string } };
  watermarks: WatermarkSource;
  deadLetterTopic: string;
}

export function normalizeStage<Row>(opts: NormalizeStageOptions<Row>): (context: StageContext) => PartitionProcessor {
  return (context) => new NormalizeProcessor(opts, context);
}

class NormalizeProcessor<Row> extends EventTimeProcessor<ChangelogNormalizeSnapshot<Contribution[]>> {
  private normalize: ChangelogNormalize<Contribution[]>;

  constructor(private readonly opts: NormalizeStageOptions<Row>, context: StageContext) {
    super(opts.watermarks, opts.deadLetterTopic, context);
    this.normalize = new ChangelogNormalize({ retentionMs: opts.retentionMs });
  }

  protected process(message: KafkaMessage): ProcessResult {
    const { key, version, time, row } = this.opts.parse(message);
    const contributions = row === undefined ? undefined : this.opts.contributions(row);
    const remember = row === undefined || (this.opts.mayChange?.(row) ?? true);
    const output = this.normalize.process(key, version, time, contributions, remember);
    if (output === undefined) return { outputs: [], timestamp: time };
    if (output.kind === 'late') {
      return { outputs: [{ topic: this.opts.late.topic, ...this.opts.late.encode({ key, time, watermark: output.watermark, row }) }], timestamp: time };
    }
    return { outputs: contributionChanges(output.before ?? [], output.after ?? []), timestamp: time };
  }

  protected advance(watermark: number): Emitted[] {
    // Drops rows the retention no longer keeps; emits nothing (what they contributed stays).
    this.normalize.advanceWatermark(watermark);
    return [];
  }

  protected keyedState(): ChangelogNormalize<Contribution[]> {
    return this.normalize;
  }

  protected restoreState(snapshot: ChangelogNormalizeSnapshot<Contribution[]>): void {
    this.normalize = ChangelogNormalize.restore({ retentionMs: this.opts.retentionMs }, snapshot);
  }

  protected lateCount(): number {
    return this.normalize.lateCount;
  }
}

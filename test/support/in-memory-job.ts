/**
 * A job's stages wired in memory, for unit tests of jobs: every stage gets a processor per partition
 * of its input, records written to a topic another stage reads are handed to that stage's processor of
 * the partition (keyed: a hash of the key; or the record's own partition), and after each input record
 * a task forwards its watermark to the stages it feeds, as StageWorker does after each batch.
 * Records for topics no stage reads are collected.
 */
import type { KafkaMessage } from 'kafkajs';
import type { JobSpec } from '../../jobs/runtime/job.js';
import { producerId, type Emitted, type PartitionProcessor, type StageSpec } from '../../jobs/runtime/stage.js';

interface Task {
  readonly stage: StageSpec;
  readonly partition: number;
  readonly processor: PartitionProcessor;
  forwarded: number | undefined;
}

function hash(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h >>> 0;
}

/** Every task's state (its changelog folded) and the job's position at a checkpoint. */
export interface InMemoryCheckpoint {
  readonly state: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly outputs: number;
  readonly offsets: ReadonlyMap<string, number>;
}

export class InMemoryJob {
  /** outputs to topics no stage reads, in order */
  readonly outputs: Emitted[] = [];
  private readonly tasks = new Map<string, Task[]>();
  private readonly partitions = new Map<string, number>();
  /** next offset per topic/partition */
  private readonly offsets = new Map<string, number>();
  /** per task ("<stage>/<partition>"): its changelog as of the last checkpoint */
  private readonly changelogs = new Map<string, Map<string, string>>();

  /** `sources`: partitions of each source topic. */
  constructor(private readonly job: JobSpec, sources: Readonly<Record<string, number>>) {
    for (const [topic, n] of Object.entries(sources)) this.partitions.set(topic, n);
    for (const stage of job.stages) for (const output of stage.outputs) this.partitions.set(output.topic, output.partitions);
    for (const stage of job.stages) {
      const feeders = job.stages.filter((s) => s.outputs.some((o) => o.forwardWatermarks === true && o.topic === stage.input));
      const upstream = feeders.flatMap((f) => Array.from({ length: this.partitionsOf(f.input) }, (_, p) => producerId(f.name, p)));
      const tasks = Array.from({ length: this.partitionsOf(stage.input) }, (_, partition) => ({ stage, partition, processor: stage.createProcessor({ partition, upstream }), forwarded: undefined }));
      this.tasks.set(stage.name, tasks);
    }
  }

  /** A record into a source topic's partition; returns what reached topics no stage reads. */
  send(topic: string, partition: number, key: string | null, value: string | null): Emitted[] {
    const before = this.outputs.length;
    this.deliver(topic, partition, this.message(topic, partition, key, value));
    return this.outputs.slice(before);
  }

  /**
   * A checkpoint of every task at once, as the worker's transactions commit them: each task's state
   * changes since the last one, folded into its changelog. Between two calls nothing is in flight.
   */
  checkpoint(): InMemoryCheckpoint {
    for (const [name, tasks] of this.tasks) {
      for (const task of tasks) {
        const id = `${name}/${task.partition}`;
        const log = new Map(this.changelogs.get(id) ?? []);
        for (const [key, json] of task.processor.changes()) {
          if (json === null) log.delete(key);
          else log.set(key, json);
        }
        this.changelogs.set(id, log);
      }
    }
    return { state: new Map(this.changelogs), outputs: this.outputs.length, offsets: new Map(this.offsets) };
  }

  /**
   * A kill -9 and restart: what was written after the checkpoint is gone (its transactions never
   * committed), every task is rebuilt from its changelog; the caller sends the inputs after it again.
   */
  restartFrom(checkpoint: InMemoryCheckpoint): void {
    this.outputs.length = checkpoint.outputs;
    this.offsets.clear();
    for (const [at, offset] of checkpoint.offsets) this.offsets.set(at, offset);
    this.changelogs.clear();
    for (const [id, log] of checkpoint.state) this.changelogs.set(id, new Map(log));
    for (const [name, tasks] of this.tasks) {
      this.tasks.set(
        name,
        tasks.map((task) => {
          const processor = task.stage.createProcessor({ partition: task.partition, upstream: this.upstreamOf(task.stage) });
          processor.restore(checkpoint.state.get(`${name}/${task.partition}`) ?? new Map());
          return { stage: task.stage, partition: task.partition, processor, forwarded: undefined };
        }),
      );
    }
  }

  private upstreamOf(stage: StageSpec): string[] {
    const feeders = this.job.stages.filter((s) => s.outputs.some((o) => o.forwardWatermarks === true && o.topic === stage.input));
    return feeders.flatMap((f) => Array.from({ length: this.partitionsOf(f.input) }, (_, p) => producerId(f.name, p)));
  }

  private task(stage: string, partition: number): Task {
    const task = this.tasks.get(stage)?.[partition];
    if (task === undefined) throw new Error(`no task ${stage}/${partition}`);
    return task;
  }

  /** JSON values of the collected records of `topic` */
  values(topic: string): unknown[] {
    return this.outputs.filter((e) => e.topic === topic).map((e) => (e.value === null ? null : JSON.parse(e.value)));
  }

  private partitionsOf(topic: string): number {
    const n = this.partitions.get(topic);
    if (n === undefined) throw new Error(`partitions of ${topic} unknown: pass it as a source`);
    return n;
  }

  private message(topic: string, partition: number, key: string | null, value: string | null): KafkaMessage {
    const at = `${topic}/${partition}`;
    const offset = this.offsets.get(at) ?? 0;
    this.offsets.set(at, offset + 1);
    return { key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: '0', attributes: 0, offset: String(offset), headers: {} };
  }

  private deliver(topic: string, partition: number, message: KafkaMessage): void {
    const readers = this.job.stages.filter((s) => s.input === topic);
    if (readers.length === 0) throw new Error(`no stage reads ${topic}`);
    for (const stage of readers) {
      const task = this.task(stage.name, partition);
      this.route(task.processor.onRecord(message));
      this.forward(task, task.processor.outputWatermark());
    }
  }

  private route(emitted: readonly Emitted[]): void {
    for (const e of emitted) {
      if (!this.job.stages.some((s) => s.input === e.topic)) {
        this.outputs.push(e);
        continue;
      }
      const partition = e.partition ?? hash(e.key ?? '') % this.partitionsOf(e.topic);
      this.deliver(e.topic, partition, this.message(e.topic, partition, e.key, e.value));
    }
  }

  /** The task's watermark (null: idle) into every partition of every topic it feeds with watermarks. */
  private forward(task: Task, watermark: number | null): void {
    if (watermark !== null && (watermark === task.forwarded || watermark === Number.MIN_SAFE_INTEGER)) return;
    if (watermark !== null) task.forwarded = watermark;
    for (const output of task.stage.outputs.filter((o) => o.forwardWatermarks === true)) {
      for (const reader of this.job.stages.filter((s) => s.input === output.topic)) {
        for (const downstream of this.tasks.get(reader.name) ?? []) {
          this.route(downstream.processor.onWatermark(producerId(task.stage.name, task.partition), watermark));
          this.forward(downstream, downstream.processor.outputWatermark());
        }
      }
    }
  }
}

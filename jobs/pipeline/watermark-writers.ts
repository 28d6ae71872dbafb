/**
 * Which stage tasks write watermark markers into which topic. The tasks of a stage are one per
 * partition of its input, whose count the job declares where it writes that input; a sink combines
 * the markers of exactly these producers (Flink's StatusWatermarkValve over the input channels).
 */
import type { JobSpec } from '../runtime/job.js';
import { producerId } from '../runtime/stage.js';

export interface WatermarkWriter {
  stage: string;
  topic: string;
  /** partitions of the topic */
  partitions: number;
  /** the stage's tasks, as named in the markers ("<stage>/<partition>") */
  producers: string[];
}

export function watermarkWriters(jobs: readonly JobSpec[]): WatermarkWriter[] {
  const writers: WatermarkWriter[] = [];
  for (const job of jobs) {
    const declared = new Map(job.stages.flatMap((s) => s.outputs).map((o) => [o.topic, o.partitions]));
    for (const stage of job.stages) {
      const tasks = declared.get(stage.input);
      if (tasks === undefined) continue;
      for (const output of stage.outputs) {
        if (output.forwardWatermarks !== true) continue;
        writers.push({ stage: stage.name, topic: output.topic, partitions: output.partitions, producers: Array.from({ length: tasks }, (_, p) => producerId(stage.name, p)) });
      }
    }
  }
  return writers;
}

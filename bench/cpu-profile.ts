/**
 * Summaries of V8 CPU profiles (`node --cpu-prof`, one .cpuprofile per thread): self time by function
 * and by module — an npm package, a folder of this project, a part of Node's core, or V8's own
 * buckets (GC, program, idle) — for the benchmarks' "where the time goes".
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../schemas/config.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  label: string;
  module: string;
  ms: number;
}

export interface ProfileSummary {
  /** wall time the profile covers */
  spanMs: number;
  /** sampled time that was not idle */
  busyMs: number;
  byModule: SelfTime[];
  byFunction: SelfTime[];
}

/** Where a frame's code lives: `pkg` for node_modules, `rtdw <folder>` for this project, `node:<area>` for Node's core. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return /^\(.*\)$/.test(functionName) ? functionName : '(native)';
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length).replace(/^internal\//, '');
    return `node:${path.split('/')[0]?.replace(/\.js$/, '')}`;
  }
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inModules !== null) return inModules[1] as string;
  const own = relative(repoRoot, path);
  if (!own.startsWith('..')) return `rtdw ${own.split('/').slice(0, -1).join('/') || own}`;
  return path;
}

export function summariseProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // A sample's duration is the delta to the next sample (the last one gets the mean).
  const mean = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? mean)));
  const modules = new Map<string, number>();
  const functions = new Map<string, SelfTime>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = (byNode.get(id) as ProfileNode).callFrame;
    if (frame.functionName === '(idle)') continue;
    busyUs += us;
    const module = moduleOf(frame.url, frame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + us);
    const file = frame.url === '' ? '' : ` ${frame.url.split('/').at(-1)}:${frame.lineNumber + 1}`;
    const label = `${frame.functionName || '(anonymous)'}${file}`;
    const entry = functions.get(label) ?? { label, module, ms: 0 };
    entry.ms += us / 1000;
    functions.set(label, entry);
  }
  return {
    spanMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    byModule: [...modules].map(([module, us]) => ({ label: module, module, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    byFunction: [...functions.values()].sort((a, b) => b.ms - a.ms),
  };
}

/** Lines for people: the top modules and functions by self time, as ms and share of the busy time. */
export function formatProfile(summary: ProfileSummary, top = 15): string[] {
  const share = (ms: number): string => `${((ms / summary.busyMs) * 100).toFixed(1).padStart(5)} %`;
  return [
    `    busy ${(summary.busyMs / 1000).toFixed(1)} s of ${(summary.spanMs / 1000).toFixed(1)} s sampled; self time by module:`,
    ...summary.byModule.slice(0, top).map((m) => `      ${share(m.ms)}  ${(m.ms / 1000).toFixed(2).padStart(7)} s  ${m.label}`),
    `    top functions by self time:`,
    ...summary.byFunction.slice(0, top).map((f) => `      ${share(f.ms)}  ${(f.ms / 1000).toFixed(2).padStart(7)} s  ${f.label}  [${f.module}]`),
  ];
}

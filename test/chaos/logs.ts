/** The outage lines (observability/outage.ts) in the chaos run's process logs. */
import { readFileSync } from 'node:fs';

export interface OutageLine {
  /** the chaos run's name of the process (its part) */
  process: string;
  /** the pipeline part that logged it */
  part: string;
  service: string;
  kind: 'begin' | 'end';
  at: number;
  outageMs?: number;
}

export function scanLogs(files: Array<{ name: string; file: string }>): OutageLine[] {
  const found: OutageLine[] = [];
  for (const { name, file } of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{') || !line.includes('"service"')) continue;
      let l: { msg?: unknown; service?: unknown; part?: unknown; time?: unknown; outageMs?: unknown };
      try {
        l = JSON.parse(line) as typeof l;
      } catch {
        continue;
      }
      if (typeof l.service !== 'string' || typeof l.msg !== 'string') continue;
      const kind = l.msg === `${l.service} unavailable: outage begins` ? 'begin' : l.msg === `${l.service} available again` ? 'end' : undefined;
      if (kind === undefined) continue;
      found.push({
        process: name,
        part: typeof l.part === 'string' ? l.part : '?',
        service: l.service,
        kind,
        at: typeof l.time === 'string' ? Date.parse(l.time) : Number(l.time),
        ...(typeof l.outageMs === 'number' ? { outageMs: l.outageMs } : {}),
      });
    }
  }
  return found.sort((a, b) => a.at - b.at);
}

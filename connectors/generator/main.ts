/** Process wiring of `rtdw generate`: options from flags and the environment, signals, the report. */
import { pino } from 'pino';
import type { RtdwConfig } from '../../schemas/config.js';
import { ConfigError } from '../../schemas/config.js';
import { createLogger } from '../observability/logger.js';
import { pipelineSettings, resolveOptions, type GeneratorOptionsInput } from './options.js';
import { formatReport, runGenerator, SPEEDS, type GeneratorReport, type Speed } from './run.js';

/** The flags of `rtdw generate`, as commander hands them over (strings, camelCase). */
export interface GenerateFlags {
  rate: string;
  minutes?: string;
  seed: string;
  start?: string;
  speed: string;
  rowShare?: string;
  diurnal?: string;
  users?: string;
  products?: string;
  ads?: string;
  botsPerHour?: string;
  brushersPerHour?: string;
  failureBurstsPerHour?: string;
  abuseAfterMinutes?: string;
  idBase?: string;
  json?: boolean;
}

export async function runGenerate(config: RtdwConfig, flags: GenerateFlags, say: (line: string) => void): Promise<GeneratorReport> {
  const settings = pipelineSettings(config);
  const { json: _json, speed, start, ...numbers } = flags;
  const input: Omit<GeneratorOptionsInput, 'timezone' | 'blacklistClicks'> = {
    ...Object.fromEntries(Object.entries(numbers).filter(([, v]) => v !== undefined)),
    rate: flags.rate,
    start: start ?? Date.now(),
  };
  // Every bad flag at once, before anything connects.
  const problems = (SPEEDS as readonly string[]).includes(speed) ? [] : [`speed: expected ${SPEEDS.join(' or ')}, got ${JSON.stringify(speed)}`];
  try {
    resolveOptions({ ...input, idBase: input.idBase ?? 0, timezone: settings.timezone, blacklistClicks: settings.blacklistClicks });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const abort = new AbortController();
  const stop = (): void => {
    say('generate: stopping; writing what was generated');
    abort.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const report = await runGenerator(config, settings, input, { speed: speed as Speed, signal: abort.signal, onProgress: say }, createLogger('generate', config.logLevel, pino.destination(2)));
    say(formatReport(report));
    return report;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

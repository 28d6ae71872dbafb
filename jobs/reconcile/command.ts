/** `rtdw reconcile`: options → one run → the report on stdout (text or JSON), metrics file, exit code. */
import { writeFileSync } from 'node:fs';
import type { RtdwConfig } from '../../schemas/config.js';
import { registry } from '../../connectors/observability/metrics.js';
import { OptionsError, reconcileOptions, type ReconcileFlags } from './options.js';
import { exitCodeOf, formatReport } from './report.js';
import { CHECK_NAMES, reconcile } from './run.js';

export interface CommandFlags extends ReconcileFlags {
  json?: boolean;
  /** Prometheus text exposition of the run, for node_exporter's textfile collector (a one-shot command is never scraped) */
  metricsFile?: string;
}

/** Runs reconcile as the command line asked; resolves to the exit code (0 match, 1 mismatch, 2 could not run). */
export async function reconcileCommand(config: RtdwConfig, flags: CommandFlags, say: (msg: string) => void): Promise<number> {
  let options;
  try {
    options = reconcileOptions(flags, CHECK_NAMES);
  } catch (err) {
    if (err instanceof OptionsError) {
      say(`rtdw reconcile: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const report = await reconcile(config, options, { log: flags.json ? () => undefined : say });
  process.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
  // The text report carries the reason already; with --json, stderr says it too.
  if (report.status === 'error' && flags.json) say(`rtdw reconcile: could not run: ${report.error ?? ''}`);
  if (flags.metricsFile !== undefined) writeFileSync(flags.metricsFile, await registry.metrics());
  return exitCodeOf(report);
}

/**
 * docker/prometheus: every alert expression parses and reads only metrics the rtdw processes export
 * (from the code's registries); with promtool installed (Debian's prometheus), `promtool check config`,
 * `check rules` and the rule unit tests of rules.test.yml pass. Without it those are skipped, saying why.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROMETHEUS_FILES } from '../stack/prometheus.js';
import { exportedMetrics, metricNamesIn, seriesNames } from '../../test/support/exported-metrics.js';

const run = promisify(execFile);
const here = (file: string) => new URL(`./${file}`, import.meta.url).pathname;
const PROMTOOL = '/usr/bin/promtool';
const promtool = existsSync(PROMTOOL);
if (!promtool) console.warn(`prometheus.test: promtool checks skipped, ${PROMTOOL} is missing (apt-get install prometheus)`);

interface Rule {
  alert: string;
  expr: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}
const rules = (parse(readFileSync(here('rules.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const config = parse(readFileSync(here('prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string; file_sd_configs?: Array<{ files: string[] }> }> };

describe('docker/prometheus', () => {
  let exported: Set<string>;
  beforeAll(async () => {
    exported = new Set((await exportedMetrics()).flatMap(seriesNames));
  });

  it('alerts on a stalled watermark, a growing lag, dead letters and a failed reconcile, each with a severity and a summary', () => {
    const byMetric = (metric: string) => rules.filter((r) => metricNamesIn(r.expr).includes(metric)).map((r) => r.alert);
    expect(byMetric('rtdw_stage_watermark_ms')).toContain('RtdwWatermarkStalled');
    expect(byMetric('rtdw_kafka_consumer_lag_records')).toContain('RtdwConsumerLagGrowing');
    expect(byMetric('rtdw_stage_dead_letters_total')).toContain('RtdwStageDeadLetters');
    expect(byMetric('rtdw_reconcile_last_result')).toEqual(expect.arrayContaining(['RtdwReconcileMismatch', 'RtdwReconcileFailed']));
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary?.length, r.alert).toBeGreaterThan(0);
    }
  });

  it('reads, in every alert, only metrics the rtdw processes export', () => {
    const unknown = rules.flatMap((r) => metricNamesIn(r.expr).filter((n) => !exported.has(n) && n !== 'up').map((n) => `${r.alert}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it('runs with the files the stack copies: its rule files, and the targets directory beside them', () => {
    expect(config.rule_files.every((f) => (PROMETHEUS_FILES as readonly string[]).includes(f))).toBe(true);
    expect(config.scrape_configs.find((s) => s.job_name === 'rtdw')?.file_sd_configs?.[0]?.files).toEqual(['targets/*.json']);
  });

  describe.skipIf(!promtool)('promtool', () => {
    // check config resolves the rule files and the file_sd directory relative to the config, as the stack lays them out.
    const dir = mkdtempSync(join(tmpdir(), 'rtdw-promtool-'));
    beforeAll(() => {
      for (const f of [...PROMETHEUS_FILES, 'rules.test.yml']) cpSync(here(f), join(dir, f));
      mkdirSync(join(dir, 'targets'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('check config and check rules pass', async () => {
      const checked = await run(PROMTOOL, ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(checked.stdout).toMatch(/SUCCESS: .*prometheus\.yml is valid/);
      const ruleCheck = await run(PROMTOOL, ['check', 'rules', join(dir, 'rules.yml')]);
      expect(ruleCheck.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    });

    it('the rule unit tests pass: each alert fires on its series and not on healthy ones', async () => {
      const tested = await run(PROMTOOL, ['test', 'rules', 'rules.test.yml'], { cwd: dir });
      expect(tested.stdout).toContain('SUCCESS');
    });
  });
});

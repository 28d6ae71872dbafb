import { describe, expect, it } from 'vitest';
import { JOB_PARTITIONS, pipelineTopics, TOPIC_NAMES } from './topics.js';

describe('pipelineTopics', () => {
  const catalog = pipelineTopics('ns', { cdcPartitions: 5 });

  it('names every topic <ns>.<name>', () => {
    expect(TOPIC_NAMES.map((name) => catalog[name].topic)).toEqual(TOPIC_NAMES.map((name) => `ns.${name}`));
  });

  it('gives the CDC topic CDC_PARTITIONS and every topic the jobs write the jobs\' count', () => {
    expect(catalog.ods_binlog.partitions).toBe(5);
    for (const name of ['dead_letter', 'late_events', 'late_changes', 'dwd_order_wide', 'dwd_ad_event', 'dim_blacklist', 'ads_order_city_1h', 'ads_daily_kpi', 'ads_redis', 'alerts'] as const) {
      expect(catalog[name].partitions).toBe(JOB_PARTITIONS);
    }
    expect(catalog.cdc_positions.config).toEqual({ 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' });
  });
});

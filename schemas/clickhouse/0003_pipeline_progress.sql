-- How far each job's outputs are complete: its event-time watermark, latest row per job.
-- Read with FINAL (or argMax(watermark, updated_at) GROUP BY job).

CREATE TABLE IF NOT EXISTS {{database}}.pipeline_progress
(
    job String,
    watermark DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY job
SETTINGS non_replicated_deduplication_window = 1000;

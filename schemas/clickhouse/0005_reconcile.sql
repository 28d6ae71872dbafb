-- Reconcile run history (issue 12): one row per `rtdw reconcile` run (or periodic run of `rtdw run`),
-- written by jobs/reconcile/history.ts. `report` is the run's JSON report (`--json`).
--   SELECT started_at, status, mismatches, pending FROM reconcile_runs ORDER BY started_at DESC LIMIT 10

CREATE TABLE IF NOT EXISTS {{database}}.reconcile_runs
(
    run_id String,
    started_at DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    range_from DateTime64(3, 'UTC'),
    range_to DateTime64(3, 'UTC'),
    checks UInt32,
    mismatches UInt64,
    pending UInt64,
    settled UInt64,
    error String,
    report String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (started_at, run_id);

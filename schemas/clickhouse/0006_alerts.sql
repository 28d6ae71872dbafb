-- Alerts with thresholds learned from the data (issue 13), written by the alert stages of the warehouse
-- job (jobs/alerts/) through the ClickHouse sink from <ns>.alerts. An alert's identity is (kind, subject,
-- time), alert_id its text; a replay writes the same row, which FINAL folds away:
--   SELECT * FROM alerts FINAL WHERE time >= now() - INTERVAL 1 DAY ORDER BY time DESC
-- time is the event time the alert is about (a window's end - 1 ms, a blacklisting), UTC. value is what
-- was measured (orders in the window, the failure rate, the clicks that blacklisted), threshold what it
-- exceeded (SPOT's / DSPOT's learned threshold, the click limit), rounded to 6 places; detail JSON text.

CREATE TABLE IF NOT EXISTS {{database}}.alerts
(
    alert_id String,
    time DateTime64(3, 'UTC'),
    kind LowCardinality(String),
    subject String,
    value Decimal(18, 6),
    threshold Decimal(18, 6),
    detail String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (kind, subject, time)
SETTINGS non_replicated_deduplication_window = 1000;

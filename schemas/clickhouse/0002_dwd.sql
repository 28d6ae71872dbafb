-- DWD detail and the blacklist dimension, written by the DWD jobs through the ClickHouse sink
-- (topics <ns>.dwd_order_wide, <ns>.dwd_ad_event, <ns>.dim_blacklist). Read with FINAL.
-- Times are UTC instants. The TTL of the detail tables (RTDW_DETAIL_TTL_DAYS) is set by `rtdw setup`
-- with ALTER TABLE ... MODIFY TTL, since it is configuration, not schema.

CREATE TABLE IF NOT EXISTS {{database}}.dwd_order_wide
(
    order_id Int64,
    user_id Int64,
    province String,
    city String,
    amount Decimal(18, 2),
    status String,
    created_at DateTime64(3, 'UTC'),
    first_paid_at Nullable(DateTime64(3, 'UTC')),
    paid_amount Nullable(Decimal(18, 2)),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY order_id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.dwd_ad_event
(
    event_id String,
    type LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    user_id Nullable(UInt64),
    ad_id Nullable(UInt64),
    province String,
    city String,
    channel LowCardinality(String),
    device_id String,
    session_id String,
    ip String,
    counted UInt8,
    _version UInt64
)
ENGINE = ReplacingMergeTree(_version)
PARTITION BY toYYYYMMDD(ts)
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.dim_blacklist
(
    user_id UInt64,
    ad_id UInt64,
    day Date,
    blacklisted_at DateTime64(3, 'UTC'),
    _version UInt64
)
ENGINE = ReplacingMergeTree(_version)
PARTITION BY day
ORDER BY (user_id, ad_id, day)
SETTINGS non_replicated_deduplication_window = 1000;

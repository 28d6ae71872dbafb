-- ADS: the warehouse's answers (issue 11), written by the ADS stages of the warehouse job (jobs/ads/)
-- through the ClickHouse sink, one topic <ns>.<table> each. Read with FINAL: a key's latest row wins
-- (_version grows per key), and a key whose figures dropped to nothing is deleted (_is_deleted = 1):
--   SELECT ... FROM ads_order_city_1h FINAL WHERE ...
-- Window bounds are UTC instants (DateTime('UTC')); days are calendar days in RTDW_TIMEZONE. Counts
-- are exact, amounts Decimal(18, 2) sums to the cent.

CREATE TABLE IF NOT EXISTS {{database}}.ads_order_city_1h
(
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    province String,
    city String,
    orders UInt64,
    amount Decimal(18, 2),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(window_start)
ORDER BY (window_start, window_end, province, city)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_order_top3_city_1h
(
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    province String,
    rank UInt8,
    city String,
    orders UInt64,
    amount Decimal(18, 2),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(window_start)
ORDER BY (window_start, window_end, province, rank)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_order_payment_5m
(
    window_start DateTime('UTC'),
    province String,
    orders UInt64,
    paid_orders UInt64,
    paid_amount Decimal(18, 2),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(window_start)
ORDER BY (window_start, province)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_ad_clicks_1h
(
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    ad_id UInt64,
    clicks UInt64,
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(window_start)
ORDER BY (window_start, window_end, ad_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_ad_click_trend_1m
(
    minute DateTime('UTC'),
    ad_id UInt64,
    clicks UInt64,
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(minute)
ORDER BY (minute, ad_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_hot_ads_daily
(
    day Date,
    province String,
    rank UInt8,
    ad_id UInt64,
    clicks UInt64,
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (day, province, rank)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_ad_ctr_5m
(
    window_start DateTime('UTC'),
    ad_id UInt64,
    impressions UInt64,
    clicks UInt64,
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(window_start)
ORDER BY (window_start, ad_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_channel_daily
(
    day Date,
    channel String,
    clicks UInt64,
    clickers UInt64,
    orders UInt64,
    amount Decimal(18, 2),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (day, channel)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ads_daily_kpi
(
    day Date,
    pv UInt64,
    uv UInt64,
    ip UInt64,
    vv UInt64,
    dau UInt64,
    orders UInt64,
    gmv Decimal(18, 2),
    paid_gmv Decimal(18, 2),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMM(day)
ORDER BY day
SETTINGS non_replicated_deduplication_window = 1000;

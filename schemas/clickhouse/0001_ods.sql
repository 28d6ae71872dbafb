-- ODS: one mirror per source table of schemas/source/shop.sql, maintained by jobs/ods/mirror.ts.
-- Read with FINAL: `SELECT ... FROM ods_orders FINAL WHERE _is_deleted = 0` equals the MySQL table.
-- Types keep every value exactly: INT -> Int32, BIGINT -> Int64, VARCHAR -> String,
-- DECIMAL(p,s) -> Decimal(p,s), DATETIME(3) -> DateTime64(3, 'UTC') holding the source's wall-clock
-- value unchanged (a DATETIME has no zone; pinning UTC means no server zone or DST gap can shift it;
-- the instant is toDateTime64(toString(col), 3, '<RTDW_TIMEZONE>')).
-- _version grows with the binlog order of each primary key (see jobs/ods/mirror.ts); a DELETE is the
-- deleted row with _is_deleted = 1. Tables with a time column are partitioned by its day (users, a
-- dimension whose sign-ups span years, by month); FINAL merges
-- across partitions, so an update that moves a row to another day is still read correctly.
-- The deduplication window makes a retried insert with the same insert_deduplication_token a no-op.

CREATE TABLE IF NOT EXISTS {{database}}.ods_areas
(
    id Int32,
    province String,
    city String,
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ods_users
(
    id Int64,
    name String,
    area_id Int32,
    channel String,
    created_at DateTime64(3, 'UTC'),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMM(created_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ods_products
(
    id Int64,
    name String,
    category String,
    price Decimal(12, 2),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ods_orders
(
    id Int64,
    user_id Int64,
    area_id Int32,
    amount Decimal(12, 2),
    status String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ods_order_items
(
    id Int64,
    order_id Int64,
    product_id Int64,
    quantity Int32,
    price Decimal(12, 2),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ods_payments
(
    id Int64,
    order_id Int64,
    amount Decimal(12, 2),
    status String,
    paid_at DateTime64(3, 'UTC'),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(paid_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {{database}}.ods_refunds
(
    id Int64,
    order_id Int64,
    amount Decimal(12, 2),
    created_at DateTime64(3, 'UTC'),
    _version UInt64,
    _is_deleted UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

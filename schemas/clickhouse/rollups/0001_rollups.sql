-- Rollups for long-range BI: orders and ad events per 5 minutes, hour and UTC day, so that a
-- month-long query reads a few thousand rollup rows instead of millions of detail rows.
--
-- Why not a materialized view into AggregatingMergeTree: dwd_order_wide and dwd_ad_event are
-- ReplacingMergeTree upserts. Every version of a row is an insert (an order's status or amount
-- changes, a click's `counted` flips when its user is blacklisted, an order is deleted with
-- _is_deleted = 1), and an insert-triggered view sees only the new version, never the one it replaces:
-- it would count an updated order twice and a deleted one forever. So the rollups are recomputed,
-- not accumulated:
--
-- 1. Change capture (plain materialized views, run at insert): every detail version inserted records
--    which 5-minute period it touches and when (`changed_at`). Orders record (order_id, period):
--    an update may move created_at, so the periods an order ever touched are all kept, and a change
--    of the order makes each of them dirty (the old one loses the order, the new one gains it).
--    An event's ts never changes (a re-emitted click is the same event), so events record the period.
-- 2. Refreshable materialized views (REFRESH EVERY 1 MINUTE APPEND) recompute only the dirty
--    periods: the 5-minute rollups from the detail tables with FINAL (the current rows, deletes
--    excluded), the hour from the 5-minute rollup, the day from the hour (DEPENDS ON orders them).
--    Each recomputed group is written whole with _refreshed_at = the refresh's start, and a group of
--    a dirty period that no longer exists (its last order deleted or moved) gets a tombstone
--    (_is_deleted = 1), found by a FULL JOIN of the fresh groups with the stored ones. The rollup
--    tables are ReplacingMergeTree(_refreshed_at, _is_deleted): read them with FINAL, and the
--    latest computation of each group is what is read. A recomputation is idempotent, so doing one
--    twice costs time, never correctness: each refresh takes the changes since its table's latest
--    _refreshed_at minus 2 minutes. The margin covers a change stamped (now64() of its insert)
--    before the previous refresh read but committed after: the sink's inserts time out after 60 s,
--    so none commits later than that; and a manual refresh of a level overlapping one below.
--
-- Staleness: a change reaches the 5-minute rollup within a minute (the next refresh) plus the
-- refresh's run time, the hour and the day a moment later (they run after it). A correction of any
-- age (the DWD jobs write them up to RTDW_STATE_RETENTION_MS back; a replay further) costs the
-- recomputation of its 5-minute periods from the detail (by primary key: the orders that ever
-- touched them) and of their hour and day from the rollups below.
-- Limits: the detail tables keep RTDW_DETAIL_TTL_DAYS; the rollups keep everything (no TTL), and a
-- period is only recomputed when a detail row of it is inserted, so expired detail never erases a
-- rollup, but a replay of rows older than the detail TTL (which the TTL drops at insert) would
-- recompute their periods from what is left: replay only within the TTL. The change tables keep
-- 90 days. _refreshed_at is the server's clock: a clock stepping back could let an older
-- computation win until the next change of that period.
--
-- Days are UTC days (toStartOfDay in UTC): a local day in RTDW_TIMEZONE is its 24 (23, 25) hours
-- of the hourly rollup, exact for every zone whose offset is whole hours (5 minutes for the others).
-- Distinct users are uniqExact states (AggregateFunction(uniqExact, …)), merged across periods with
-- uniqExactMerge: exact like the ADS figures, at 8 bytes per distinct user id (16 per device id)
-- per row; uniq would cap a state at a few KB with ~1% error, worth it only when a row's distinct
-- users reach the hundred thousands, which per ad, province and channel they do not.
-- Codecs (measured by `npm run bench:rollups`): period, first in the sort key, steps by a constant
-- 300/3600/86400 s between runs: DoubleDelta then ZSTD; counts are small integers in 64-bit
-- columns: T64 (drops the unused high bits) then ZSTD; decimals are 64-bit integers underneath:
-- T64 then ZSTD as well; _refreshed_at, a handful of refresh times: Delta then ZSTD. Gorilla is for
-- floating-point gauges: no rollup figure is one (counts and sums are exact), and ClickHouse itself
-- refuses Gorilla before ZSTD on integer columns.

CREATE TABLE IF NOT EXISTS {{database}}.rollup_order_changes
(
    order_id Int64,
    period DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    changed_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    INDEX changed_at_minmax changed_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY (order_id, period)
TTL changed_at + INTERVAL 90 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_order_changes_mv TO {{database}}.rollup_order_changes
AS SELECT order_id, toStartOfFiveMinutes(created_at) AS period, now64(3, 'UTC') AS changed_at
FROM {{database}}.dwd_order_wide;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_ad_event_changes
(
    period DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    changed_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY period
TTL changed_at + INTERVAL 90 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_ad_event_changes_mv TO {{database}}.rollup_ad_event_changes
AS SELECT DISTINCT toStartOfFiveMinutes(ts) AS period, now64(3, 'UTC') AS changed_at
FROM {{database}}.dwd_ad_event;

-- Detail written before this migration (setup on an existing warehouse): every row marks its
-- period changed once, so the first refresh builds the rollups over all of it. Running this again
-- (a migration stopped half-way) only marks the same periods again.
INSERT INTO {{database}}.rollup_order_changes
SELECT order_id, toStartOfFiveMinutes(created_at), now64(3, 'UTC') FROM {{database}}.dwd_order_wide;

INSERT INTO {{database}}.rollup_ad_event_changes
SELECT DISTINCT toStartOfFiveMinutes(ts), now64(3, 'UTC') FROM {{database}}.dwd_ad_event;

-- Orders per period, province, city and status (counted orders: status != 'cancelled'). Orders of
-- an area not yet known have province = city = '' as in dwd_order_wide.
CREATE TABLE IF NOT EXISTS {{database}}.rollup_order_5m
(
    period DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    province LowCardinality(String),
    city LowCardinality(String),
    status LowCardinality(String),
    orders UInt64 CODEC(T64, ZSTD(1)),
    amount Decimal(18, 2) CODEC(T64, ZSTD(1)),
    paid_orders UInt64 CODEC(T64, ZSTD(1)),
    paid_amount Decimal(18, 2) CODEC(T64, ZSTD(1)),
    buyers AggregateFunction(uniqExact, Int64) CODEC(ZSTD(1)),
    _refreshed_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    _is_deleted UInt8,
    INDEX refreshed_at_minmax _refreshed_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_refreshed_at, _is_deleted)
PARTITION BY toYYYYMM(period)
ORDER BY (period, province, city, status);

CREATE TABLE IF NOT EXISTS {{database}}.rollup_order_1h AS {{database}}.rollup_order_5m;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_order_1d AS {{database}}.rollup_order_5m;

-- Ad events per period, ad (0: page views, which have no ad), province and channel.
CREATE TABLE IF NOT EXISTS {{database}}.rollup_ad_event_5m
(
    period DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    ad_id UInt64 CODEC(T64, ZSTD(1)),
    province LowCardinality(String),
    channel LowCardinality(String),
    page_views UInt64 CODEC(T64, ZSTD(1)),
    impressions UInt64 CODEC(T64, ZSTD(1)),
    clicks UInt64 CODEC(T64, ZSTD(1)),
    users AggregateFunction(uniqExact, UInt64) CODEC(ZSTD(1)),
    clickers AggregateFunction(uniqExact, UInt64) CODEC(ZSTD(1)),
    devices AggregateFunction(uniqExact, String) CODEC(ZSTD(1)),
    _refreshed_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    _is_deleted UInt8,
    INDEX refreshed_at_minmax _refreshed_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_refreshed_at, _is_deleted)
PARTITION BY toYYYYMM(period)
ORDER BY (period, ad_id, province, channel);

CREATE TABLE IF NOT EXISTS {{database}}.rollup_ad_event_1h AS {{database}}.rollup_ad_event_5m;

CREATE TABLE IF NOT EXISTS {{database}}.rollup_ad_event_1d AS {{database}}.rollup_ad_event_5m;

-- 5-minute orders from the detail. Dirty periods: those of every order with a version inserted
-- since the last refresh (margin included). Fresh groups: the current rows (FINAL, deletes out) of
-- every order that ever touched a dirty period, selected by primary key (a filter on created_at
-- could read an order's old version in a period it has left), grouped by their current period,
-- kept where that period is dirty. Stored groups of the dirty periods missing from the fresh ones
-- become tombstones.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_order_5m_refresh
REFRESH EVERY 1 MINUTE APPEND TO {{database}}.rollup_order_5m
AS WITH
    (SELECT max(_refreshed_at) - INTERVAL 2 MINUTE FROM {{database}}.rollup_order_5m) AS since,
    dirty AS (
        SELECT DISTINCT period FROM {{database}}.rollup_order_changes
        WHERE order_id IN (SELECT order_id FROM {{database}}.rollup_order_changes WHERE changed_at > since)
    )
SELECT
    period, province, city, status,
    fresh.orders AS orders, fresh.amount AS amount, fresh.paid_orders AS paid_orders,
    fresh.paid_amount AS paid_amount, fresh.buyers AS buyers,
    now64(3, 'UTC') AS _refreshed_at, 1 - fresh.present AS _is_deleted
FROM
(
    SELECT
        toStartOfFiveMinutes(created_at) AS period, province, city, status,
        count() AS orders, sum(amount) AS amount,
        countIf(first_paid_at IS NOT NULL) AS paid_orders, sum(ifNull(paid_amount, 0)) AS paid_amount,
        uniqExactState(user_id) AS buyers, toUInt8(1) AS present
    FROM {{database}}.dwd_order_wide FINAL
    WHERE order_id IN (SELECT order_id FROM {{database}}.rollup_order_changes WHERE period IN (SELECT period FROM dirty))
      AND _is_deleted = 0
    GROUP BY period, province, city, status
    HAVING period IN (SELECT period FROM dirty)
) AS fresh
FULL OUTER JOIN
(
    SELECT period, province, city, status FROM {{database}}.rollup_order_5m FINAL
    WHERE period IN (SELECT period FROM dirty)
) AS stored
USING (period, province, city, status);

-- Hours from the 5-minute rollup: an hour is dirty when one of its 5-minute groups was rewritten
-- (tombstones included: the raw rows, not FINAL), and is re-added from its current 5-minute groups.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_order_1h_refresh
REFRESH EVERY 1 MINUTE DEPENDS ON {{database}}.rollup_order_5m_refresh APPEND TO {{database}}.rollup_order_1h
AS WITH
    (SELECT max(_refreshed_at) - INTERVAL 2 MINUTE FROM {{database}}.rollup_order_1h) AS since,
    dirty AS (SELECT DISTINCT toStartOfHour(period) AS hour FROM {{database}}.rollup_order_5m WHERE _refreshed_at > since)
SELECT
    hour AS period, province, city, status,
    fresh.orders AS orders, fresh.amount AS amount, fresh.paid_orders AS paid_orders,
    fresh.paid_amount AS paid_amount, fresh.buyers AS buyers,
    now64(3, 'UTC') AS _refreshed_at, 1 - fresh.present AS _is_deleted
FROM
(
    SELECT
        toStartOfHour(period) AS hour, province, city, status,
        sum(orders) AS orders, sum(amount) AS amount, sum(paid_orders) AS paid_orders,
        sum(paid_amount) AS paid_amount, uniqExactMergeState(buyers) AS buyers, toUInt8(1) AS present
    FROM {{database}}.rollup_order_5m FINAL
    WHERE period >= (SELECT min(hour) FROM dirty) AND period < (SELECT max(hour) FROM dirty) + INTERVAL 1 HOUR
      AND hour IN (SELECT hour FROM dirty)
    GROUP BY hour, province, city, status
) AS fresh
FULL OUTER JOIN
(
    SELECT period AS hour, province, city, status FROM {{database}}.rollup_order_1h FINAL
    WHERE hour IN (SELECT hour FROM dirty)
) AS stored
USING (hour, province, city, status)
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_order_1d_refresh
REFRESH EVERY 1 MINUTE DEPENDS ON {{database}}.rollup_order_1h_refresh APPEND TO {{database}}.rollup_order_1d
AS WITH
    (SELECT max(_refreshed_at) - INTERVAL 2 MINUTE FROM {{database}}.rollup_order_1d) AS since,
    dirty AS (SELECT DISTINCT toStartOfDay(period) AS day FROM {{database}}.rollup_order_1h WHERE _refreshed_at > since)
SELECT
    day AS period, province, city, status,
    fresh.orders AS orders, fresh.amount AS amount, fresh.paid_orders AS paid_orders,
    fresh.paid_amount AS paid_amount, fresh.buyers AS buyers,
    now64(3, 'UTC') AS _refreshed_at, 1 - fresh.present AS _is_deleted
FROM
(
    SELECT
        toStartOfDay(period) AS day, province, city, status,
        sum(orders) AS orders, sum(amount) AS amount, sum(paid_orders) AS paid_orders,
        sum(paid_amount) AS paid_amount, uniqExactMergeState(buyers) AS buyers, toUInt8(1) AS present
    FROM {{database}}.rollup_order_1h FINAL
    WHERE period >= (SELECT min(day) FROM dirty) AND period < (SELECT max(day) FROM dirty) + INTERVAL 1 DAY
      AND day IN (SELECT day FROM dirty)
    GROUP BY day, province, city, status
) AS fresh
FULL OUTER JOIN
(
    SELECT period AS day, province, city, status FROM {{database}}.rollup_order_1d FINAL
    WHERE day IN (SELECT day FROM dirty)
) AS stored
USING (day, province, city, status)
SETTINGS do_not_merge_across_partitions_select_final = 1;

-- 5-minute ad events from the detail: an event's versions all share its ts, so filtering the
-- dirty periods by ts (partition pruning included) reads every version of each event in them.
-- The bounds on ts (and on period in the levels above: a rollup row's versions share its key) are
-- constants when the query is planned, so only the partitions and granules around the dirty
-- periods are read; the skip indexes on changed_at and _refreshed_at do the same for finding them.
-- FINAL reads every partition unless told that a row's versions never change partition
-- (do_not_merge_across_partitions_select_final = 1): true of events (ts is fixed) and of rollup
-- rows (period is in their key), so those refreshes say so; never of orders (created_at moves),
-- whose refresh reads the detail by primary key instead.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_ad_event_5m_refresh
REFRESH EVERY 1 MINUTE APPEND TO {{database}}.rollup_ad_event_5m
AS WITH
    (SELECT max(_refreshed_at) - INTERVAL 2 MINUTE FROM {{database}}.rollup_ad_event_5m) AS since,
    dirty AS (SELECT DISTINCT period FROM {{database}}.rollup_ad_event_changes WHERE changed_at > since)
SELECT
    period, ad_id, province, channel,
    fresh.page_views AS page_views, fresh.impressions AS impressions, fresh.clicks AS clicks,
    fresh.users AS users, fresh.clickers AS clickers, fresh.devices AS devices,
    now64(3, 'UTC') AS _refreshed_at, 1 - fresh.present AS _is_deleted
FROM
(
    SELECT
        toStartOfFiveMinutes(ts) AS period, ifNull(ad_id, 0) AS ad_id, province, channel,
        countIf(type = 'page_view') AS page_views,
        countIf(type = 'ad_impression') AS impressions,
        countIf(type = 'ad_click' AND counted = 1) AS clicks,
        uniqExactStateIf(assumeNotNull(user_id), user_id IS NOT NULL) AS users,
        uniqExactStateIf(assumeNotNull(user_id), user_id IS NOT NULL AND type = 'ad_click' AND counted = 1) AS clickers,
        uniqExactStateIf(device_id, type = 'page_view') AS devices,
        toUInt8(1) AS present
    FROM {{database}}.dwd_ad_event FINAL
    WHERE ts >= (SELECT min(period) FROM dirty) AND ts < (SELECT max(period) FROM dirty) + INTERVAL 5 MINUTE
      AND toStartOfFiveMinutes(ts) IN (SELECT period FROM dirty)
    GROUP BY period, ad_id, province, channel
) AS fresh
FULL OUTER JOIN
(
    SELECT period, ad_id, province, channel FROM {{database}}.rollup_ad_event_5m FINAL
    WHERE period IN (SELECT period FROM dirty)
) AS stored
USING (period, ad_id, province, channel)
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_ad_event_1h_refresh
REFRESH EVERY 1 MINUTE DEPENDS ON {{database}}.rollup_ad_event_5m_refresh APPEND TO {{database}}.rollup_ad_event_1h
AS WITH
    (SELECT max(_refreshed_at) - INTERVAL 2 MINUTE FROM {{database}}.rollup_ad_event_1h) AS since,
    dirty AS (SELECT DISTINCT toStartOfHour(period) AS hour FROM {{database}}.rollup_ad_event_5m WHERE _refreshed_at > since)
SELECT
    hour AS period, ad_id, province, channel,
    fresh.page_views AS page_views, fresh.impressions AS impressions, fresh.clicks AS clicks,
    fresh.users AS users, fresh.clickers AS clickers, fresh.devices AS devices,
    now64(3, 'UTC') AS _refreshed_at, 1 - fresh.present AS _is_deleted
FROM
(
    SELECT
        toStartOfHour(period) AS hour, ad_id, province, channel,
        sum(page_views) AS page_views, sum(impressions) AS impressions, sum(clicks) AS clicks,
        uniqExactMergeState(users) AS users, uniqExactMergeState(clickers) AS clickers,
        uniqExactMergeState(devices) AS devices, toUInt8(1) AS present
    FROM {{database}}.rollup_ad_event_5m FINAL
    WHERE period >= (SELECT min(hour) FROM dirty) AND period < (SELECT max(hour) FROM dirty) + INTERVAL 1 HOUR
      AND hour IN (SELECT hour FROM dirty)
    GROUP BY hour, ad_id, province, channel
) AS fresh
FULL OUTER JOIN
(
    SELECT period AS hour, ad_id, province, channel FROM {{database}}.rollup_ad_event_1h FINAL
    WHERE hour IN (SELECT hour FROM dirty)
) AS stored
USING (hour, ad_id, province, channel)
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.rollup_ad_event_1d_refresh
REFRESH EVERY 1 MINUTE DEPENDS ON {{database}}.rollup_ad_event_1h_refresh APPEND TO {{database}}.rollup_ad_event_1d
AS WITH
    (SELECT max(_refreshed_at) - INTERVAL 2 MINUTE FROM {{database}}.rollup_ad_event_1d) AS since,
    dirty AS (SELECT DISTINCT toStartOfDay(period) AS day FROM {{database}}.rollup_ad_event_1h WHERE _refreshed_at > since)
SELECT
    day AS period, ad_id, province, channel,
    fresh.page_views AS page_views, fresh.impressions AS impressions, fresh.clicks AS clicks,
    fresh.users AS users, fresh.clickers AS clickers, fresh.devices AS devices,
    now64(3, 'UTC') AS _refreshed_at, 1 - fresh.present AS _is_deleted
FROM
(
    SELECT
        toStartOfDay(period) AS day, ad_id, province, channel,
        sum(page_views) AS page_views, sum(impressions) AS impressions, sum(clicks) AS clicks,
        uniqExactMergeState(users) AS users, uniqExactMergeState(clickers) AS clickers,
        uniqExactMergeState(devices) AS devices, toUInt8(1) AS present
    FROM {{database}}.rollup_ad_event_1h FINAL
    WHERE period >= (SELECT min(day) FROM dirty) AND period < (SELECT max(day) FROM dirty) + INTERVAL 1 DAY
      AND day IN (SELECT day FROM dirty)
    GROUP BY day, ad_id, province, channel
) AS fresh
FULL OUTER JOIN
(
    SELECT period AS day, ad_id, province, channel FROM {{database}}.rollup_ad_event_1d FINAL
    WHERE day IN (SELECT day FROM dirty)
) AS stored
USING (day, ad_id, province, channel)
SETTINGS do_not_merge_across_partitions_select_final = 1;

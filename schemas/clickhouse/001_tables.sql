-- The atp store: the same statements run on chdb (embedded) and on a ClickHouse server.
-- Every table is idempotent on re-delivery: the loader is at-least-once, so a record may
-- arrive twice and must collapse to one row (ReplacingMergeTree on the record's identity).

CREATE DATABASE IF NOT EXISTS atp;

-- The latest record per SKU and location. Read with FINAL (or argMax) for exact answers.
CREATE TABLE IF NOT EXISTS atp.location_availability
(
    sku               String,
    location          LowCardinality(String),
    on_hand           Int64,
    unsellable        Int64,
    reserved          Int64,
    committed         Int64,
    safety_stock      Int64,
    available         Int64,
    incoming          Int64,
    next_inbound_date Nullable(Date),
    status            LowCardinality(String),
    version           UInt64,
    source_ts_ms      DateTime64(3, 'UTC'),
    computed_ts_ms    DateTime64(3, 'UTC'),
    cause             LowCardinality(String),
    cause_ref         String,
    loaded_at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (sku, location);

-- Every record ever emitted, once each (a re-sent record has the same version and collapses).
-- Same columns as location_availability; only the key differs.
CREATE TABLE IF NOT EXISTS atp.availability_history AS atp.location_availability
ENGINE = ReplacingMergeTree
ORDER BY (sku, location, version);

CREATE TABLE IF NOT EXISTS atp.channel_availability
(
    channel        LowCardinality(String),
    channel_sku    String,
    sku            String,
    available      Int64,
    status         LowCardinality(String),
    promise_date   Nullable(Date),
    version        UInt64,
    computed_ts_ms DateTime64(3, 'UTC'),
    loaded_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (channel, channel_sku);

CREATE TABLE IF NOT EXISTS atp.alerts
(
    sku       String,
    location  LowCardinality(String),
    kind      LowCardinality(String),
    available Int64,
    threshold Int64,
    at_ms     DateTime64(3, 'UTC'),
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (sku, location, at_ms, kind);

CREATE TABLE IF NOT EXISTS atp.dlq
(
    source_topic LowCardinality(String),
    partition    Int32,
    offset       Int64,
    reason       LowCardinality(String),
    error        String,
    payload      String,
    at_ms        DateTime64(3, 'UTC'),
    loaded_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (source_topic, partition, offset, reason);

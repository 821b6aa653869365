-- Reconciliation (atp reconcile): one row per run, one per drift found (SKU, location, field).
-- A drift is what the pipeline published against what the systems of record say now; `since`
-- is the later of the pipeline record's source time and the source row's own update time.

CREATE TABLE IF NOT EXISTS atp.reconcile_runs
(
    run_id        String,
    started_at    DateTime64(3, 'UTC'),
    finished_at   DateTime64(3, 'UTC'),
    keys_checked  UInt64,
    drifts        UInt64,
    repairs_sent  UInt64,
    repair        UInt8
)
ENGINE = ReplacingMergeTree
ORDER BY run_id;

CREATE TABLE IF NOT EXISTS atp.reconcile_drift
(
    run_id           String,
    checked_at       DateTime64(3, 'UTC'),
    sku              String,
    location         LowCardinality(String),
    field            LowCardinality(String),
    pipeline_value   Int64,
    source_value     Int64,
    since            DateTime64(3, 'UTC'),
    pipeline_version UInt64,
    repair_sent      UInt8
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, sku, location, field);

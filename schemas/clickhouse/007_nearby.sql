-- Nearby and alternatives for analysts: the same answers as the lookup API's /nearby (atp/domain/nearby.py), over
-- the store. The loader keeps the ERP reference rows they need (coordinates, styles) from the Debezium change
-- topics erp.erp.LOCATION and erp.erp.ITEM_MASTER; `version` is the change's Kafka offset (a row's changes share
-- one partition, keyed by its primary key), so the latest change wins and a re-delivery collapses.

CREATE TABLE IF NOT EXISTS atp.erp_location
(
    loc_cd    String,
    loc_type  LowCardinality(String),
    loc_name  String,
    latitude  Nullable(Float64),
    longitude Nullable(Float64),
    deleted   UInt8,
    version   UInt64,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY loc_cd;

CREATE TABLE IF NOT EXISTS atp.erp_item
(
    sku       String,
    style_no  String,
    color_cd  Nullable(String),
    size_cd   Nullable(String),
    deleted   UInt8,
    version   UInt64,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY sku;

-- For every SKU out at a store (available 0), each other store that can promise it, with the great-circle
-- distance in km (nearest first within a SKU and store). Stores without coordinates are left out.
CREATE VIEW IF NOT EXISTS atp.nearby_stock AS
WITH stores AS (
    SELECT loc_cd, loc_name, latitude, longitude
    FROM atp.erp_location FINAL
    WHERE deleted = 0 AND loc_type = 'S' AND latitude IS NOT NULL AND longitude IS NOT NULL
),
latest AS (
    SELECT sku, location, available, version, source_ts_ms FROM atp.location_availability FINAL
)
SELECT
    gone.sku AS sku,
    gone.location AS out_at,
    other.location AS nearby,
    there.loc_name AS nearby_name,
    other.available AS available,
    round(greatCircleDistance(here.longitude, here.latitude, there.longitude, there.latitude) / 1000, 3) AS distance_km,
    other.version AS version,
    other.source_ts_ms AS source_ts_ms
FROM latest AS gone
INNER JOIN stores AS here ON here.loc_cd = gone.location
INNER JOIN latest AS other ON other.sku = gone.sku
INNER JOIN stores AS there ON there.loc_cd = other.location
WHERE gone.available = 0 AND other.available > 0 AND other.location != gone.location
ORDER BY sku, out_at, distance_km, nearby;

-- For every SKU out at a store, the other variants of its style (ITEM_MASTER.STYLE_NO) that store can promise:
-- `closeness` 0 same colour, 1 same size, 2 the rest of the style (the API's order).
CREATE VIEW IF NOT EXISTS atp.style_alternatives AS
WITH items AS (
    SELECT sku, style_no, color_cd, size_cd FROM atp.erp_item FINAL WHERE deleted = 0
),
latest AS (
    SELECT sku, location, available, version, source_ts_ms FROM atp.location_availability FINAL
)
SELECT
    gone.sku AS sku,
    gone.location AS location,
    variant.sku AS alternative,
    variant.color_cd AS color_cd,
    variant.size_cd AS size_cd,
    multiIf(
        item.color_cd IS NOT NULL AND variant.color_cd = item.color_cd, 0,
        item.size_cd IS NOT NULL AND variant.size_cd = item.size_cd, 1,
        2
    ) AS closeness,
    other.available AS available,
    other.version AS version,
    other.source_ts_ms AS source_ts_ms
FROM latest AS gone
INNER JOIN items AS item ON item.sku = gone.sku
INNER JOIN items AS variant ON variant.style_no = item.style_no
INNER JOIN latest AS other ON other.sku = variant.sku AND other.location = gone.location
WHERE gone.available = 0 AND other.available > 0 AND variant.sku != gone.sku
ORDER BY sku, location, closeness, available DESC, alternative;

-- "Why does SKU X show N at location Y?": the chain of inputs that led there, oldest first.
--   SELECT * FROM atp.why(sku = 'TEE-1001-BLK-M', location = 'ST0001')
-- Each row is one published record: what caused it (cause, cause_ref = the exact
-- source position or event), the figures after it, and how `available` moved.
CREATE VIEW IF NOT EXISTS atp.why AS
SELECT
    version,
    computed_ts_ms,
    source_ts_ms,
    cause,
    cause_ref,
    on_hand,
    unsellable,
    reserved,
    committed,
    safety_stock,
    available,
    available - lagInFrame(available, 1, 0) OVER (ORDER BY version ASC ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS available_change,
    incoming,
    next_inbound_date,
    status
FROM atp.availability_history FINAL
WHERE sku = {sku:String} AND location = {location:String}
ORDER BY version ASC;

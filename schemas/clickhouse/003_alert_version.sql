-- Alerts carry the availability version that crossed (added after 001; stores created before get it here).
ALTER TABLE atp.alerts ADD COLUMN IF NOT EXISTS version Int64 DEFAULT 0;

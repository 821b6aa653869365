-- Every customer deletion request (`atp forget-customer`): what was checked and removed.
-- The subject is kept only as a SHA-256 digest: the audit must not become a copy of the personal data.
CREATE TABLE IF NOT EXISTS atp.privacy_audit
(
    requested_at   DateTime64(3, 'UTC'),
    subject_sha256 String,
    checked        Array(String),
    removed        UInt64,
    removed_from   Array(String)
)
ENGINE = MergeTree
ORDER BY requested_at;

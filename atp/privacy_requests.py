"""A customer's deletion request: remove whatever the pipeline kept that refers to them, and say so.

By design the pipeline keeps no personal data: Debezium drops ``customer_email``
and ``loyalty_id`` at the source, ``customer_ref`` is never copied out of the
reservation decoder, and dead-letter payloads are masked. A deletion request
still checks every place text from an input could have landed (dead letters and
their errors, the ``cause_ref`` of every availability record), removes any row
that mentions the customer, and records the request in ``atp.privacy_audit``.
The subject is recorded as a SHA-256 digest, never as itself, and is never
printed or logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from atp.settings import StoreSettings
from connectors.clickhouse_store import Store, open_store_for_reading

# Where text from an input can end up in the store: (table, text columns, key columns of a row).
SEARCHED = (
    ("atp.dlq", ("payload", "error"), ("source_topic", "partition", "offset", "reason")),
    ("atp.availability_history", ("cause_ref",), ("sku", "location", "version")),
    ("atp.location_availability", ("cause_ref",), ("sku", "location", "version")),
)


@dataclass(frozen=True)
class ForgetReport:
    subject_sha256: str
    checked: tuple[str, ...]
    removed: dict[str, int]

    @property
    def removed_total(self) -> int:
        return sum(self.removed.values())


def forget_customer(settings: StoreSettings, subject: str) -> ForgetReport:
    """Remove every stored row mentioning ``subject`` (an email, loyalty id or customer ref); audit it."""
    digest = hashlib.sha256(subject.strip().encode()).hexdigest()
    store = open_store_for_reading(settings)
    try:
        removed = {table: _remove_mentions(store, table, columns, keys, subject.strip())
                   for table, columns, keys in SEARCHED}  # fmt: skip
        checked = tuple(table for table, _, _ in SEARCHED)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        store.command(
            "INSERT INTO atp.privacy_audit (requested_at, subject_sha256, checked, removed, removed_from) VALUES "
            f"('{now}', '{digest}', [{_list(checked)}], {sum(removed.values())}, "
            f"[{_list(t for t, n in removed.items() if n)}])"
        )
    finally:
        store.close()
    return ForgetReport(digest, checked, removed)


def _remove_mentions(store: Store, table: str, columns: tuple[str, ...], keys: tuple[str, ...], subject: str) -> int:
    mentions = " OR ".join(f"position({c}, {{subject:String}}) > 0" for c in columns)
    rows = store.query(f"SELECT {', '.join(keys)} FROM {table} WHERE {mentions}", {"subject": subject})
    if not rows:
        return 0
    # Delete by the rows' keys (values we wrote ourselves), so the subject never appears in a statement text.
    matches = ", ".join("(" + ", ".join(_literal(row[k]) for k in keys) + ")" for row in rows)
    store.command(f"ALTER TABLE {table} DELETE WHERE ({', '.join(keys)}) IN ({matches}) SETTINGS mutations_sync = 2")
    return len(rows)


def _literal(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _list(values: Iterable[object]) -> str:
    return ", ".join(_literal(v) for v in values)

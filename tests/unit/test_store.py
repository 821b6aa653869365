"""The ClickHouse store (real chdb, in-process): idempotent on re-delivery, and the `why` view."""

from __future__ import annotations

from pathlib import Path

import pytest

from atp.analyst import WHY_SQL
from connectors.clickhouse_store import ChdbStore, apply_ddl


def record(version: int, on_hand: int, cause_ref: str) -> dict[str, object]:
    return {
        "sku": "TEE-1", "location": "ST0001", "on_hand": on_hand, "unsellable": 0, "reserved": 0, "committed": 0,
        "safety_stock": 0, "available": on_hand, "incoming": 0, "next_inbound_date": None, "status": "IN_STOCK",
        "version": version, "source_ts_ms": "2026-11-22 10:00:00.000", "computed_ts_ms": "2026-11-22 10:00:00.050",
        "cause": "stock", "cause_ref": cause_ref,
    }  # fmt: skip


@pytest.fixture
def store(tmp_path: Path):
    opened = ChdbStore(tmp_path / "chdb")
    apply_ddl(opened)
    apply_ddl(opened)  # idempotent
    yield opened
    opened.close()


def test_a_re_sent_record_changes_nothing_in_the_store(store: ChdbStore):
    records = [record(1, 6, "lsn=1"), record(2, 4, "lsn=2")]
    for table in ("atp.location_availability", "atp.availability_history"):
        store.insert_rows(table, records)
        store.insert_rows(table, records[1:])  # the resume epoch, sent again
    latest = store.query("SELECT version, on_hand FROM atp.location_availability FINAL")
    history = store.query("SELECT version FROM atp.availability_history FINAL ORDER BY version")
    assert latest == [{"version": 2, "on_hand": 4}]
    assert history == [{"version": 1}, {"version": 2}]


def test_why_gives_the_chain_of_inputs_oldest_first_with_each_change(store: ChdbStore):
    store.insert_rows("atp.availability_history", [record(2, 4, "lsn=2"), record(1, 6, "lsn=1"), record(3, 5, "lsn=3")])
    chain = store.query(WHY_SQL, {"sku": "TEE-1", "location": "ST0001"})
    assert [(r["version"], r["cause_ref"], r["available"], r["available_change"]) for r in chain] == [
        (1, "lsn=1", 6, 6),
        (2, "lsn=2", 4, -2),
        (3, "lsn=3", 5, 1),
    ]

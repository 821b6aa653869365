"""The ClickHouse store on each backend (tests/conftest.py): idempotent on re-delivery, the `why` view,
and the same values whichever backend answers."""

from __future__ import annotations

import re

import pytest

from atp.analyst import WHY_SQL
from atp.errors import StoreError
from atp.privacy_requests import _remove_mentions
from atp.reconcile import PIPELINE_SQL
from atp.settings import PROJECT_ROOT
from connectors.clickhouse_store import Store
from connectors.store_loader import to_store_row


def record(version: int, on_hand: int, cause_ref: str) -> dict[str, object]:
    return {
        "sku": "TEE-1", "location": "ST0001", "on_hand": on_hand, "unsellable": 0, "reserved": 0, "committed": 0,
        "safety_stock": 0, "available": on_hand, "incoming": 0, "next_inbound_date": None, "status": "IN_STOCK",
        "version": version, "source_ts_ms": "2026-11-22 10:00:00.000", "computed_ts_ms": "2026-11-22 10:00:00.050",
        "cause": "stock", "cause_ref": cause_ref,
    }  # fmt: skip


def test_a_re_sent_record_changes_nothing_in_the_store(store: Store):
    records = [record(1, 6, "lsn=1"), record(2, 4, "lsn=2")]
    for table in ("atp.location_availability", "atp.availability_history"):
        store.insert_rows(table, records)
        store.insert_rows(table, records[1:])  # the resume epoch, sent again
    latest = store.query("SELECT version, on_hand FROM atp.location_availability FINAL")
    history = store.query("SELECT version FROM atp.availability_history FINAL ORDER BY version")
    assert latest == [{"version": 2, "on_hand": 4}]
    assert history == [{"version": 1}, {"version": 2}]


def test_why_gives_the_chain_of_inputs_oldest_first_with_each_change(store: Store):
    store.insert_rows("atp.availability_history", [record(2, 4, "lsn=2"), record(1, 6, "lsn=1"), record(3, 5, "lsn=3")])
    chain = store.query(WHY_SQL, {"sku": "TEE-1", "location": "ST0001"})
    assert [(r["version"], r["cause_ref"], r["available"], r["available_change"]) for r in chain] == [
        (1, "lsn=1", 6, 6),
        (2, "lsn=2", 4, -2),
        (3, "lsn=3", 5, 1),
    ]


def test_rows_come_back_as_json_values_dates_and_times_as_text(store: Store):
    """The CLI, reconciliation and privacy requests read the same values from chdb and from a server."""
    import datetime as dt

    loaded = to_store_row(record(7, 3, "lsn=7") | {
        "next_inbound_date": dt.date(2026, 11, 30),
        "source_ts_ms": dt.datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=dt.UTC),
    })  # fmt: skip
    store.insert_rows("atp.location_availability", [loaded])
    [row] = store.query(
        "SELECT version, on_hand, next_inbound_date, source_ts_ms, status FROM atp.location_availability FINAL "
        "WHERE sku = {sku:String}",
        {"sku": "TEE-1"},
    )
    assert row == {"version": 7, "on_hand": 3, "next_inbound_date": "2026-11-30",
                   "source_ts_ms": "2026-11-22 10:00:00.123", "status": "IN_STOCK"}  # fmt: skip


def test_every_sql_example_of_the_readme_and_the_products_queries_run(store: Store):
    store.insert_rows("atp.location_availability", [record(1, 6, "lsn=1")])
    store.insert_rows("atp.availability_history", [record(1, 6, "lsn=1")])
    examples = re.findall(r"```sql\n(.*?)```", (PROJECT_ROOT / "README.md").read_text(), flags=re.S)
    assert examples
    for sql in examples:
        store.query(sql)
    assert store.query(PIPELINE_SQL) == [{
        "sku": "TEE-1", "location": "ST0001", "on_hand": 6, "unsellable": 0, "reserved": 0, "committed": 0,
        "safety_stock": 0, "available": 6, "version": 1, "source_ts_ms": 1795341600000,
    }]  # fmt: skip
    assert store.query("SELECT 1 AS one;") == [{"one": 1}]  # as typed at `atp query`


def test_forgetting_a_customer_deletes_the_rows_that_mention_them(store: Store):
    mentioning = record(2, 4, "order=o-9 customer=ann@example.com")
    store.insert_rows("atp.availability_history", [record(1, 6, "lsn=1"), mentioning])
    removed = _remove_mentions(store, "atp.availability_history", ("cause_ref",), ("sku", "location", "version"),
                               "ann@example.com")  # fmt: skip
    assert removed == 1
    assert store.query("SELECT version FROM atp.availability_history") == [{"version": 1}]


def test_a_refused_statement_is_a_store_error(store: Store):
    with pytest.raises(StoreError):
        store.query("SELECT no_such_column FROM atp.location_availability")
    with pytest.raises(StoreError):
        store.command("ALTER TABLE atp.no_such_table DELETE WHERE 1")
    with pytest.raises(StoreError):
        store.insert_rows("atp.location_availability", [{"sku": "TEE-1", "version": "not a number"}])

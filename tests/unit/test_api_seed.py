"""Seeding the lookup API's read model from the store (real chdb, in process): every key, in pages, served
exactly as the same record read from its topic would be; the topics' newer versions still win afterwards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.api_read_model import ReadModel
from connectors.api_seed import seed_from_store
from connectors.clickhouse_store import ChdbStore, apply_ddl
from connectors.store_loader import to_store_row

AT = dt.datetime(2026, 11, 22, 10, 4, 0, 412_000, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChdbStore]:
    opened = ChdbStore(tmp_path / "chdb")
    apply_ddl(opened)
    yield opened
    opened.close()


def availability(sku: str, location: str, version: int) -> dict[str, object]:
    """As the Avro decoder gives it (the loader turns it into the store's row)."""
    return {
        "sku": sku, "location": location, "on_hand": 40, "unsellable": 6, "reserved": 3, "committed": 5,
        "safety_stock": 0, "available": 26, "incoming": 48, "next_inbound_date": dt.date(2026, 12, 1),
        "status": "IN_STOCK", "version": version, "source_ts_ms": AT, "computed_ts_ms": AT, "cause": "stock",
        "cause_ref": "erp.erp.STOCK_BAL[2]@812",
    }  # fmt: skip


def channel(channel_sku: str, version: int) -> dict[str, object]:
    return {
        "channel": "SHOPIFY", "channel_sku": channel_sku, "sku": "TEE-1", "available": 44, "buffer": 2,
        "status": "IN_STOCK", "promise_date": None, "version": version, "computed_ts_ms": AT,
    }  # fmt: skip


def test_the_seed_reads_every_key_in_pages_and_serves_it_as_the_topic_would(store: ChdbStore) -> None:
    records = [availability(f"TEE-{n}", location, 3) for n in range(3) for location in ("DC0001", "ST0001")]
    store.insert_rows("atp.location_availability", [to_store_row(r) for r in records])
    store.insert_rows("atp.channel_availability", [to_store_row(channel(f"tee-{n}", 2)) for n in range(3)])
    seeded, from_topics = ReadModel(), ReadModel()
    assert seed_from_store(seeded, store, rows=4) == 9
    for record in records:
        from_topics.apply_availability(record)
    assert seeded.at_location("TEE-2", "ST0001") == from_topics.at_location("TEE-2", "ST0001")
    assert seeded.counts()["availability_keys"] == 6 and seeded.counts()["channel_keys"] == 3
    held = seeded.channel_sku("SHOPIFY", "tee-1")
    assert held is not None and (held["version"], held["promise_date"], held["computed_ts_ms"]) == (
        2, None, "2026-11-22T10:04:00.412Z"
    )  # fmt: skip


def test_after_the_seed_a_re_sent_record_changes_nothing_and_a_newer_one_wins(store: ChdbStore) -> None:
    store.insert_rows("atp.location_availability", [to_store_row(availability("TEE-1", "ST0001", 5))])
    model = ReadModel()
    seed_from_store(model, store)
    assert not model.apply_availability(availability("TEE-1", "ST0001", 5) | {"available": 0})
    assert model.apply_availability(availability("TEE-1", "ST0001", 6) | {"available": 1})
    held = model.at_location("TEE-1", "ST0001")
    assert held is not None and (held["version"], held["available"]) == (6, 1)


class ThroughTheEndpoint:
    """The store as the supervisor's seed reaches chdb: through the loader's read-only ``/query``."""

    def __init__(self, store: ChdbStore) -> None:
        self._store = store

    def query(self, sql: str, params: dict[str, object] | None = None) -> list[dict[str, object]]:
        from connectors.store_endpoint import read_only_query

        return read_only_query(self._store, sql, params)


def test_the_seed_s_queries_are_plain_selects_the_read_only_endpoint_accepts(store: ChdbStore) -> None:
    store.insert_rows("atp.location_availability", [to_store_row(availability("TEE-1", "ST0001", 5))])
    store.insert_rows("atp.channel_availability", [to_store_row(channel("tee-1", 2))])
    assert seed_from_store(ReadModel(), ThroughTheEndpoint(store), rows=1) == 2  # type: ignore[arg-type]

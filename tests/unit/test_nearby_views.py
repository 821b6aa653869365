"""The analysts' nearby views (schemas/clickhouse/007_nearby.sql) on real chdb, in process, fed with the rows the
loader makes of the ERP's LOCATION and ITEM_MASTER changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.cdc.reference_rows import ITEMS_TOPIC, LOCATIONS_TOPIC, store_row
from connectors.clickhouse_store import ChdbStore, apply_ddl
from tests.debezium_events import envelope, item_row, location_row, mariadb_source

# (store, latitude, longitude): Paris, Versailles (about 17 km), Lyon (about 392 km).
STORES = (("ST0001", "48.856600", "2.352200"), ("ST0002", "48.804900", "2.120400"), ("ST0003", "45.764000", "4.835700"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChdbStore]:
    opened = ChdbStore(tmp_path / "chdb")
    apply_ddl(opened)
    apply_ddl(opened)  # idempotent
    yield opened
    opened.close()


def availability(sku: str, location: str, available: int, version: int = 1) -> dict[str, object]:
    return {
        "sku": sku, "location": location, "on_hand": available, "unsellable": 0, "reserved": 0, "committed": 0,
        "safety_stock": 0, "available": available, "incoming": 0, "next_inbound_date": None, "status": "IN_STOCK",
        "version": version, "source_ts_ms": "2026-11-22 10:00:00.000", "computed_ts_ms": "2026-11-22 10:00:00.050",
        "cause": "stock", "cause_ref": "test",
    }  # fmt: skip


def fill(store: ChdbStore) -> None:
    locations = []
    for offset, (loc, latitude, longitude) in enumerate(STORES):
        row = location_row(loc, "S", "N") | {"LATITUDE": latitude, "LONGITUDE": longitude}
        locations.append(store_row(LOCATIONS_TOPIC, envelope("r", None, row, mariadb_source("LOCATION", 1)), offset))
    dc = location_row("DC0001", "D") | {"LATITUDE": None}
    locations.append(store_row(LOCATIONS_TOPIC, envelope("r", None, dc, mariadb_source("LOCATION", 1)), 9))
    store.insert_rows("atp.erp_location", [row for row in locations if row is not None])
    items = []
    for offset, (sku, colour, size) in enumerate((("BLK-M", "BLK", "M"), ("BLK-L", "BLK", "L"), ("WHT-M", "WHT", "M"))):
        row = item_row(f"TEE-{sku}") | {"STYLE_NO": "TEE", "COLOR_CD": colour, "SIZE_CD": size}
        items.append(store_row(ITEMS_TOPIC, envelope("c", None, row, mariadb_source("ITEM_MASTER", 2)), offset))
    store.insert_rows("atp.erp_item", [row for row in items if row is not None])
    store.insert_rows("atp.location_availability", [
        availability("TEE-BLK-M", "ST0001", 0), availability("TEE-BLK-M", "ST0002", 3),
        availability("TEE-BLK-M", "ST0003", 8), availability("TEE-BLK-M", "DC0001", 40),
        availability("TEE-BLK-L", "ST0001", 2), availability("TEE-WHT-M", "ST0001", 5),
    ])  # fmt: skip


def test_nearby_stock_lists_the_stores_that_can_promise_a_sku_out_at_a_store_nearest_first(store: ChdbStore) -> None:
    fill(store)
    rows = store.query("SELECT sku, out_at, nearby, available, distance_km FROM atp.nearby_stock")
    assert [(r["sku"], r["out_at"], r["nearby"], r["available"]) for r in rows] == [
        ("TEE-BLK-M", "ST0001", "ST0002", 3),
        ("TEE-BLK-M", "ST0001", "ST0003", 8),
    ]  # fmt: skip (the DC has stock, but is no store and has no coordinates)
    assert 15 < rows[0]["distance_km"] < 20 and 385 < rows[1]["distance_km"] < 400


def test_style_alternatives_lists_the_other_variants_the_store_can_promise_same_colour_first(store: ChdbStore) -> None:
    fill(store)
    rows = store.query("SELECT sku, location, alternative, closeness, available FROM atp.style_alternatives")
    found = [(r["alternative"], r["closeness"], r["available"]) for r in rows]
    assert found == [("TEE-BLK-L", 0, 2), ("TEE-WHT-M", 1, 5)]


def test_a_later_change_of_a_reference_row_wins_and_a_deleted_store_leaves_the_view(store: ChdbStore) -> None:
    fill(store)
    gone = envelope("d", location_row("ST0002", "S"), None, mariadb_source("LOCATION", 3))
    store.insert_rows("atp.erp_location", [store_row(LOCATIONS_TOPIC, gone, 20) or {}])
    rows = store.query("SELECT nearby FROM atp.nearby_stock")
    assert [r["nearby"] for r in rows] == ["ST0003"]
    assert store_row(LOCATIONS_TOPIC, None, 21) is None  # the tombstone: nothing to load

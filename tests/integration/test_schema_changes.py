"""Source schema changes while the flow runs (Debezium carries them): a column added, retyped or dropped
in a captured table is either applied correctly or dead-lettered with a reason; the flow keeps going."""

from __future__ import annotations

import pytest

from atp.settings import Settings
from connectors.legacy_db import erp_connection, pos_connection
from connectors.output_watch import TopicWatcher
from tests.integration.legacy_writes import DC, a_store, new_item, put_on_shelf, set_dc_stock
from tests.integration.outputs import next_record

pytestmark = pytest.mark.integration


def erp_ddl(settings: Settings, statement: str) -> None:
    with erp_connection(settings.stack, autocommit=True) as erp, erp.cursor() as cur:
        cur.execute(statement)


def pos_ddl(settings: Settings, statement: str) -> None:
    with pos_connection(settings.stack, autocommit=True) as pos, pos.cursor() as cur:
        cur.execute(statement.encode())


def test_a_column_added_then_dropped_in_the_erp_changes_nothing_but_the_schema(
    pipeline: Settings, availability: TopicWatcher
):
    sku, _ = new_item(pipeline)
    erp_ddl(pipeline, "ALTER TABLE STOCK_BAL ADD COLUMN BIN_LOC VARCHAR(8) NULL")
    try:
        set_dc_stock(pipeline, sku, 31)
        next_record(availability, f"{sku}@{DC}", on_hand=31)
    finally:
        erp_ddl(pipeline, "ALTER TABLE STOCK_BAL DROP COLUMN BIN_LOC")
    set_dc_stock(pipeline, sku, 29)
    next_record(availability, f"{sku}@{DC}", on_hand=29)


def test_a_quantity_column_retyped_from_decimal_to_integer_and_back_is_still_read_as_units(
    pipeline: Settings, availability: TopicWatcher
):
    sku, _ = new_item(pipeline)
    erp_ddl(pipeline, "ALTER TABLE STOCK_BAL MODIFY QTY_HOLD INT NOT NULL DEFAULT 0")
    try:
        set_dc_stock(pipeline, sku, 50, qty_hold=4)
        next_record(availability, f"{sku}@{DC}", on_hand=50, unsellable=4)
    finally:
        erp_ddl(pipeline, "ALTER TABLE STOCK_BAL MODIFY QTY_HOLD DECIMAL(12,3) NOT NULL DEFAULT 0")
    set_dc_stock(pipeline, sku, 50, qty_hold=2)
    next_record(availability, f"{sku}@{DC}", on_hand=50, unsellable=2)


def test_a_column_added_to_the_pos_store_stock_is_ignored_and_stock_still_flows(
    pipeline: Settings, availability: TopicWatcher
):
    sku, upc = new_item(pipeline)
    store = a_store(pipeline)
    pos_ddl(pipeline, "ALTER TABLE store_stock ADD COLUMN aisle text NULL")
    try:
        put_on_shelf(pipeline, store, upc, 12)
        next_record(availability, f"{sku}@{store}", on_hand=12)
    finally:
        pos_ddl(pipeline, "ALTER TABLE store_stock DROP COLUMN aisle")
    with pos_connection(pipeline.stack) as pos, pos.cursor() as cur:
        cur.execute("UPDATE store_stock SET on_hand = 9 WHERE store_id = %s AND upc = %s", (store, upc))
        pos.commit()
    next_record(availability, f"{sku}@{store}", on_hand=9)


def test_a_quality_hold_column_dropped_at_the_source_holds_all_stock_until_the_erp_says_again(
    pipeline: Settings, availability: TopicWatcher
):
    sku, _ = new_item(pipeline)
    key = f"{sku}@{DC}"
    set_dc_stock(pipeline, sku, 40, qty_hold=2)
    next_record(availability, key, on_hand=40, unsellable=2)
    erp_ddl(pipeline, "ALTER TABLE STOCK_BAL DROP COLUMN QTY_HOLD")
    try:
        with erp_connection(pipeline.stack) as erp, erp.cursor() as cur:
            cur.execute(
                "UPDATE STOCK_BAL SET QTY_OH = 35, UPD_TS = NOW(3) WHERE ITEM_NO = %s AND LOC_CD = %s", (sku, DC)
            )
            erp.commit()
        # The hold can no longer be read: nothing is promised from that row (and the change is dead-lettered).
        next_record(availability, key, on_hand=35, unsellable=35, available=0)
    finally:
        erp_ddl(pipeline, "ALTER TABLE STOCK_BAL ADD COLUMN QTY_HOLD DECIMAL(12,3) NOT NULL DEFAULT 0 AFTER QTY_OH")
    set_dc_stock(pipeline, sku, 35, qty_hold=1)
    next_record(availability, key, on_hand=35, unsellable=1)

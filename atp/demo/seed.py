"""Loading the generated demo retailer into the ERP and POS databases, only when they are empty.

Seeding a database that CDC already captures would flood the pipeline with a
second catalogue, so an ERP that has items is left alone. Each database is loaded
in one transaction: a failed seed leaves it empty, ready for another try.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from atp.demo import generator, legacy_rows
from atp.demo.generator import DemoSize
from atp.demo.legacy_rows import DemoData
from atp.settings import LocalStackSettings
from connectors.legacy_db import erp_connection, pos_connection

Progress = Callable[[str], None]
BATCH = 1000  # rows per executemany: PyMySQL folds each batch into one multi-row INSERT


@dataclass(frozen=True)
class SeedSummary:
    seeded: bool
    items: int
    stock_rows: int  # DC balances (ERP STOCK_BAL)
    store_stock_rows: int  # store balances (POS store_stock)
    seconds: float


def _count(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM {table}")
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _insert_erp(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]) -> None:
    # PyMySQL rewrites executemany of a plain INSERT ... VALUES into multi-row INSERTs: one round trip a batch.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    for start in range(0, len(rows), BATCH):
        cursor.executemany(sql, rows[start : start + BATCH])


def _copy_pos(
    cursor: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(values)


def _load_erp(stack: LocalStackSettings, data: DemoData) -> None:
    erp = erp_connection(stack, "admin")
    try:
        with erp.cursor() as cur:
            # Parents before children, as the ERP's own loaders do (the tables have no foreign keys).
            for table, columns, rows in (
                ("LOCATION", legacy_rows.LOCATION_COLUMNS, data.locations),
                ("ITEM_MASTER", legacy_rows.ITEM_COLUMNS, data.items),
                ("KIT_COMPONENT", legacy_rows.KIT_COLUMNS, data.kit_components),
                ("STOCK_BAL", legacy_rows.STOCK_BAL_COLUMNS, data.stock_bal),
                ("STOCK_LOT", legacy_rows.STOCK_LOT_COLUMNS, data.stock_lots),
                ("PO_LINE", legacy_rows.PO_LINE_COLUMNS, data.po_lines),
                ("SAFETY_STK", legacy_rows.SAFETY_STK_COLUMNS, data.safety_stock),
                ("CHANNEL_LISTING", legacy_rows.LISTING_COLUMNS, data.listings),
            ):
                _insert_erp(cur, table, columns, rows)
        erp.commit()
    except BaseException:
        erp.rollback()
        raise
    finally:
        erp.close()


def _load_pos(stack: LocalStackSettings, data: DemoData) -> None:
    # psycopg's connection context commits on success and rolls back on error.
    with pos_connection(stack, "admin") as pos, pos.cursor() as cur:
        _copy_pos(cur, "store", legacy_rows.STORE_COLUMNS, data.stores)
        _copy_pos(cur, "store_stock", legacy_rows.STORE_STOCK_COLUMNS, data.store_stock)
        _copy_pos(cur, "sale_ticket", legacy_rows.TICKET_COLUMNS, data.tickets)
        _copy_pos(cur, "sale_line", legacy_rows.SALE_LINE_COLUMNS, data.sale_lines)


def _existing_items(stack: LocalStackSettings) -> int:
    erp = erp_connection(stack, "admin", autocommit=True)
    try:
        with erp.cursor() as cur:
            return _count(cur, "ITEM_MASTER")
    finally:
        erp.close()


def _existing_stores(stack: LocalStackSettings) -> int:
    with pos_connection(stack, "admin", autocommit=True) as pos, pos.cursor() as cur:
        return _count(cur, "store")


def seed(stack: LocalStackSettings, size: DemoSize, progress: Progress) -> SeedSummary:
    """Load the demo retailer of ``size``, unless the ERP already has items (then nothing is written).

    One exception to "nothing": an ERP seeded by an earlier run whose POS load failed
    gets its POS (found empty) loaded now, from the same size, so the two agree again.
    """
    started = time.monotonic()
    items = _existing_items(stack)
    stores = _existing_stores(stack)
    if items and stores:
        progress(f"  ERP already has {items} items and POS {stores} stores: not seeding again")
        return SeedSummary(False, items, 0, 0, time.monotonic() - started)

    data = generator.generate(size)
    if not items:
        _load_erp(stack, data)
        progress(
            f"  ERP: {len(data.items)} items ({len(data.kit_components)} kit components), "
            f"{len(data.locations)} locations, {len(data.stock_bal)} DC stock rows, {len(data.stock_lots)} lots, "
            f"{len(data.po_lines)} PO lines, {len(data.safety_stock)} safety stock overrides, "
            f"{len(data.listings)} channel listings"
        )
    else:
        progress(f"  ERP already has {items} items: left as it is; loading the empty POS only")
    if not stores:
        _load_pos(stack, data)
        progress(
            f"  POS: {len(data.stores)} stores, {len(data.store_stock)} store stock rows, "
            f"{len(data.tickets)} tickets ({len(data.sale_lines)} lines)"
        )
    seconds = time.monotonic() - started
    progress(f"  seeded in {seconds:.1f} s")
    return SeedSummary(True, len(data.items), len(data.stock_bal), len(data.store_stock), seconds)

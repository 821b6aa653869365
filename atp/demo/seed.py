"""Loading the generated demo retailer into the ERP and POS databases (only if they are empty).

Seeding a database that CDC already captures would flood the pipeline with a
second catalogue, so an ERP that has items is left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from atp.demo import generator
from atp.demo.generator import DemoSize
from atp.settings import Settings
from connectors.legacy_db import erp_connection, pos_connection

Progress = Callable[[str], None]
BATCH = 1000


@dataclass(frozen=True)
class SeedSummary:
    seeded: bool
    items: int
    stock_rows: int
    store_stock_rows: int
    seconds: float


def _insert_erp(cursor: object, table: str, columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    for start in range(0, len(rows), BATCH):
        cursor.executemany(sql, rows[start : start + BATCH])  # type: ignore[attr-defined]


def seed(settings: Settings, size: DemoSize, progress: Progress) -> SeedSummary:
    started = time.monotonic()
    with erp_connection(settings) as erp, erp.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM ITEM_MASTER")
        row = cur.fetchone()
        existing = int(row[0]) if row else 0
    if existing:
        progress(f"  ERP already has {existing} items: not seeding again")
        return SeedSummary(False, existing, 0, 0, time.monotonic() - started)

    data = generator.generate(size)
    with erp_connection(settings) as erp, erp.cursor() as cur:
        for table, columns, rows in (
            ("LOCATION", generator.LOCATION_COLUMNS, data.locations),
            ("ITEM_MASTER", generator.ITEM_COLUMNS, data.items),
            ("KIT_COMPONENT", generator.KIT_COLUMNS, data.kit_components),
            ("STOCK_BAL", generator.STOCK_BAL_COLUMNS, data.stock_bal),
            ("STOCK_LOT", generator.STOCK_LOT_COLUMNS, data.stock_lots),
            ("PO_LINE", generator.PO_LINE_COLUMNS, data.po_lines),
            ("SAFETY_STK", generator.SAFETY_STK_COLUMNS, data.safety_stock),
            ("CHANNEL_LISTING", generator.LISTING_COLUMNS, data.listings),
        ):
            _insert_erp(cur, table, columns, rows)
        erp.commit()
    progress(
        f"  ERP: {len(data.items)} items ({len(data.kit_components)} kit components), {len(data.locations)} locations, "
        f"{len(data.stock_bal)} DC stock rows, {len(data.stock_lots)} lots, {len(data.po_lines)} PO lines, "
        f"{len(data.listings)} channel listings"
    )

    with pos_connection(settings) as pos, pos.cursor() as cur:
        for table, columns, rows in (
            ("store", generator.STORE_COLUMNS, data.stores),
            ("store_stock", generator.STORE_STOCK_COLUMNS, data.store_stock),
            ("sale_ticket", generator.TICKET_COLUMNS, data.tickets),
            ("sale_line", generator.SALE_LINE_COLUMNS, data.sale_lines),
        ):
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)
        pos.commit()
    progress(f"  POS: {len(data.stores)} stores, {len(data.store_stock)} store stock rows, {len(data.tickets)} tickets")
    return SeedSummary(True, len(data.items), len(data.stock_bal), len(data.store_stock), time.monotonic() - started)

"""What analysts ask the store, from the CLI and the notebooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atp.settings import StoreSettings
from connectors.clickhouse_store import Row, open_store_for_reading

WHY_SQL = "SELECT * FROM atp.why(sku = {sku:String}, location = {location:String})"


def run_query(settings: StoreSettings, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
    store = open_store_for_reading(settings)
    try:
        return store.query(sql, params)
    finally:
        store.close()


def why(settings: StoreSettings, sku: str, location: str) -> list[Row]:
    """Every record published for ``sku`` at ``location``, oldest first, with the input behind each."""
    return run_query(settings, WHY_SQL, {"sku": sku, "location": location.strip()})


def format_rows(rows: list[Row]) -> list[str]:
    """A plain text table, widest value per column."""
    if not rows:
        return ["(no rows)"]
    columns = list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return lines


def print_rows(rows: list[Row], out: Callable[[str], None]) -> None:
    for line in format_rows(rows):
        out(line)

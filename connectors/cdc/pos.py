"""POS (PostgreSQL) tables as domain events."""

from __future__ import annotations

from atp.domain.events import Event, Provenance, SourcePosition, StoreStockByUpc
from connectors.cdc.envelope import ChangeEvent
from connectors.cdc.values import code, units_or_zero_the_row


def store_stock(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``store_stock``: a store's on-hand by UPC, updated in the same transaction as the sale."""
    row = change.row
    store, upc = code(row, "store_id"), code(row, "upc")
    zero = StoreStockByUpc(upc, store, 0, position, provenance)
    on_hand = 0 if change.is_delete else units_or_zero_the_row(row, "on_hand", zero)
    return [StoreStockByUpc(upc, store, on_hand, position, provenance)]

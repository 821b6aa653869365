"""ERP (MariaDB) tables as domain events."""

from __future__ import annotations

from atp.domain.events import Event, ItemChanged, Provenance, SourcePosition, StockLevel, UpcReleased
from connectors.cdc.envelope import ChangeEvent
from connectors.cdc.values import code, flag, optional_code, units_or_zero_the_row, whole_units

ITEM_TYPES = frozenset({"S", "K", "P"})
ITEM_STATUSES = frozenset({"A", "D"})


def stock_bal(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``STOCK_BAL``: DC on-hand and quality hold. A deleted row means no stock there any more."""
    row = change.row
    sku, location = code(row, "ITEM_NO"), code(row, "LOC_CD")
    if change.is_delete:
        return [StockLevel(sku, location, 0, 0, position, provenance)]
    on_hand = units_or_zero_the_row(row, "QTY_OH", StockLevel(sku, location, 0, 0, position, provenance))
    # A hold larger than what is on hand cannot make stock negative twice: clamp to on-hand.
    quality_hold = min(whole_units(row, "QTY_HOLD"), on_hand)
    return [StockLevel(sku, location, on_hand, quality_hold, position, provenance)]


def item_master(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``ITEM_MASTER``: the item's type and status, and the UPC the POS knows it by."""
    row = change.row
    sku = code(row, "ITEM_NO")
    upc = optional_code(row, "UPC")
    previous_upc = optional_code(change.before, "UPC") if change.before is not None else None
    events: list[Event] = []
    if change.is_delete:
        if upc is not None:
            events.append(UpcReleased(upc, sku, position))
        events.append(
            ItemChanged(sku, None, None, flag(row, "ITEM_TYPE", ITEM_TYPES), True, True, position, provenance)
        )
        return events
    if previous_upc is not None and previous_upc != upc:
        events.append(UpcReleased(previous_upc, sku, position))
    events.append(
        ItemChanged(
            sku=sku,
            upc=upc,
            previous_upc=previous_upc,
            item_type=flag(row, "ITEM_TYPE", ITEM_TYPES),
            discontinued=flag(row, "STATUS_FLG", ITEM_STATUSES) == "D",
            deleted=False,
            position=position,
            provenance=provenance,
        )
    )
    return events

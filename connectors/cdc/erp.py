"""ERP (MariaDB) tables as domain events."""

from __future__ import annotations

import dataclasses

from atp.domain.events import (
    Event,
    InboundChanged,
    ItemChanged,
    KitComponentChanged,
    ListingChanged,
    LocationChanged,
    LotChanged,
    Provenance,
    SafetyStockChanged,
    SourcePosition,
    StockLevel,
    UpcReleased,
)
from atp.domain.time_window import EARLIEST_DAY
from atp.errors import CdcDecodeError
from connectors.cdc.envelope import ChangeEvent
from connectors.cdc.values import (
    code,
    flag,
    optional_code,
    plausible_day,
    units_or_fail_safe,
    units_or_zero_the_row,
    whole_number,
    whole_units,
)

ITEM_TYPES = frozenset({"S", "K", "P"})
ITEM_STATUSES = frozenset({"A", "D"})
LOCATION_TYPES = frozenset({"D", "S"})
YES_NO = frozenset({"Y", "N"})
PO_STATUSES = frozenset({"O", "C", "X"})


def stock_bal(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``STOCK_BAL``: DC on-hand and quality hold. A deleted row means no stock there any more."""
    row = change.row
    sku, location = code(row, "ITEM_NO"), code(row, "LOC_CD")
    if change.is_delete:
        return [StockLevel(sku, location, 0, 0, position, provenance)]
    on_hand = units_or_zero_the_row(row, "QTY_OH", StockLevel(sku, location, 0, 0, position, provenance))
    # An unreadable hold (the column dropped or retyped at the source) cannot be guessed low: until the
    # ERP says again, every unit on hand counts as held, so the row promises nothing (and is dead-lettered).
    all_held = StockLevel(sku, location, on_hand, on_hand, position, provenance)
    # A hold larger than what is on hand cannot make stock negative twice: clamp to on-hand.
    quality_hold = min(units_or_fail_safe(row, "QTY_HOLD", all_held), on_hand)
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


def stock_lot(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``STOCK_LOT``: units of a lot, unsellable from its expiry date on. A deleted lot has no units."""
    row = change.row
    sku, location, lot = code(row, "ITEM_NO"), code(row, "LOC_CD"), code(row, "LOT_NO")
    # A bad lot quantity is dead-lettered without a fail-safe: the lot's units are inside QTY_OH either way,
    # and guessing a number for them could only be wrong.
    qty = 0 if change.is_delete else whole_units(row, "QTY")
    # An expiry no calendar holds (it would overflow the engine's dates) is dead-lettered, and the lot counts as
    # expired meanwhile: its units unsellable until the ERP says again, which cannot over-promise.
    expired = LotChanged(sku, location, lot, qty, EARLIEST_DAY, position, provenance)
    return [LotChanged(sku, location, lot, qty, plausible_day(row, "EXPIRY_DT", expired), position, provenance)]


def po_line(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``PO_LINE``: open supply is what was ordered and not yet received, on open lines only."""
    row = change.row
    line = f"{code(row, 'PO_NO')}/{whole_number(row, 'LINE_NO')}"
    sku, location = code(row, "ITEM_NO"), code(row, "LOC_CD")
    # A due date no calendar holds is dead-lettered, and the line counts no open supply meanwhile.
    due_day = plausible_day(row, "DUE_DT", InboundChanged(sku, location, line, 0, EARLIEST_DAY, position, provenance))
    if due_day is None:
        raise CdcDecodeError("null_column", "column DUE_DT is null")
    events: list[Event] = []
    before = change.before
    if before is not None and not change.is_delete:
        old_sku, old_location = code(before, "ITEM_NO"), code(before, "LOC_CD")
        if (old_sku, old_location) != (sku, location):  # the line moved: its old item/location loses the supply
            events.append(InboundChanged(old_sku, old_location, line, 0, due_day, position, provenance))
    open_qty = 0
    if not change.is_delete and flag(row, "STATUS", PO_STATUSES) == "O":
        open_qty = max(0, whole_units(row, "QTY_ORD") - whole_units(row, "QTY_RCV"))
    events.append(InboundChanged(sku, location, line, open_qty, due_day, position, provenance))
    return events


def safety_stk(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``SAFETY_STK``: a planner override; ``'*'`` covers every location. Deleted: the default applies again."""
    row = change.row
    sku, location = code(row, "ITEM_NO"), code(row, "LOC_CD")
    units = None if change.is_delete else whole_units(row, "SS_QTY")
    return [SafetyStockChanged(sku, location, units, position, provenance)]


def kit_component(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``KIT_COMPONENT``: how many of a component one kit needs (0 once the row is deleted)."""
    row = change.row
    kit, part = code(row, "KIT_ITEM_NO"), code(row, "COMP_ITEM_NO")
    if kit == part:
        raise CdcDecodeError("invalid_kit", f"kit {kit} lists itself as a component")
    per_kit = 0 if change.is_delete else whole_number(row, "COMP_QTY")
    if not change.is_delete and per_kit <= 0:
        raise CdcDecodeError("invalid_kit_quantity", f"COMP_QTY of {part} in {kit} is {per_kit}")
    return [KitComponentChanged(kit, part, per_kit, position, provenance)]


def channel_listing(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``CHANNEL_LISTING``: which item a channel SKU sells."""
    row = change.row
    active = flag(row, "ACTIVE_FLG", YES_NO) == "Y"
    events: list[Event] = []
    before = change.before
    if before is not None and not change.is_delete and code(before, "ITEM_NO") != code(row, "ITEM_NO"):
        # Remapped to another item: the old item loses the listing first, at the same position.
        old = ListingChanged(
            code(row, "CHANNEL_CD"),
            code(row, "CHANNEL_SKU"),
            code(before, "ITEM_NO"),
            False,
            True,
            position,
            provenance,
        )
        events.append(dataclasses.replace(old, moved=True))
    return events + [
        ListingChanged(
            code(row, "CHANNEL_CD"),
            code(row, "CHANNEL_SKU"),
            code(row, "ITEM_NO"),
            active,
            change.is_delete,
            position,
            provenance,
        )
    ]


def location(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``LOCATION``: a DC or store that reservations may name."""
    row = change.row
    return [
        LocationChanged(
            code(row, "LOC_CD"),
            flag(row, "LOC_TYPE", LOCATION_TYPES),
            flag(row, "SHIP_FROM_FLG", YES_NO) == "Y",
            change.is_delete,
            position,
            provenance,
        )
    ]

"""The availability rules: pure arithmetic, no state, no I/O.

These few lines are the contract that matters most (contracts.md): what may be
promised never exceeds what can really be sold.
"""

from __future__ import annotations

from typing import Final

IN_STOCK: Final = "IN_STOCK"
LOW_STOCK: Final = "LOW_STOCK"
OUT_OF_STOCK: Final = "OUT_OF_STOCK"
BACKORDER: Final = "BACKORDER"
PREORDER: Final = "PREORDER"
DISCONTINUED: Final = "DISCONTINUED"

STOCKED: Final = "S"
KIT: Final = "K"
PREORDER_ONLY: Final = "P"


def available_units(on_hand: int, unsellable: int, reserved: int, committed: int, safety_stock: int) -> int:
    """What a stocked item may promise at one location; never negative."""
    return max(0, on_hand - unsellable - reserved - committed - safety_stock)


def promisable_units(
    item_type: str,
    discontinued: bool,
    on_hand: int,
    unsellable: int,
    reserved: int,
    committed: int,
    safety_stock: int,
) -> int:
    """``available`` as published: a discontinued item promises nothing new.

    Preorder-only items promise from inbound supply and kits from their
    components; until those rules are fed (inbound, kit components) they
    promise nothing rather than something invented.
    """
    if discontinued or item_type != STOCKED:
        return 0
    return available_units(on_hand, unsellable, reserved, committed, safety_stock)


def stock_status(item_type: str, discontinued: bool, available: int, incoming: int, low_stock_threshold: int) -> str:
    """The status a channel shows beside the number."""
    if discontinued:
        return DISCONTINUED
    if item_type == PREORDER_ONLY:
        return PREORDER
    if available == 0:
        return BACKORDER if incoming > 0 else OUT_OF_STOCK
    if available <= low_stock_threshold:
        return LOW_STOCK
    return IN_STOCK

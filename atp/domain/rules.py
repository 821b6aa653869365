"""The availability rules: pure arithmetic, no state, no I/O.

These few functions are the contract that matters most (contracts.md): what may
be promised never exceeds what can really be sold.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from atp.domain.records import (
    ALERT_BACK_IN_STOCK,
    ALERT_LOW_STOCK,
    ALERT_OUT_OF_STOCK,
    AlertRecord,
    AvailabilityRecord,
)

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
    incoming: int = 0,
) -> int:
    """``available`` as published for a stocked or preorder-only item.

    A discontinued item promises nothing new. A preorder-only item promises from
    inbound supply as well as from stock. Kits are computed from their components
    (:func:`kits_allowed`), never here.
    """
    if discontinued or item_type == KIT:
        return 0
    supply = on_hand + incoming if item_type == PREORDER_ONLY else on_hand
    return available_units(supply, unsellable, reserved, committed, safety_stock)


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


def alert_kind(previous_available: int | None, available: int, low_stock_threshold: int) -> str | None:
    """The `atp.alerts` transition between two published availabilities, if one was crossed."""
    if previous_available is None or previous_available == available:
        return None
    if available == 0:
        return ALERT_OUT_OF_STOCK
    if previous_available == 0:
        return ALERT_BACK_IN_STOCK
    if available <= low_stock_threshold < previous_available:
        return ALERT_LOW_STOCK
    return None


def alerts_for(record: AvailabilityRecord, previous_available: int | None, threshold: int) -> list[AlertRecord]:
    """The alert a newly published record raises, if it crossed a line: stamped with its source time and version."""
    kind = alert_kind(previous_available, record.available, threshold)
    if kind is None:
        return []
    return [
        AlertRecord(record.sku, record.location, kind, record.available, threshold, record.source_ts_ms, record.version)
    ]


def kits_allowed(component_units: Iterable[tuple[int, int]]) -> int:
    """How many kits ``(units of component, units per kit)`` pairs allow: the scarcest component decides.

    A kit with no components listed allows none: we cannot build what we cannot name.
    """
    allowed: int | None = None
    for units, per_kit in component_units:
        kits = units // per_kit if per_kit > 0 else 0
        allowed = kits if allowed is None else min(allowed, kits)
    return max(0, allowed or 0)


def safety_stock_in_force(
    planner_at_location: int | None, planner_everywhere: int | None, default_for_type: int, dynamic: int
) -> int:
    """Planner override at the location, else the planner's ``'*'`` override, else the default for the
    location type; the dynamic (sales volatility) rule can only raise it."""
    if planner_at_location is not None:
        base = planner_at_location
    elif planner_everywhere is not None:
        base = planner_everywhere
    else:
        base = default_for_type
    return max(base, dynamic)


def volatility_safety_stock(daily_units: list[int], factor: float) -> int:
    """The dynamic rule: ``ceil(factor x population standard deviation of daily units sold)``.

    The more a SKU's daily sales at a location swing, the more is kept back to absorb
    the sale that lands before the POS update does. ``factor`` 0 switches the rule off.
    """
    if factor <= 0 or len(daily_units) < 2:
        return 0
    return math.ceil(factor * statistics.pstdev(daily_units) - 1e-9)


_EPOCH_DAY = dt.date(1970, 1, 1)


@lru_cache(maxsize=65_536)
def start_of_day_ms(day: int, zone: str) -> int:
    """Epoch milliseconds of 00:00 on ``day`` (days since 1970-01-01) in IANA zone ``zone``."""
    date = _EPOCH_DAY + dt.timedelta(days=day)
    midnight = dt.datetime(date.year, date.month, date.day, tzinfo=ZoneInfo(zone))
    return int(midnight.timestamp() * 1000)


def day_to_date(day: int | None) -> dt.date | None:
    return None if day is None else _EPOCH_DAY + dt.timedelta(days=day)


def utc_day(epoch_ms: int) -> int:
    return epoch_ms // 86_400_000

"""The figures one SKU at one location would publish now, from what the location holds.

``available`` leaves out what may not be promised: units on quality hold or in expired lots
(``unsellable``), cart holds (``reserved``), orders not yet seen leaving on-hand (``committed``)
and ``safety_stock``. The arithmetic per item type is :func:`atp.domain.rules.promisable_units`.
"""

from __future__ import annotations

from atp.domain import shipments
from atp.domain.engine_rules import EngineRules
from atp.domain.location_state import LocationState
from atp.domain.published_availability import PublishedAvailability
from atp.domain.reservations import FULFILL
from atp.domain.rules import (
    promisable_units,
    safety_stock_in_force,
    start_of_day_ms,
    stock_status,
    volatility_safety_stock,
)


def location_figures(
    code: str,
    location: LocationState,
    item_type: str,
    discontinued: bool,
    planner_at_location: int | None,
    planner_everywhere: int | None,
    now_ms: int,
    rules: EngineRules,
) -> PublishedAvailability:
    """What the location would publish now (planner safety stock: set for it, and set for ``'*'``).

    This runs for every change of every location, so the sums are written out here rather than
    called one by one (:func:`reserved_units` and :func:`committed_units` are the same sums, for kits).
    """
    grace_ms = rules.fulfil_grace_ms
    refresh_shipments(location, now_ms, grace_ms)  # before `committed`: a shipment seen leaving no longer counts
    zone = rules.timezone_of(code)
    expired = sum(
        lot.qty
        for lot in location.lots.values()
        if lot.expiry_day is not None and now_ms >= start_of_day_ms(lot.expiry_day, zone)
    )
    # Holds and lots are reported apart from the stock balance and may run ahead of it: capped at on-hand.
    unsellable = min(location.on_hand, location.quality_hold + expired)
    reservations = location.reservations.values()
    reserved = sum(r.reserved(now_ms, grace_ms) for r in reservations)
    committed = sum(r.committed(now_ms, grace_ms) for r in reservations)
    safety_stock = safety_stock_of(location, planner_at_location, planner_everywhere, rules)
    open_lines = [line for line in location.inbound.values() if line.open_qty > 0]
    incoming = sum(line.open_qty for line in open_lines)
    next_inbound_day = min((line.due_day for line in open_lines), default=None)
    available = promisable_units(
        item_type, discontinued, location.on_hand, unsellable, reserved, committed, safety_stock, incoming
    )
    status = stock_status(item_type, discontinued, available, incoming, rules.low_stock_threshold)
    # By position, in field order: by keyword, construction costs about three times as much.
    return PublishedAvailability(
        location.on_hand, unsellable, reserved, committed, safety_stock, available, incoming, next_inbound_day, status
    )


def reserved_units(location: LocationState, now_ms: int, grace_ms: int) -> int:
    """Units held by carts at the location now."""
    return sum(r.reserved(now_ms, grace_ms) for r in location.reservations.values())


def committed_units(location: LocationState, now_ms: int, grace_ms: int) -> int:
    """Units ordered and not yet seen leaving the location's on-hand (nor past the fulfilment grace)."""
    return sum(r.committed(now_ms, grace_ms) for r in location.reservations.values())


def safety_stock_of(
    location: LocationState, planner_at_location: int | None, planner_everywhere: int | None, rules: EngineRules
) -> int:
    """The safety stock in force: a planner's, else the location type's default, raised by the dynamic rule."""
    dynamic = 0
    if rules.dynamic_safety_factor > 0 and location.daily_sales:
        newest = max(location.daily_sales)
        window = range(newest - rules.sales_window_days + 1, newest + 1)
        daily = [max(0, location.daily_sales.get(day, 0)) for day in window]  # a day of net returns counts as 0
        dynamic = volatility_safety_stock(daily, rules.dynamic_safety_factor)
    default = rules.default_safety_stock(location.location_type)
    return safety_stock_in_force(planner_at_location, planner_everywhere, default, dynamic)


def refresh_shipments(location: LocationState, now_ms: int, grace_ms: int) -> None:
    """Mark which shipments the stock history shows leaving on-hand (and un-mark any it no longer shows).

    A late stock level can disprove a decrement seen before, so this is worked out afresh each time;
    levels that no shipment still inside its grace needs are then forgotten (:func:`shipments.prune`).
    """
    pending = [
        (r.reservation_id, r.fulfilled_at_ms, r.qty)
        for r in location.reservations.values()
        if FULFILL in r.ops
        and r.fulfilled_at_ms is not None
        and r.grace_from_ms is not None
        and now_ms < r.grace_from_ms + grace_ms
    ]
    left = shipments.booked_out(location.stock_history, pending) if pending else set()
    for reservation_id, _, _ in pending:
        location.reservations[reservation_id].decrement_seen = reservation_id in left
    forgotten = shipments.prune(location.stock_history, min((f for _, f, _ in pending), default=None))
    if forgotten is not None:
        location.history_forgotten_through = max(location.history_forgotten_through, forgotten)

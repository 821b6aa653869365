"""Moments at which a location's figures change with no further input.

A cart hold lapses at its expiry, a shipment stops counting in ``committed`` when the
fulfilment grace ends (if its decrement was not seen first), and a lot stops being sellable
at the start of its expiry day in the location's zone. The engine publishes each such change
at its deadline, stamped with the deadline as its source time, so a lapse is a record of its own
whatever input comes next.
"""

from __future__ import annotations

from dataclasses import dataclass

from atp.domain.compact import pickled_by_position
from atp.domain.engine_rules import EngineRules
from atp.domain.location_state import LocationState
from atp.domain.records import CAUSE_EXPIRY, CAUSE_LOT_EXPIRY
from atp.domain.rules import day_to_date, start_of_day_ms
from atp.domain.time_window import representable_ms


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Due:
    """A deadline: when it falls, the cause its record is published with, and what lapsed (its cause_ref)."""

    at_ms: int
    cause: str
    ref: str


def location_deadline_times(code: str, location: LocationState, rules: EngineRules) -> list[int]:
    """When each of the location's deadlines falls, passed or not. The timer asks this after every input of
    every key, so it builds no reference text (``location_deadlines`` does, for the ones that fired)."""
    times = []
    grace_ms = rules.fulfil_grace_ms
    for reservation in location.reservations.values():
        ends = reservation.deadlines_ms(grace_ms)
        if ends.hold_lapses_ms is not None:
            times.append(ends.hold_lapses_ms)
        if ends.grace_ends_ms is not None:
            times.append(ends.grace_ends_ms)
    if location.lots:
        zone = rules.timezone_of(code)
        times.extend(
            representable_ms(start_of_day_ms(lot.expiry_day, zone))
            for lot in location.lots.values()
            if lot.expiry_day is not None
        )
    return times


def location_deadlines(code: str, location: LocationState, rules: EngineRules) -> list[Due]:
    """Every deadline of the location, passed or not, with the cause and reference its record is published with
    (the caller picks the window it runs)."""
    deadlines = []
    for reservation in location.reservations.values():
        ends = reservation.deadlines_ms(rules.fulfil_grace_ms)
        if ends.hold_lapses_ms is not None:
            deadlines.append(Due(ends.hold_lapses_ms, CAUSE_EXPIRY, f"timer: hold {reservation.reservation_id}"))
        if ends.grace_ends_ms is not None:
            ref = f"timer: fulfil grace {reservation.reservation_id}"
            deadlines.append(Due(ends.grace_ends_ms, CAUSE_EXPIRY, ref))
    if location.lots:
        zone = rules.timezone_of(code)
        for lot_no, lot in location.lots.items():
            if lot.expiry_day is not None:
                ref = f"timer: lot {lot_no} expires {day_to_date(lot.expiry_day)} {zone}"
                at_ms = representable_ms(start_of_day_ms(lot.expiry_day, zone))
                deadlines.append(Due(at_ms, CAUSE_LOT_EXPIRY, ref))
    return deadlines

"""A kit SKU's own terms: whether it may be promised, its planner safety stock, and holds on it.

A kit has no stock of its own: it publishes from its components (:mod:`atp.domain.kits`).
What its own SKU state contributes is sent on as :class:`KitTerms`, only when it changes,
since every change re-evaluates the kit at each of its locations.
"""

from __future__ import annotations

from collections.abc import Mapping

from atp.domain.events import Provenance, SourcePosition
from atp.domain.kits import KitTerms
from atp.domain.location_figures import committed_units, refresh_shipments, reserved_units
from atp.domain.location_state import LocationState

# Per location by code (or '*'): the planner's safety stock (None: unset) and the position of its row.
PlannerSafetyStock = Mapping[str, tuple[int | None, SourcePosition]]

# (location, units) for each location with any, by location code.
PerLocation = tuple[tuple[str, int], ...]


def changed_kit_terms(
    kit_sku: str,
    discontinued: bool,
    locations: Mapping[str, LocationState],
    planner_safety_stock: PlannerSafetyStock,
    sent: KitTerms | None,
    provenance: Provenance,
    cause: str,
    now_ms: int,
    grace_ms: int,
) -> KitTerms | None:
    """The kit's terms now, stamped with the input behind them; None if they are what was ``sent`` last."""
    reserved, committed = _holds(locations, now_ms, grace_ms)
    planner = _planner(planner_safety_stock)
    if sent is not None and (sent.discontinued, sent.planner_safety_stock, sent.reserved, sent.committed) == (
        discontinued,
        planner,
        reserved,
        committed,
    ):
        return None
    return KitTerms(kit_sku, discontinued, planner, reserved, committed, provenance, cause)


def _holds(locations: Mapping[str, LocationState], now_ms: int, grace_ms: int) -> tuple[PerLocation, PerLocation]:
    """(units reserved, units committed) on the kit itself, per location."""
    reserved, committed = [], []
    for code, location in sorted(locations.items()):
        refresh_shipments(location, now_ms, grace_ms)  # kits never reach location_figures(), where other SKUs do
        held = reserved_units(location, now_ms, grace_ms)
        ordered = committed_units(location, now_ms, grace_ms)
        if held:
            reserved.append((code, held))
        if ordered:
            committed.append((code, ordered))
    return tuple(reserved), tuple(committed)


def _planner(planner_safety_stock: PlannerSafetyStock) -> PerLocation:
    """The planner's safety stock set on the kit, per location (or '*'), leaving out unset and zero."""
    return tuple(sorted((code, units) for code, (units, _) in planner_safety_stock.items() if units))

"""The configurable parts of the availability rules (built from :class:`atp.settings.Settings`).

Kept apart from the state they steer, so that reconciliation (:mod:`atp.domain.reconcile`) applies the
same thresholds, grace and safety stock defaults as the engine without importing the engine's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from atp.domain.compact import pickled_by_position
from atp.domain.events import DC, STORE


@pickled_by_position
@dataclass(frozen=True, slots=True)
class EngineRules:
    """Thresholds, grace, safety stock defaults and time zones the engine's rules run with."""

    low_stock_threshold: int = 5
    fulfil_grace_ms: int = 15 * 60_000
    dc_safety_stock: int = 0
    store_safety_stock: int = 0
    dynamic_safety_factor: float = 0.0
    sales_window_days: int = 14
    unresolved_wait_ms: int = 60_000
    default_timezone: str = "UTC"
    location_timezones: Mapping[str, str] = field(default_factory=dict)
    max_hold_ms: int = 7 * 86_400_000  # the longest a cart hold may last (atp.domain.reservations.within_horizon)

    def timezone_of(self, location: str) -> str:
        """The zone a location's days (lot expiry) are counted in."""
        return self.location_timezones.get(location, self.default_timezone)

    def default_safety_stock(self, location_type: str | None) -> int:
        """The safety stock a location keeps when no planner sets one."""
        if location_type == DC:
            return self.dc_safety_stock
        if location_type == STORE:
            return self.store_safety_stock
        # An unknown type takes the larger default: promising less is the safe side.
        return max(self.dc_safety_stock, self.store_safety_stock)

"""Everything the engine knows about one SKU, and how each input changes it.

One :class:`SkuState` per SKU holds the item's attributes and one
:class:`~atp.domain.location_state.LocationState` per location: stock, quality holds,
lots, open purchase order lines, reservations and (for the dynamic safety stock rule)
recent sales. Keeping all locations of a SKU together is what lets an item change
(discontinued, preorder) or a ``'*'`` safety stock override re-evaluate every location at once.

This module routes each input and versions what is published; the parts it composes:
- :mod:`atp.domain.location_state`: what a location keeps, and how each input changes it;
- :mod:`atp.domain.location_figures`: the figures a location would publish now;
- :mod:`atp.domain.deadlines`: holds lapsing, lots expiring, fulfilment grace ending;
- :mod:`atp.domain.waiting_stock`: stock that arrives before its item;
- :mod:`atp.domain.kit_terms`: what a kit SKU's own state tells the kit;
- :mod:`atp.domain.published_availability`: the published figures and records.

Rules that keep us from over-promising when inputs race, repeat or reorder:
- a change of a source row older (by source position) than the one applied is ignored;
- nothing is published for a SKU until its ``ITEM_MASTER`` row has been seen:
  until then we cannot tell whether it is discontinued or a kit;
- a reservation's phase is a function of the set of its events (see
  :mod:`atp.domain.reservations`), so duplicates and reordering converge;
- a FULFILL keeps its units in ``committed`` until the location's on-hand is seen
  to fall by them, or the grace period passes;
- a lot stops being sellable at the start of its expiry day in the location's zone;
- where a location's type is unknown, the larger default safety stock applies.

Time-driven changes are applied by :meth:`SkuState.on_timer` at their deadline, with no
further input. Every other input first runs the timer, so a lapse is always its own record.

The changes of one epoch share one version per location: the first change opens it, and a
location that ends up back where the epoch began withdraws it (:class:`atp.domain.records.Withdrawn`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atp.domain import location_state
from atp.domain.compact import pickled_by_position
from atp.domain.deadlines import location_deadline_times, location_deadlines
from atp.domain.engine_rules import EngineRules
from atp.domain.events import (
    ALL_LOCATIONS,
    InboundChanged,
    ItemChanged,
    KitComponentChanged,
    LotChanged,
    Provenance,
    ReservationReceived,
    SafetyStockChanged,
    SaleRecorded,
    SourcePosition,
    StockCorrected,
    StockLevel,
)
from atp.domain.kit_terms import changed_kit_terms
from atp.domain.kits import ComponentSupply, KitTerms, is_component_share
from atp.domain.location_figures import location_figures
from atp.domain.location_state import Locations, LocationState, locations_from_pickles
from atp.domain.published_availability import (
    PublishedAvailability,
    availability_record,
    component_supply,
    kept_figures,
    published_figures,
)
from atp.domain.records import (
    AVAILABILITY_KIND,
    CAUSE_INBOUND,
    CAUSE_ITEM,
    CAUSE_KIT,
    CAUSE_RECONCILE,
    CAUSE_RESERVATION,
    CAUSE_SAFETY_STOCK,
    CAUSE_STOCK,
    AlertRecord,
    AvailabilityRecord,
    DeadLetter,
    Withdrawn,
)
from atp.domain.reservations import (
    CONFIRM,
    HOLD,
    Phase,
    conflicting_duplicate_letter,
    hold_too_long_letter,
    within_horizon,
)
from atp.domain.rules import KIT, STOCKED, alerts_for
from atp.domain.waiting_stock import Waiting, hold_back, unknown_sku_letters

# What reaches a SKU, once UPCs, channel SKUs and locations are resolved.
SkuInput = (
    StockLevel
    | ItemChanged
    | ReservationReceived
    | LotChanged
    | InboundChanged
    | SafetyStockChanged
    | KitComponentChanged
    | SaleRecorded
    | StockCorrected
)
Output = AvailabilityRecord | AlertRecord | DeadLetter | ComponentSupply | KitTerms | Withdrawn

# The cause a kit's own change is published with, by the kind of input behind it.
_CAUSE_OF: dict[type, str] = {
    StockLevel: CAUSE_STOCK,
    ItemChanged: CAUSE_ITEM,
    ReservationReceived: CAUSE_RESERVATION,
    LotChanged: CAUSE_STOCK,
    InboundChanged: CAUSE_INBOUND,
    SafetyStockChanged: CAUSE_SAFETY_STOCK,
    KitComponentChanged: CAUSE_KIT,
    SaleRecorded: CAUSE_SAFETY_STOCK,
    StockCorrected: CAUSE_RECONCILE,
}


# The (units, source position) of a row not seen yet: no units, and a position every change comes after.
_NO_PLANNER_ROW: tuple[int | None, SourcePosition] = (None, ())
_NOT_IN_KIT: tuple[int, SourcePosition] = (0, ())


# Its locations pickle as the pickles each kept since it last changed (atp.domain.location_state.Locations).
@pickled_by_position(encoded=("locations", Locations.pickles, locations_from_pickles))
@dataclass(slots=True)
class SkuState:
    """One SKU (the key of the ``availability`` step): its item, its locations, and what it told kits."""

    sku: str
    item_known: bool = False
    item_type: str = STOCKED
    discontinued: bool = False
    item_position: SourcePosition = ()
    # Every change of a location goes through _location or _publish (or seal), which tell Locations it changed.
    locations: Locations = field(default_factory=Locations)
    # Stock changes seen before the item, per location, in source order (empty once the item is known).
    waiting: Waiting = field(default_factory=dict)
    waiting_since_ms: int | None = None
    planner_safety_stock: dict[str, tuple[int | None, SourcePosition]] = field(default_factory=dict)
    kits: dict[str, tuple[int, SourcePosition]] = field(default_factory=dict)  # kits using this SKU
    timers_run_to_ms: int = 0
    kit_terms_sent: KitTerms | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.locations, Locations):  # given as a plain dict: tracked from now on
            self.locations = Locations(self.locations)

    # -- inputs -------------------------------------------------------------------------------

    def apply(self, event: SkuInput, now_ms: int, rules: EngineRules) -> list[Output]:
        """Apply one input; returns what it publishes (after any deadline that passed before it)."""
        out = self.on_timer(now_ms, rules)
        if isinstance(event, StockLevel):
            out += self._apply_stock(event, now_ms, rules)
        elif isinstance(event, ItemChanged):
            out += self._apply_item(event, now_ms, rules)
        elif isinstance(event, ReservationReceived):
            out += self._apply_reservation(event, now_ms, rules)
        elif isinstance(event, LotChanged):
            if location_state.apply_lot(self._location(event.location), event):
                out += self._publish(event.location, event.provenance, CAUSE_STOCK, now_ms, rules)
        elif isinstance(event, InboundChanged):
            if location_state.apply_inbound(self._location(event.location), event):
                out += self._publish(event.location, event.provenance, CAUSE_INBOUND, now_ms, rules)
        elif isinstance(event, SafetyStockChanged):
            out += self._apply_safety_stock(event, now_ms, rules)
        elif isinstance(event, KitComponentChanged):
            out += self._apply_kit_membership(event)
        elif isinstance(event, SaleRecorded):
            # With the dynamic rule off, sales change nothing: they are not even remembered.
            if rules.dynamic_safety_factor > 0:
                location_state.record_sale(self._location(event.store), event, rules.sales_window_days)
                out += self._publish(event.store, event.provenance, CAUSE_SAFETY_STOCK, now_ms, rules)
        elif isinstance(event, StockCorrected):
            out += self._apply_correction(event, now_ms, rules)
        return out + self._kit_terms(event.provenance, _CAUSE_OF.get(type(event), CAUSE_KIT), rules, now_ms)

    def _apply_reservation(self, event: ReservationReceived, now_ms: int, rules: EngineRules) -> list[Output]:
        out: list[Output] = []
        said_once = not is_component_share(event)  # a kit's shares on its components: the kit's own event says it
        here = self.locations.get(event.location)
        if (here is None or not location_state.seen_event(here, event)) and self._seen_at_another_location(event):
            # The same event at another location: a conflicting duplicate. Its HOLD or CONFIRM is kept (units held
            # at both locations promise less); its RELEASE or FULFILL is not (it would free units on its word).
            if said_once:
                out.append(conflicting_duplicate_letter(event, now_ms))
            if event.op not in (HOLD, CONFIRM):
                return out
        held = within_horizon(event, now_ms, rules.max_hold_ms)
        location = self._location(event.location)
        applied, conflicting = location_state.apply_reservation(location, held, now_ms, rules.fulfil_grace_ms)
        if conflicting and said_once:
            out.append(conflicting_duplicate_letter(event, now_ms))
        if applied:
            out += self._publish(event.location, event.provenance, CAUSE_RESERVATION, now_ms, rules)
            if held is not event and said_once:
                out.append(hold_too_long_letter(event, now_ms, rules.max_hold_ms))
        return out

    def _seen_at_another_location(self, event: ReservationReceived) -> bool:
        return any(
            location_state.seen_event(location, event)
            for code, location in self.locations.items()
            if code != event.location
        )

    def _apply_stock(self, level: StockLevel, now_ms: int, rules: EngineRules) -> list[Output]:
        if not self.item_known:
            if hold_back(self.waiting, level) and self.waiting_since_ms is None:
                self.waiting_since_ms = now_ms
            return []
        cause = location_state.apply_stock_level(self._location(level.location), level)
        return self._publish(level.location, level.provenance, cause, now_ms, rules)

    def _apply_item(self, item: ItemChanged, now_ms: int, rules: EngineRules) -> list[Output]:
        """The item master row changed: every location of the SKU is re-evaluated."""
        if item.position < self.item_position:
            return []
        self.item_position = item.position
        self.item_known = True
        self.item_type = item.item_type
        # A deleted item can no longer be sold: promise nothing, like a discontinued one.
        self.discontinued = item.discontinued or item.deleted
        out: list[Output] = []
        # Stock that waited for the item is published level by level, as if the item had come first.
        waiting, self.waiting, self.waiting_since_ms = self.waiting, {}, None
        for location_code in sorted(waiting):
            for level in waiting[location_code]:
                out += self._apply_stock(level, now_ms, rules)
        for location_code in sorted(self.locations):
            out += self._publish(location_code, item.provenance, CAUSE_ITEM, now_ms, rules)
        return out

    def _apply_safety_stock(self, change: SafetyStockChanged, now_ms: int, rules: EngineRules) -> list[Output]:
        _, applied = self.planner_safety_stock.get(change.location, _NO_PLANNER_ROW)
        if change.position < applied:
            return []
        self.planner_safety_stock[change.location] = (change.units, change.position)
        codes = sorted(self.locations) if change.location == ALL_LOCATIONS else [change.location]
        if change.location != ALL_LOCATIONS:
            self._location(change.location)
        out: list[Output] = []
        for code in codes:
            out += self._publish(code, change.provenance, CAUSE_SAFETY_STOCK, now_ms, rules)
        return out

    def _apply_kit_membership(self, change: KitComponentChanged) -> list[Output]:
        """This SKU became (or stopped being) a component of a kit: tell the kit what we have."""
        _, applied = self.kits.get(change.kit_sku, _NOT_IN_KIT)
        if change.position < applied:
            return []
        self.kits[change.kit_sku] = (change.qty_per_kit, change.position)
        if change.qty_per_kit <= 0:
            return []
        return [
            component_supply(change.kit_sku, self.sku, code, figures, change.provenance, CAUSE_KIT)
            for code, location in sorted(self.locations.items())
            if (figures := location.published_figures) is not None
        ]

    def _apply_correction(self, fix: StockCorrected, now_ms: int, rules: EngineRules) -> list[Output]:
        """A reconciliation repair, if the location still shows what the drift was found against."""
        known = self.locations.get(fix.location)
        changed_since = known is not None and (known.version != fix.observed_version or known.epoch_open)
        if not self.item_known or changed_since or (known is None and fix.observed_version != 0):
            return []  # changed since: the drift may be gone, and the next reconciliation re-checks
        location_state.apply_correction(self._location(fix.location), fix)
        return self._publish(fix.location, fix.provenance, CAUSE_RECONCILE, now_ms, rules)

    def _location(self, code: str) -> LocationState:
        """The location ``code``, created if new, to be changed."""
        return self.locations.changing(code)

    # -- time -----------------------------------------------------------------------------------

    def on_timer(self, now_ms: int, rules: EngineRules) -> list[Output]:
        """Publish what deadlines passed since the last call changed (holds, lots, grace, waiting stock)."""
        since, self.timers_run_to_ms = self.timers_run_to_ms, max(self.timers_run_to_ms, now_ms)
        out: list[Output] = self._give_up_waiting(now_ms, rules)
        if not self.item_known or now_ms <= since:
            return out
        for code, location in sorted(self.locations.items()):
            if not any(since < at_ms <= now_ms for at_ms in location_deadline_times(code, location, rules)):
                continue
            due = [d for d in location_deadlines(code, location, rules) if since < d.at_ms <= now_ms]
            if due:
                # One record for all that passed, stamped with the latest: the deadline is its source time.
                last = max(due, key=lambda d: d.at_ms)
                fired = Provenance(last.at_ms, last.ref)
                out += self._publish(code, fired, last.cause, now_ms, rules)
                out += self._kit_terms(fired, last.cause, rules, now_ms)
        return out

    def active_holds(self, now_ms: int, rules: EngineRules) -> int:
        """Cart holds counting in `reserved` now, over every location of the SKU."""
        grace_ms = rules.fulfil_grace_ms
        return sum(
            1
            for state in self.locations.values()
            for reservation in state.reservations.values()
            if reservation.phase(now_ms, grace_ms) is Phase.HELD
        )

    def next_deadline_ms(self, rules: EngineRules) -> int | None:
        """The soonest future moment at which this SKU's figures change with no further input."""
        soonest: int | None = None
        if self.waiting_since_ms is not None:
            soonest = self.waiting_since_ms + rules.unresolved_wait_ms
        run_to = self.timers_run_to_ms
        for code, location in self.locations.items():
            if not location.reservations and not location.lots:  # most locations of most SKUs: nothing timed
                continue
            for at_ms in location_deadline_times(code, location, rules):
                if at_ms > run_to and (soonest is None or at_ms < soonest):
                    soonest = at_ms
        return soonest

    def _give_up_waiting(self, now_ms: int, rules: EngineRules) -> list[Output]:
        """Stock for a SKU the ERP never described is dead-lettered after the wait, not kept forever."""
        if self.waiting_since_ms is None or now_ms < self.waiting_since_ms + rules.unresolved_wait_ms:
            return []
        letters: list[Output] = [*unknown_sku_letters(self.sku, self.waiting, rules.unresolved_wait_ms, now_ms)]
        self.waiting, self.waiting_since_ms = {}, None
        return letters

    # -- publishing -----------------------------------------------------------------------------

    def figures(self, code: str, now_ms: int, rules: EngineRules) -> PublishedAvailability:
        """What the location would publish now."""
        planner_at_location, _ = self.planner_safety_stock.get(code, _NO_PLANNER_ROW)
        planner_everywhere, _ = self.planner_safety_stock.get(ALL_LOCATIONS, _NO_PLANNER_ROW)
        return location_figures(
            code,
            self.locations.changing(code),  # it refreshes the location's shipments
            self.item_type,
            self.discontinued,
            planner_at_location,
            planner_everywhere,
            now_ms,
            rules,
        )

    def _publish(self, code: str, provenance: Provenance, cause: str, now_ms: int, rules: EngineRules) -> list[Output]:
        if not self.item_known or self.item_type == KIT:
            return []  # kits publish from their components (atp.domain.kits)
        location = self.locations.changing(code)  # figures() refreshes its shipments
        published = self.figures(code, now_ms, rules)
        if published == location.published:
            return []
        if not location.epoch_open:
            location.epoch_open, location.epoch_base = True, location.published
            location.version += 1
        location.published = kept_figures(published)
        base = location.epoch_base
        supplies: list[Output] = [
            component_supply(kit_sku, self.sku, code, published, provenance, cause)
            for kit_sku, (per_kit, _) in sorted(self.kits.items())
            if per_kit > 0
        ]
        withdrawn = published == base  # back where the epoch began: the version it opened is withdrawn
        if withdrawn:
            location.epoch_open, location.epoch_base = False, None
            location.version -= 1
        record = availability_record(self.sku, code, published, location.version, provenance, cause, now_ms)
        if withdrawn:
            # The channel steps still need the state it is back to; the publisher drops both.
            return [record, Withdrawn(AVAILABILITY_KIND, record.key), *supplies]
        # Alerts compare with where the epoch began, so a crossing and its undoing in one epoch raise nothing.
        previous_available = published_figures(base).available if base is not None else None
        return [record, *alerts_for(record, previous_available, rules.low_stock_threshold), *supplies]

    def seal(self) -> None:
        """The epoch closed: its versions are published; the next change opens a new one."""
        for code, location in self.locations.items():
            if location.epoch_open:
                self.locations.changing(code)
                location.epoch_open, location.epoch_base = False, None

    def _kit_terms(self, provenance: Provenance, cause: str, rules: EngineRules, now_ms: int) -> list[Output]:
        """For a kit SKU: its own terms (status, planner safety stock, holds), sent on when they change."""
        if not self.item_known or self.item_type != KIT:
            return []
        terms = changed_kit_terms(
            self.sku,
            self.discontinued,
            self.locations,
            self.planner_safety_stock,
            self.kit_terms_sent,
            provenance,
            cause,
            now_ms,
            rules.fulfil_grace_ms,
        )
        if terms is None:
            return []
        self.kit_terms_sent = terms
        return [terms]

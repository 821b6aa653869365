"""Kits (bundles): what their components allow, and holds on a kit taken from its components.

A kit has no stock of its own. At each location it offers
``min over components of floor(component available / units per kit)``, less any
planner safety stock set on the kit. The kit's own SKU state (item status,
holds and orders on the kit) is computed upstream like any SKU and reaches the
kit as :class:`KitTerms`; each component reports its availability per location
as :class:`ComponentSupply`. Both meet here, keyed by the kit.

Holds on a kit must not leave its components promisable to someone else, so a
reservation event on a kit is also *exploded* (:class:`KitBom`) into one event
per component, for ``qty x units per kit`` units of it. The components' own
availability then already accounts for kits held, which is why the kit's
``available`` does not subtract its reservations a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from atp.domain.compact import pickled_by_position
from atp.domain.events import KitComponentChanged, Provenance, ReservationReceived, SourcePosition
from atp.domain.records import AVAILABILITY_KIND, CAUSE_KIT, AlertRecord, AvailabilityRecord, Withdrawn
from atp.domain.rules import KIT, alerts_for, day_to_date, kits_allowed, stock_status


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ComponentSupply:
    """A component's published figures at one location, sent to each kit that uses it."""

    kit_sku: str
    component_sku: str
    location: str
    available: int
    on_hand: int
    incoming: int
    next_inbound_day: int | None
    provenance: Provenance
    cause: str


@pickled_by_position
@dataclass(frozen=True, slots=True)
class KitTerms:
    """What the kit's own SKU state says: whether it may be promised, planner safety stock, and holds."""

    kit_sku: str
    discontinued: bool
    planner_safety_stock: tuple[tuple[str, int], ...]  # (location or '*', units)
    reserved: tuple[tuple[str, int], ...]  # (location, units)
    committed: tuple[tuple[str, int], ...]
    provenance: Provenance
    cause: str


# (available, on_hand, incoming, next_inbound_day) of one component at one location. A plain tuple, read by
# unpacking: a kit keeps one per component and location, and the state is pickled at every epoch it changed in,
# where a NamedTuple costs several times a tuple's pickling time.
Supply = tuple[int, int, int, int | None]

# What a component the kit has heard nothing of yet at a location offers.
NO_SUPPLY: Supply = (0, 0, 0, None)


# What a kit at a location last published (a kit has no stock of its own, so nothing is unsellable): (on_hand,
# reserved, committed, safety_stock, available, incoming, next_inbound_day, status). A plain tuple, like Supply.
KitPublished = tuple[int, int, int, int, int, int, int | None, str]
_AVAILABLE: Final = 4  # the place of `available` in KitPublished


KitInput = ComponentSupply | KitTerms | KitComponentChanged


@pickled_by_position
@dataclass(slots=True)
class KitState:
    """Keyed by kit SKU: its bill of materials, its components' supply per location, and its terms."""

    kit_sku: str
    bom: dict[str, tuple[int, SourcePosition]] = field(default_factory=dict)  # component -> (per kit, position)
    supply: dict[str, dict[str, Supply]] = field(default_factory=dict)  # location -> component -> supply
    terms: KitTerms | None = None
    published: dict[str, KitPublished] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    # Locations with a version open in this epoch -> what was published when it opened (see SkuState.seal).
    epoch_base: dict[str, KitPublished | None] = field(default_factory=dict)

    def apply(
        self, value: KitInput, now_ms: int, low_stock_threshold: int
    ) -> list[AvailabilityRecord | AlertRecord | Withdrawn]:
        if isinstance(value, ComponentSupply):
            supply = (value.available, value.on_hand, value.incoming, value.next_inbound_day)
            self.supply.setdefault(value.location, {})[value.component_sku] = supply
            return self._publish([value.location], value.provenance, value.cause, now_ms, low_stock_threshold)
        if isinstance(value, KitTerms):
            self.terms = value
            return self._publish(self._locations(), value.provenance, value.cause, now_ms, low_stock_threshold)
        known = self.bom.get(value.component_sku)
        if known is not None and value.position < known[1]:
            return []
        self.bom[value.component_sku] = (value.qty_per_kit, value.position)
        return self._publish(self._locations(), value.provenance, CAUSE_KIT, now_ms, low_stock_threshold)

    def _locations(self) -> list[str]:
        codes = set(self.supply)
        if self.terms is not None:
            codes.update(code for code, _ in self.terms.reserved + self.terms.committed)
        return sorted(codes)

    def _publish(
        self, codes: list[str], provenance: Provenance, cause: str, now_ms: int, low_stock_threshold: int
    ) -> list[AvailabilityRecord | AlertRecord | Withdrawn]:
        out: list[AvailabilityRecord | AlertRecord | Withdrawn] = []
        for code in codes:
            out += self._publish_location(code, provenance, cause, now_ms, low_stock_threshold)
        return out

    def _publish_location(
        self, code: str, provenance: Provenance, cause: str, now_ms: int, low_stock_threshold: int
    ) -> list[AvailabilityRecord | AlertRecord | Withdrawn]:
        terms = self.terms
        if terms is None:  # the kit's item row has not been seen: publish nothing rather than guess
            return []
        components = [(sku, per_kit) for sku, (per_kit, _) in sorted(self.bom.items()) if per_kit > 0]
        at_location = self.supply.get(code, {})
        supplies = [(at_location.get(sku, NO_SUPPLY), per_kit) for sku, per_kit in components]
        from_components = kits_allowed((available, per_kit) for (available, _, _, _), per_kit in supplies)
        with_inbound = kits_allowed((available + due, per_kit) for (available, _, due, _), per_kit in supplies)
        on_hand = kits_allowed((units, per_kit) for (_, units, _, _), per_kit in supplies)
        incoming = max(0, with_inbound - from_components)
        # A kit can be built once its last component arrives: the latest of the components' next days.
        inbound_days = [day for (_, _, due, day), _ in supplies if due > 0 and day is not None]
        next_inbound_day = max(inbound_days) if incoming > 0 and inbound_days else None
        planner = dict(terms.planner_safety_stock)
        safety_stock = planner.get(code, planner.get("*", 0))
        available = 0 if terms.discontinued else max(0, from_components - safety_stock)
        reserved = dict(terms.reserved).get(code, 0)
        committed = dict(terms.committed).get(code, 0)
        status = stock_status(KIT, terms.discontinued, available, incoming, low_stock_threshold)
        published: KitPublished = (
            on_hand,
            reserved,
            committed,
            safety_stock,
            available,
            incoming,
            next_inbound_day,
            status,
        )
        previous = self.published.get(code)
        if published == previous:
            return []
        if code not in self.epoch_base:
            self.epoch_base[code] = previous
            self.versions[code] = self.versions.get(code, 0) + 1
        self.published[code] = published
        base = self.epoch_base[code]
        withdrawn = published == base  # back where the epoch began: withdraw the version it opened
        if withdrawn:
            del self.epoch_base[code]
            self.versions[code] -= 1
        version = self.versions[code]
        record = AvailabilityRecord(
            sku=self.kit_sku,
            location=code,
            on_hand=on_hand,
            unsellable=0,
            reserved=reserved,
            committed=committed,
            safety_stock=safety_stock,
            available=available,
            incoming=incoming,
            next_inbound_date=day_to_date(next_inbound_day),
            status=status,
            version=version,
            source_ts_ms=provenance.source_ts_ms,
            computed_ts_ms=now_ms,
            cause=cause,
            cause_ref=provenance.cause_ref,
        )
        if withdrawn:  # the channel steps still need the state it is back to; the publisher drops both
            return [record, Withdrawn(AVAILABILITY_KIND, record.key)]
        previous_available = base[_AVAILABLE] if base is not None else None  # alerts compare with the epoch's start
        return [record, *alerts_for(record, previous_available, low_stock_threshold)]

    def seal(self) -> None:
        """The epoch closed: its versions are published; the next change opens a new one."""
        self.epoch_base.clear()


# A kit reservation's events are kept this long after they occurred, to re-explode them if the kit's bill
# of materials changes (the same horizon as the engine's memory of reservations).
KIT_EVENT_MEMORY_MS = 7 * 86_400_000


@pickled_by_position
@dataclass(slots=True)
class KitBom:
    """Keyed by SKU, upstream of the engine: the components of a kit, to explode holds on it.

    The events of reservations on a kit are kept for a while, so that a component
    that joins the kit later (or a bill of materials that arrives after the hold,
    as at start-up) still gets its share held. Re-exploding is idempotent: a derived
    event's id names the component and the units per kit, so the engine recognises
    a repeat, and a changed quantity arrives as a new event that can only hold more.
    """

    kit_sku: str
    is_kit: bool = False
    components: dict[str, tuple[int, SourcePosition]] = field(default_factory=dict)
    kit_events: list[ReservationReceived] = field(default_factory=list)

    def apply_item(self, item_type: str) -> None:
        self.is_kit = item_type == KIT

    def apply_component(self, change: KitComponentChanged) -> list[ReservationReceived]:
        """Record the change; returns the kit's kept reservation events exploded for this component."""
        known = self.components.get(change.component_sku)
        if known is not None and change.position < known[1]:
            return []
        self.components[change.component_sku] = (change.qty_per_kit, change.position)
        if change.qty_per_kit <= 0:
            return []
        return [_for_component(event, change.component_sku, change.qty_per_kit) for event in self.kit_events]

    def explode(self, reservation: ReservationReceived) -> list[ReservationReceived]:
        """The event itself (the kit's own `reserved`), then one per component for its units."""
        if self.is_kit or self.components:
            self.kit_events = [
                e for e in self.kit_events if e.occurred_at_ms >= reservation.occurred_at_ms - KIT_EVENT_MEMORY_MS
            ]
            self.kit_events.append(reservation)
        out = [reservation]
        for component, (per_kit, _) in sorted(self.components.items()):
            if per_kit > 0:
                out.append(_for_component(reservation, component, per_kit))
        return out

    @property
    def is_empty(self) -> bool:
        return not self.is_kit and not self.components and not self.kit_events


def component_ids(event_id: str, reservation_id: str, kit_sku: str, component: str, per_kit: int) -> tuple[str, str]:
    """(event id, reservation id) of a kit reservation's share on one component: distinct per component,
    and stable, so a re-sent kit event is recognised as a duplicate on its components too."""
    return f"{event_id}>{component}x{per_kit}", f"{reservation_id}>kit {kit_sku}"


def is_component_share(reservation: ReservationReceived) -> bool:
    """Whether ``reservation`` is a kit reservation's share on one component (see :func:`component_ids`)."""
    return ">kit " in reservation.reservation_id


def _for_component(reservation: ReservationReceived, component: str, per_kit: int) -> ReservationReceived:
    event_id, reservation_id = component_ids(
        reservation.event_id, reservation.reservation_id, reservation.sku, component, per_kit
    )
    return replace(
        reservation, sku=component, event_id=event_id, reservation_id=reservation_id, qty=reservation.qty * per_kit
    )

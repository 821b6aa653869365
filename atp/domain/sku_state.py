"""Everything the engine knows about one SKU, and how each input changes it.

One :class:`SkuState` per SKU holds the item's attributes and one
:class:`LocationState` per location: stock, quality holds, lots, open purchase
order lines, reservations and (for the dynamic safety stock rule) recent sales.
Keeping all locations of a SKU together is what lets an item change
(discontinued, preorder) or a ``'*'`` safety stock override re-evaluate every
location at once.

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

Time-driven changes (a hold lapsing, a lot expiring, a fulfilment's grace
ending) are applied by :meth:`SkuState.on_timer` at their deadline, with no
further input, and published with the deadline as their source time. Every
other input first runs the timer, so a lapse is always its own record.

Versions must come out the same when a restart replays inputs in another
interleaving of topics (a re-sent record carries the same version). So stock
changes that arrive before their item are kept *in order*, and once the item is
known each is published in turn, exactly as if the item had come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from atp.domain import shipments
from atp.domain.compact import pickled_by_position
from atp.domain.events import (
    ALL_LOCATIONS,
    DC,
    STORE,
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
from atp.domain.kits import ComponentSupply, KitTerms
from atp.domain.records import (
    AVAILABILITY_KIND,
    CAUSE_EXPIRY,
    CAUSE_INBOUND,
    CAUSE_ITEM,
    CAUSE_KIT,
    CAUSE_LOT_EXPIRY,
    CAUSE_RECONCILE,
    CAUSE_RESERVATION,
    CAUSE_SAFETY_STOCK,
    CAUSE_SALE,
    CAUSE_STOCK,
    AlertRecord,
    AvailabilityRecord,
    DeadLetter,
    Withdrawn,
)
from atp.domain.reservations import FULFILL, Phase, Reservation, ReservationEvent
from atp.domain.rules import (
    KIT,
    STOCKED,
    alerts_for,
    day_to_date,
    promisable_units,
    safety_stock_in_force,
    start_of_day_ms,
    stock_status,
    utc_day,
    volatility_safety_stock,
)

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

# A reservation that can no longer change anything is forgotten this long after its last event;
# until then a late duplicate of one of its events is still recognised as one.
RESERVATION_MEMORY_MS = 7 * 86_400_000

UNKNOWN_SKU = "unknown_sku"

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


@pickled_by_position
@dataclass(frozen=True, slots=True)
class EngineRules:
    """The configurable parts of the rules (from :class:`atp.settings.Settings`)."""

    low_stock_threshold: int = 5
    fulfil_grace_ms: int = 15 * 60_000
    dc_safety_stock: int = 0
    store_safety_stock: int = 0
    dynamic_safety_factor: float = 0.0
    sales_window_days: int = 14
    unresolved_wait_ms: int = 60_000
    default_timezone: str = "UTC"
    location_timezones: Mapping[str, str] = field(default_factory=dict)

    def timezone_of(self, location: str) -> str:
        return self.location_timezones.get(location, self.default_timezone)

    def default_safety_stock(self, location_type: str | None) -> int:
        if location_type == DC:
            return self.dc_safety_stock
        if location_type == STORE:
            return self.store_safety_stock
        return max(self.dc_safety_stock, self.store_safety_stock)


@pickled_by_position
@dataclass(slots=True)
class Lot:
    qty: int
    expiry_day: int | None
    position: SourcePosition


@pickled_by_position
@dataclass(slots=True)
class InboundLine:
    open_qty: int
    due_day: int
    position: SourcePosition


# What a location last published, to emit only when something changed:
# (on_hand, unsellable, reserved, committed, safety_stock, available, incoming, next_inbound_day, status)
Published = tuple[int, int, int, int, int, int, int, int | None, str]


@pickled_by_position
@dataclass(slots=True)
class LocationState:
    location_type: str | None = None
    on_hand: int = 0
    quality_hold: int = 0
    stock_position: SourcePosition = ()
    stock_history: list[shipments.Observation] = field(default_factory=list)  # for shipments' decrements
    history_forgotten_through: SourcePosition = ()
    lots: dict[str, Lot] = field(default_factory=dict)
    inbound: dict[str, InboundLine] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    daily_sales: dict[int, int] = field(default_factory=dict)  # UTC day -> net units sold
    version: int = 0
    published: Published | None = None
    # The epoch's open version: what was published when it opened (the epoch's changes share one version,
    # and alerts compare with where the epoch began). Cleared when the epoch closes (SkuState.seal).
    epoch_open: bool = False
    epoch_base: Published | None = None


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Due:
    """A deadline that has passed: what lapsed, and when."""

    at_ms: int
    cause: str
    ref: str


@pickled_by_position
@dataclass(slots=True)
class SkuState:
    sku: str
    item_known: bool = False
    item_type: str = STOCKED
    discontinued: bool = False
    item_position: SourcePosition = ()
    locations: dict[str, LocationState] = field(default_factory=dict)
    # Stock changes seen before the item, per location, in source order (empty once the item is known).
    waiting: dict[str, list[StockLevel]] = field(default_factory=dict)
    waiting_since_ms: int | None = None
    planner_safety_stock: dict[str, tuple[int | None, SourcePosition]] = field(default_factory=dict)
    kits: dict[str, tuple[int, SourcePosition]] = field(default_factory=dict)  # kits using this SKU
    timers_run_to_ms: int = 0
    kit_terms_sent: KitTerms | None = None

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
            out += self._apply_lot(event, now_ms, rules)
        elif isinstance(event, InboundChanged):
            out += self._apply_inbound(event, now_ms, rules)
        elif isinstance(event, SafetyStockChanged):
            out += self._apply_safety_stock(event, now_ms, rules)
        elif isinstance(event, KitComponentChanged):
            out += self._apply_kit_membership(event, now_ms, rules)
        elif isinstance(event, SaleRecorded):
            out += self._apply_sale(event, now_ms, rules)
        elif isinstance(event, StockCorrected):
            out += self._apply_correction(event, now_ms, rules)
        return out + self._kit_terms(event.provenance, _CAUSE_OF.get(type(event), CAUSE_KIT), rules, now_ms)

    def _apply_stock(self, level: StockLevel, now_ms: int, rules: EngineRules) -> list[Output]:
        if not self.item_known:
            self._wait(level, now_ms)
            return []
        location = self._location(level.location)
        # Every level goes into the history, even one that arrives late: it may disprove a shipment's decrement.
        observation = (level.position, level.provenance.source_ts_ms, level.on_hand)
        shipments.record(location.stock_history, location.history_forgotten_through, observation)
        if level.position < location.stock_position:
            return self._publish(level.location, level.provenance, CAUSE_STOCK, now_ms, rules)
        fell = location.stock_position != () and level.on_hand < location.on_hand
        location.stock_position = level.position
        location.location_type = level.location_type
        location.on_hand = level.on_hand
        location.quality_hold = level.quality_hold
        cause = CAUSE_SALE if level.location_type == STORE and fell else CAUSE_STOCK
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
        waiting, self.waiting, self.waiting_since_ms = self.waiting, {}, None
        for location_code in sorted(waiting):
            for level in waiting[location_code]:
                out += self._apply_stock(level, now_ms, rules)
        for location_code in sorted(self.locations):
            out += self._publish(location_code, item.provenance, CAUSE_ITEM, now_ms, rules)
        return out

    def _apply_reservation(self, event: ReservationReceived, now_ms: int, rules: EngineRules) -> list[Output]:
        location = self._location(event.location)
        reservation = location.reservations.get(event.reservation_id)
        if reservation is None:
            reservation = location.reservations[event.reservation_id] = Reservation(event.reservation_id)
        applied = reservation.apply(
            ReservationEvent(
                event.event_id, event.reservation_id, event.op, event.qty, event.expires_at_ms, event.occurred_at_ms
            )
        )
        _forget_old_reservations(location, now_ms, rules.fulfil_grace_ms)
        if not applied:
            return []
        return self._publish(event.location, event.provenance, CAUSE_RESERVATION, now_ms, rules)

    def _apply_lot(self, change: LotChanged, now_ms: int, rules: EngineRules) -> list[Output]:
        location = self._location(change.location)
        known = location.lots.get(change.lot)
        if known is not None and change.position < known.position:
            return []
        if change.qty == 0:
            location.lots.pop(change.lot, None)
        else:
            location.lots[change.lot] = Lot(change.qty, change.expiry_day, change.position)
        return self._publish(change.location, change.provenance, CAUSE_STOCK, now_ms, rules)

    def _apply_inbound(self, change: InboundChanged, now_ms: int, rules: EngineRules) -> list[Output]:
        location = self._location(change.location)
        known = location.inbound.get(change.line)
        if known is not None and change.position < known.position:
            return []
        # A closed line is kept (with no units) so that an older change of it can still be recognised.
        location.inbound[change.line] = InboundLine(change.open_qty, change.due_day, change.position)
        return self._publish(change.location, change.provenance, CAUSE_INBOUND, now_ms, rules)

    def _apply_safety_stock(self, change: SafetyStockChanged, now_ms: int, rules: EngineRules) -> list[Output]:
        known = self.planner_safety_stock.get(change.location)
        if known is not None and change.position < known[1]:
            return []
        self.planner_safety_stock[change.location] = (change.units, change.position)
        codes = sorted(self.locations) if change.location == ALL_LOCATIONS else [change.location]
        if change.location != ALL_LOCATIONS:
            self._location(change.location)
        out: list[Output] = []
        for code in codes:
            out += self._publish(code, change.provenance, CAUSE_SAFETY_STOCK, now_ms, rules)
        return out

    def _apply_kit_membership(self, change: KitComponentChanged, now_ms: int, rules: EngineRules) -> list[Output]:
        """This SKU became (or stopped being) a component of a kit: tell the kit what we have."""
        known = self.kits.get(change.kit_sku)
        if known is not None and change.position < known[1]:
            return []
        self.kits[change.kit_sku] = (change.qty_per_kit, change.position)
        if change.qty_per_kit <= 0:
            return []
        out: list[Output] = []
        for code, location in sorted(self.locations.items()):
            if location.published is not None:
                out.append(_supply(change.kit_sku, self.sku, code, location.published, change.provenance, CAUSE_KIT))
        return out

    def _apply_sale(self, sale: SaleRecorded, now_ms: int, rules: EngineRules) -> list[Output]:
        if rules.dynamic_safety_factor <= 0:
            return []  # the dynamic rule is off: no need to remember sales
        location = self._location(sale.store)
        day = utc_day(sale.sold_at_ms)
        location.daily_sales[day] = location.daily_sales.get(day, 0) + sale.qty
        newest = max(location.daily_sales)
        for old in [d for d in location.daily_sales if d <= newest - rules.sales_window_days]:
            del location.daily_sales[old]
        return self._publish(sale.store, sale.provenance, CAUSE_SAFETY_STOCK, now_ms, rules)

    def _apply_correction(self, fix: StockCorrected, now_ms: int, rules: EngineRules) -> list[Output]:
        """A reconciliation repair, if the location still shows what the drift was found against."""
        known = self.locations.get(fix.location)
        changed_since = known is not None and (known.version != fix.observed_version or known.epoch_open)
        if not self.item_known or changed_since or (known is None and fix.observed_version != 0):
            return []  # changed since: the drift may be gone, and the next reconciliation re-checks
        location = self._location(fix.location)
        location.stock_position = _just_after(location.stock_position)
        observation = (location.stock_position, fix.provenance.source_ts_ms, fix.on_hand)
        shipments.record(location.stock_history, location.history_forgotten_through, observation)
        location.location_type = fix.location_type
        location.on_hand = fix.on_hand
        location.quality_hold = fix.quality_hold
        if fix.location_type == DC:
            corrected = {lot: (qty, expiry) for lot, qty, expiry in fix.lots}
            for lot in {*location.lots, *corrected}:
                qty, expiry = corrected.get(lot, (0, None))  # a lot the ERP no longer has: kept at zero, so
                known_lot = location.lots.get(lot)  # an older change of it is still recognised as older
                location.lots[lot] = Lot(qty, expiry, _just_after(known_lot.position if known_lot else ()))
        return self._publish(fix.location, fix.provenance, CAUSE_RECONCILE, now_ms, rules)

    # -- time -----------------------------------------------------------------------------------

    def on_timer(self, now_ms: int, rules: EngineRules) -> list[Output]:
        """Publish what deadlines passed since the last call changed (holds, lots, grace, waiting stock)."""
        since, self.timers_run_to_ms = self.timers_run_to_ms, max(self.timers_run_to_ms, now_ms)
        out: list[Output] = self._give_up_waiting(now_ms, rules)
        if not self.item_known or now_ms <= since:
            return out
        for code, location in sorted(self.locations.items()):
            due = [d for d in self._deadlines(code, location, rules) if since < d.at_ms <= now_ms]
            if due:
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
        for code, location in self.locations.items():
            for due in self._deadlines(code, location, rules):
                if due.at_ms > self.timers_run_to_ms and (soonest is None or due.at_ms < soonest):
                    soonest = due.at_ms
        return soonest

    def _deadlines(self, code: str, location: LocationState, rules: EngineRules) -> list[Due]:
        deadlines = []
        for reservation in location.reservations.values():
            ends = reservation.deadlines_ms(rules.fulfil_grace_ms)
            if ends.hold_lapses_ms is not None:
                deadlines.append(Due(ends.hold_lapses_ms, CAUSE_EXPIRY, f"timer: hold {reservation.reservation_id}"))
            if ends.grace_ends_ms is not None:
                ref = f"timer: fulfil grace {reservation.reservation_id}"
                deadlines.append(Due(ends.grace_ends_ms, CAUSE_EXPIRY, ref))
        zone = rules.timezone_of(code)
        for lot_no, lot in location.lots.items():
            if lot.expiry_day is not None:
                ref = f"timer: lot {lot_no} expires {day_to_date(lot.expiry_day)} {zone}"
                deadlines.append(Due(start_of_day_ms(lot.expiry_day, zone), CAUSE_LOT_EXPIRY, ref))
        return deadlines

    def _give_up_waiting(self, now_ms: int, rules: EngineRules) -> list[Output]:
        """Stock for a SKU the ERP never described is dead-lettered after the wait, not kept forever."""
        if self.waiting_since_ms is None or now_ms < self.waiting_since_ms + rules.unresolved_wait_ms:
            return []
        error = f"no ITEM_MASTER row for {self.sku} after {rules.unresolved_wait_ms // 1000}s"
        letters: list[Output] = [
            _unknown_sku_letter(level, error, now_ms) for _, queue in sorted(self.waiting.items()) for level in queue
        ]
        self.waiting, self.waiting_since_ms = {}, None
        return letters

    # -- publishing -----------------------------------------------------------------------------

    def _location(self, code: str) -> LocationState:
        location = self.locations.get(code)
        if location is None:
            location = self.locations[code] = LocationState()
        return location

    def _wait(self, level: StockLevel, now_ms: int) -> None:
        """Keep ``level`` in source order; a re-delivered one (same position) is kept once."""
        queue = self.waiting.setdefault(level.location, [])
        if any(held.position == level.position for held in queue):
            return
        queue.append(level)
        queue.sort(key=lambda held: held.position)
        if self.waiting_since_ms is None:
            self.waiting_since_ms = now_ms

    def figures(self, code: str, now_ms: int, rules: EngineRules) -> Published:
        """What the location would publish now."""
        location = self.locations[code]
        _refresh_shipments(location, now_ms, rules.fulfil_grace_ms)
        zone = rules.timezone_of(code)
        expired = sum(
            lot.qty
            for lot in location.lots.values()
            if lot.expiry_day is not None and now_ms >= start_of_day_ms(lot.expiry_day, zone)
        )
        unsellable = min(location.on_hand, location.quality_hold + expired)
        grace = rules.fulfil_grace_ms
        reserved = sum(r.reserved(now_ms, grace) for r in location.reservations.values())
        committed = sum(r.committed(now_ms, grace) for r in location.reservations.values())
        safety_stock = self._safety_stock(code, location, rules)
        open_lines = [line for line in location.inbound.values() if line.open_qty > 0]
        incoming = sum(line.open_qty for line in open_lines)
        next_inbound_day = min((line.due_day for line in open_lines), default=None)
        available = promisable_units(
            self.item_type,
            self.discontinued,
            location.on_hand,
            unsellable,
            reserved,
            committed,
            safety_stock,
            incoming,
        )
        status = stock_status(self.item_type, self.discontinued, available, incoming, rules.low_stock_threshold)
        return (
            location.on_hand,
            unsellable,
            reserved,
            committed,
            safety_stock,
            available,
            incoming,
            next_inbound_day,
            status,
        )

    def _safety_stock(self, code: str, location: LocationState, rules: EngineRules) -> int:
        at_location = self.planner_safety_stock.get(code, (None, ()))[0]
        everywhere = self.planner_safety_stock.get(ALL_LOCATIONS, (None, ()))[0]
        dynamic = 0
        if rules.dynamic_safety_factor > 0 and location.daily_sales:
            newest = max(location.daily_sales)
            window = range(newest - rules.sales_window_days + 1, newest + 1)
            daily = [max(0, location.daily_sales.get(day, 0)) for day in window]
            dynamic = volatility_safety_stock(daily, rules.dynamic_safety_factor)
        default = rules.default_safety_stock(location.location_type)
        return safety_stock_in_force(at_location, everywhere, default, dynamic)

    def _publish(self, code: str, provenance: Provenance, cause: str, now_ms: int, rules: EngineRules) -> list[Output]:
        if not self.item_known or self.item_type == KIT:
            return []  # kits publish from their components (atp.domain.kits)
        location = self.locations[code]
        published = self.figures(code, now_ms, rules)
        if published == location.published:
            return []
        if not location.epoch_open:
            location.epoch_open, location.epoch_base = True, location.published
            location.version += 1
        location.published = published
        base = location.epoch_base
        supplies: list[Output] = [
            _supply(kit_sku, self.sku, code, published, provenance, cause)
            for kit_sku, (per_kit, _) in sorted(self.kits.items())
            if per_kit > 0
        ]
        withdrawn = published == base  # back where the epoch began: the version it opened is withdrawn
        if withdrawn:
            location.epoch_open, location.epoch_base = False, None
            location.version -= 1
        on_hand, unsellable, reserved, committed, safety_stock, available, incoming, next_day, status = published
        record = AvailabilityRecord(
            sku=self.sku,
            location=code,
            on_hand=on_hand,
            unsellable=unsellable,
            reserved=reserved,
            committed=committed,
            safety_stock=safety_stock,
            available=available,
            incoming=incoming,
            next_inbound_date=day_to_date(next_day),
            status=status,
            version=location.version,
            source_ts_ms=provenance.source_ts_ms,
            computed_ts_ms=now_ms,
            cause=cause,
            cause_ref=provenance.cause_ref,
        )
        if withdrawn:
            # The channel steps still need the state it is back to; the publisher drops both.
            return [record, Withdrawn(AVAILABILITY_KIND, record.key), *supplies]
        return [record, *alerts_for(record, base[5] if base else None, rules.low_stock_threshold), *supplies]

    def seal(self) -> None:
        """The epoch closed: its versions are published; the next change opens a new one."""
        for location in self.locations.values():
            if location.epoch_open:
                location.epoch_open, location.epoch_base = False, None

    def _kit_terms(self, provenance: Provenance, cause: str, rules: EngineRules, now_ms: int) -> list[Output]:
        """For a kit SKU: its own terms (status, planner safety stock, holds), sent on when they change."""
        if not self.item_known or self.item_type != KIT:
            return []
        grace = rules.fulfil_grace_ms
        reserved, committed = [], []
        for code, location in sorted(self.locations.items()):
            _refresh_shipments(location, now_ms, grace)  # kits never reach figures(), where other SKUs refresh
            held = sum(r.reserved(now_ms, grace) for r in location.reservations.values())
            ordered = sum(r.committed(now_ms, grace) for r in location.reservations.values())
            if held:
                reserved.append((code, held))
            if ordered:
                committed.append((code, ordered))
        planner = tuple(sorted((code, units) for code, (units, _) in self.planner_safety_stock.items() if units))
        sent = self.kit_terms_sent
        if sent is not None and (sent.discontinued, sent.planner_safety_stock, sent.reserved, sent.committed) == (
            self.discontinued,
            planner,
            tuple(reserved),
            tuple(committed),
        ):
            return []
        self.kit_terms_sent = KitTerms(
            self.sku, self.discontinued, planner, tuple(reserved), tuple(committed), provenance, cause
        )
        return [self.kit_terms_sent]


def _supply(
    kit_sku: str, component: str, code: str, published: Published, provenance: Provenance, cause: str
) -> ComponentSupply:
    return ComponentSupply(
        kit_sku=kit_sku,
        component_sku=component,
        location=code,
        available=published[5],
        on_hand=published[0],
        incoming=published[6],
        next_inbound_day=published[7],
        provenance=provenance,
        cause=cause,
    )


def _refresh_shipments(location: LocationState, now_ms: int, grace_ms: int) -> None:
    """Mark which shipments the stock history shows leaving on-hand (and un-mark any it no longer shows)."""
    pending = [
        (r.reservation_id, r.fulfilled_at_ms, r.qty)
        for r in location.reservations.values()
        if FULFILL in r.ops and r.fulfilled_at_ms is not None and now_ms < r.fulfilled_at_ms + grace_ms
    ]
    left = shipments.booked_out(location.stock_history, pending) if pending else set()
    for reservation_id, _, _ in pending:
        location.reservations[reservation_id].decrement_seen = reservation_id in left
    forgotten = shipments.prune(location.stock_history, min((f for _, f, _ in pending), default=None))
    if forgotten is not None:
        location.history_forgotten_through = max(location.history_forgotten_through, forgotten)


def _just_after(position: SourcePosition) -> SourcePosition:
    """A position after ``position`` and before any later change of the row (tuples compare by prefix)."""
    return (*position, 1)


def _forget_old_reservations(location: LocationState, now_ms: int, grace_ms: int) -> None:
    stale = [
        rid
        for rid, r in location.reservations.items()
        if r.last_event_ms < now_ms - RESERVATION_MEMORY_MS and r.is_over(now_ms, grace_ms)
    ]
    for rid in stale:
        del location.reservations[rid]


def _unknown_sku_letter(level: StockLevel, error: str, now_ms: int) -> DeadLetter:
    payload = {
        "sku": level.sku,
        "location": level.location,
        "on_hand": level.on_hand,
        "quality_hold": level.quality_hold,
        "cause_ref": level.provenance.cause_ref,
    }
    return DeadLetter.of_decoded(level.provenance, UNKNOWN_SKU, error, payload, now_ms)

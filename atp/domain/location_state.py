"""What the engine keeps of one SKU at one location, and how each input changes it.

Every change here is guarded by the source position of the row it came from: a change older
than the one already applied is ignored, so inputs that race, repeat or reorder converge.
Each function reports whether the location changed (or the cause to publish with); what that
does to the published figures is :mod:`atp.domain.location_figures`' business.
"""

from __future__ import annotations

import dataclasses
import operator
import pickle
from dataclasses import dataclass, field

from atp.domain import shipments
from atp.domain.compact import pickled_by_position
from atp.domain.events import (
    DC,
    STORE,
    InboundChanged,
    LotChanged,
    ReservationReceived,
    SaleRecorded,
    SourcePosition,
    StockCorrected,
    StockLevel,
)
from atp.domain.published_availability import KeptFigures, PublishedAvailability, published_figures
from atp.domain.records import CAUSE_SALE, CAUSE_STOCK
from atp.domain.reservations import Reservation, ReservationEvent
from atp.domain.rules import utc_day

# A reservation that can no longer change anything is forgotten this long after its last event;
# until then a late duplicate of one of its events is still recognised as one.
RESERVATION_MEMORY_MS = 7 * 86_400_000


@pickled_by_position
@dataclass(slots=True)
class Lot:
    qty: int
    expiry_day: int | None  # days since 1970-01-01; None: never expires
    position: SourcePosition


@pickled_by_position
@dataclass(slots=True)
class InboundLine:
    open_qty: int  # 0 once the line is closed or received in full
    due_day: int
    position: SourcePosition


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
    published: KeptFigures | None = None  # a plain tuple: see atp.domain.published_availability
    # The epoch's open version: what was published when it opened (the epoch's changes share one version,
    # and alerts compare with where the epoch began). Cleared when the epoch closes (SkuState.seal).
    epoch_open: bool = False
    epoch_base: KeptFigures | None = None

    @property
    def published_figures(self) -> PublishedAvailability | None:
        """What the location last published, by name."""
        return None if self.published is None else published_figures(self.published)


_field_values = operator.attrgetter(*(f.name for f in dataclasses.fields(LocationState)))


class Locations(dict[str, LocationState]):
    """A SKU's locations by code, each pickled again only once it changed.

    A SKU is snapshotted at every epoch one of its locations changed in, and most inputs change
    one location of twenty. Each location keeps its pickle until it is handed out to be changed
    (:meth:`changing`: whoever changes a location gets it from there), so a SKU's snapshot pickles
    what changed and copies the rest's bytes (a fourth of a whole SKU's pickling time on the
    bench's workload). Reading a location (``get``, ``[]``, iterating) does not mark it; putting one in does.
    """

    __slots__ = ("_kept", "_changed")

    def __init__(self, locations: dict[str, LocationState] | None = None) -> None:
        super().__init__(locations or {})
        self._kept: dict[str, bytes] = {}  # code -> the location's pickle, while it has not changed since
        self._changed: set[str] = set()

    def changing(self, code: str) -> LocationState:
        """The location ``code`` (created if new), about to change: its pickle no longer says what it is."""
        self._changed.add(code)
        location = self.get(code)
        if location is None:
            location = self[code] = LocationState()
        return location

    def __setitem__(self, code: str, location: LocationState) -> None:
        self._changed.add(code)  # a location put in place of another: the pickle kept was the other's
        super().__setitem__(code, location)

    def pickles(self) -> dict[str, bytes]:
        """Each location's pickle, taken again for the locations that changed since the last call."""
        kept = self._kept
        for code in self._changed:
            kept.pop(code, None)
        self._changed.clear()
        out = {}
        for code, location in self.items():
            data = kept.get(code)
            if data is None:
                # Its field values (the class is named once, by the SKU): our own recovery store's bytes, read
                # back by locations_from_pickles, trusted pickles.
                data = kept[code] = pickle.dumps(_field_values(location), protocol=pickle.HIGHEST_PROTOCOL)
            out[code] = data
        return out

    def __reduce__(self) -> tuple[object, tuple[dict[str, bytes]]]:
        return locations_from_pickles, (self.pickles(),)


def locations_from_pickles(pickles: dict[str, bytes]) -> Locations:
    """The locations :meth:`Locations.pickles` took, each keeping its pickle until it changes."""
    locations = Locations({code: LocationState(*pickle.loads(data)) for code, data in pickles.items()})
    locations._kept = dict(pickles)
    return locations


def apply_stock_level(location: LocationState, level: StockLevel) -> str:
    """Take a stock level; returns the cause its record is published with (a fall at a store is a sale)."""
    # Every level goes into the history, even one that arrives late: it may disprove a shipment's decrement.
    observation = (level.position, level.provenance.source_ts_ms, level.on_hand)
    shipments.record(location.stock_history, location.history_forgotten_through, observation)
    if level.position < location.stock_position:
        return CAUSE_STOCK
    fell = location.stock_position != () and level.on_hand < location.on_hand
    location.stock_position = level.position
    location.location_type = level.location_type
    location.on_hand = level.on_hand
    location.quality_hold = level.quality_hold
    return CAUSE_SALE if level.location_type == STORE and fell else CAUSE_STOCK


def apply_reservation(
    location: LocationState, event: ReservationReceived, now_ms: int, grace_ms: int
) -> tuple[bool, bool]:
    """Add a reservation event; returns (whether it changed anything, whether it re-used an event id seen with
    other content: a conflicting duplicate, of which only what holds back more is kept)."""
    reservation = location.reservations.get(event.reservation_id)
    if reservation is None:
        reservation = location.reservations[event.reservation_id] = Reservation(event.reservation_id)
    received = ReservationEvent(
        event.event_id, event.reservation_id, event.op, event.qty, event.expires_at_ms, event.occurred_at_ms
    )
    conflicting = reservation.conflicts(received)
    applied = reservation.apply(received, now_ms)
    _forget_old_reservations(location, now_ms, grace_ms)
    return applied, conflicting


def seen_event(location: LocationState, event: ReservationReceived) -> bool:
    """Whether the location has seen ``event``'s id for its reservation."""
    reservation = location.reservations.get(event.reservation_id)
    return reservation is not None and event.event_id in reservation.seen_event_ids


def apply_lot(location: LocationState, change: LotChanged) -> bool:
    """Take a lot's quantity and expiry; False if the change is older than the one applied."""
    known = location.lots.get(change.lot)
    if known is not None and change.position < known.position:
        return False
    if change.qty == 0:
        location.lots.pop(change.lot, None)
    else:
        location.lots[change.lot] = Lot(change.qty, change.expiry_day, change.position)
    return True


def apply_inbound(location: LocationState, change: InboundChanged) -> bool:
    """Take a purchase order line's open units; False if the change is older than the one applied."""
    known = location.inbound.get(change.line)
    if known is not None and change.position < known.position:
        return False
    # A closed line is kept (with no units) so that an older change of it can still be recognised.
    location.inbound[change.line] = InboundLine(change.open_qty, change.due_day, change.position)
    return True


def record_sale(location: LocationState, sale: SaleRecorded, window_days: int) -> None:
    """Count a sale on its UTC day (event time, so replays agree); days outside the window are dropped."""
    day = utc_day(sale.sold_at_ms)
    location.daily_sales[day] = location.daily_sales.get(day, 0) + sale.qty
    newest = max(location.daily_sales)
    for old in [d for d in location.daily_sales if d <= newest - window_days]:
        del location.daily_sales[old]


def apply_correction(location: LocationState, fix: StockCorrected) -> None:
    """Set what reconciliation found in the systems of record, as a change just after the last one seen."""
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

"""Reconciliation: what the systems of record say each SKU at each location should show, and where
the pipeline's published figures differ from it.

Pure: the caller reads the ERP, the POS and the reservation log (``connectors.systems_of_record``)
and the pipeline's latest records (the store), and passes them in with ``now_ms``.

What is compared, per SKU and location:
- ``on_hand``: ERP ``STOCK_BAL.QTY_OH`` at DCs, POS ``store_stock.on_hand`` (by UPC) at stores;
- ``unsellable``: ``QTY_HOLD`` plus units of lots past their expiry day, capped at on-hand;
- ``reserved``: cart holds in the reservation log that are neither lapsed, confirmed nor released;
- ``committed``: orders confirmed and not released. A shipped order counts until its on-hand
  decrement is seen or the fulfilment grace passes, which only the pipeline can tell, so a
  shipment inside its grace makes ``committed`` a range: the pipeline is in drift only outside it;
- ``safety_stock`` and ``available``, by the engine's own rules (not compared while the dynamic
  safety stock rule is on: it depends on the sales history, which a fresh read does not rebuild).

Kits publish figures derived from their components and are not compared themselves; a hold on a
kit counts on its components, as in the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from atp.domain.compact import pickled_by_position
from atp.domain.engine_rules import EngineRules
from atp.domain.events import ALL_LOCATIONS
from atp.domain.kits import component_ids
from atp.domain.reservations import Phase, Reservation, ReservationEvent
from atp.domain.rules import KIT, promisable_units, safety_stock_in_force, start_of_day_ms

FIELDS = ("on_hand", "unsellable", "reserved", "committed", "safety_stock", "available")
# The fields a repair can set: the ones the ERP and POS tables hold. Reservations come from the
# channels' log, which the pipeline reads in full; a drift there is a bug to investigate, not to overwrite.
REPAIRABLE = frozenset({"on_hand", "unsellable"})

Key = tuple[str, str]  # (sku, location)


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Figures:
    on_hand: int = 0
    unsellable: int = 0
    reserved: int = 0
    committed: int = 0
    safety_stock: int = 0
    available: int = 0

    def get(self, name: str) -> int:
        value: int = getattr(self, name)
        return value


@pickled_by_position
@dataclass(frozen=True, slots=True)
class PublishedFigures:
    """The pipeline's latest record for a SKU at a location (from the store)."""

    figures: Figures
    version: int
    source_ts_ms: int


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Lot:
    lot: str
    qty: int
    expiry_day: int | None  # days since 1970-01-01; None: never expires


@pickled_by_position
@dataclass(frozen=True, slots=True)
class StockRow:
    """A stock row of a system of record: ERP ``STOCK_BAL`` (with its lots) or POS ``store_stock``."""

    location_type: str  # DC (the ERP speaks for it) or STORE (the POS does)
    on_hand: int
    quality_hold: int
    changed_ms: int  # the row's own update time (UPD_TS / updated_at)
    lots: tuple[Lot, ...] = ()


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ReservationLogEvent:
    """A reservation event from the log, with its channel SKU already resolved to a SKU."""

    sku: str
    location: str
    event: ReservationEvent


@pickled_by_position
@dataclass(frozen=True, slots=True)
class SourceRead:
    """One fresh read of the systems of record."""

    items: Mapping[str, tuple[str, bool]]  # sku -> (item type, discontinued)
    location_types: Mapping[str, str]  # LOC_CD -> DC or STORE (what a repair of a vanished row says)
    stock: Mapping[Key, StockRow]
    incoming: Mapping[Key, int] = field(default_factory=dict)  # open PO units
    planner_safety_stock: Mapping[Key, int] = field(default_factory=dict)  # location may be '*'
    kit_components: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # kit -> component -> per kit
    reservations: tuple[ReservationLogEvent, ...] = ()


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Expected:
    """What the systems of record say a SKU at a location should show."""

    figures: Figures
    committed_upper: int  # == figures.committed unless a shipment is inside its grace
    changed_ms: int  # when the source last changed for this key (0: unknown)
    compared: frozenset[str]
    stock: StockRow | None  # what a repair sets


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Drift:
    sku: str
    location: str
    field: str
    pipeline_value: int
    source_value: int
    since_ms: int  # the later of the pipeline's record and the source row's last change
    pipeline_version: int  # the record the repair was computed against


def expected_figures(read: SourceRead, now_ms: int, rules: EngineRules) -> dict[Key, Expected]:
    """Per SKU and location that the sources mention, what it should show ``now_ms``."""
    holds = _reservation_units(read, now_ms, rules.fulfil_grace_ms)
    keys = {*read.stock, *holds, *read.incoming}
    expected: dict[Key, Expected] = {}
    for sku, location in sorted(keys):
        item = read.items.get(sku)
        if item is None or item[0] == KIT:
            continue  # an unknown SKU is dead-lettered by the engine; a kit derives from its parts
        item_type, discontinued = item
        row = read.stock.get((sku, location))
        on_hand = row.on_hand if row else 0
        unsellable = min(on_hand, (row.quality_hold + _expired(row, location, now_ms, rules)) if row else 0)
        reserved, committed, committed_upper = holds.get((sku, location), (0, 0, 0))
        safety_stock = _safety_stock(read, sku, location, row, rules)
        incoming = read.incoming.get((sku, location), 0)
        available = promisable_units(
            item_type, discontinued, on_hand, unsellable, reserved, committed, safety_stock, incoming
        )
        compared = set(FIELDS)
        if rules.dynamic_safety_factor > 0:
            compared -= {"safety_stock", "available"}
        if committed_upper != committed:
            compared -= {"available"}
        figures = Figures(on_hand, unsellable, reserved, committed, safety_stock, available)
        changed = row.changed_ms if row else 0
        expected[(sku, location)] = Expected(figures, committed_upper, changed, frozenset(compared), row)
    return expected


def comparable_skus(read: SourceRead) -> frozenset[str]:
    """SKUs the sources can speak for: known to the item master, and not kits."""
    return frozenset(sku for sku, (item_type, _) in read.items.items() if item_type != KIT)


def find_drifts(
    published: Mapping[Key, PublishedFigures], expected: Mapping[Key, Expected], comparable: frozenset[str]
) -> list[Drift]:
    """Every field where the pipeline's latest record differs from the systems of record.

    A key the pipeline never published counts as all zeros, and so does a key the sources no
    longer mention (a deleted or truncated row is a level of zero).
    """
    drifts = []
    for sku, location in sorted({*published, *expected}):
        if sku not in comparable:
            continue
        ours = published.get((sku, location))
        theirs = expected.get((sku, location))
        if ours is None and (theirs is None or _holds_nothing(theirs)):
            continue  # nothing published, nothing to publish: a defaulted safety stock is no drift
        pipeline = ours.figures if ours else Figures()
        source = theirs.figures if theirs else Figures()
        # A key the sources no longer mention has no safety stock to compare (it depends on the row's type).
        compared = theirs.compared if theirs else frozenset(FIELDS) - {"safety_stock"}
        since = max(ours.source_ts_ms if ours else 0, theirs.changed_ms if theirs else 0)
        version = ours.version if ours else 0
        for name in FIELDS:
            if name not in compared:
                continue
            mine, truth = pipeline.get(name), source.get(name)
            if name == "committed" and theirs is not None and truth <= mine <= theirs.committed_upper:
                continue
            if mine != truth:
                drifts.append(Drift(sku, location, name, mine, truth, since, version))
    return drifts


def _expired(row: StockRow, location: str, now_ms: int, rules: EngineRules) -> int:
    zone = rules.timezone_of(location)
    return sum(
        lot.qty for lot in row.lots if lot.expiry_day is not None and now_ms >= start_of_day_ms(lot.expiry_day, zone)
    )


def _safety_stock(read: SourceRead, sku: str, location: str, row: StockRow | None, rules: EngineRules) -> int:
    # Like the engine, a location's type is known from whichever system holds its stock row; without
    # one, the larger default applies.
    return safety_stock_in_force(
        read.planner_safety_stock.get((sku, location)),
        read.planner_safety_stock.get((sku, ALL_LOCATIONS)),
        rules.default_safety_stock(row.location_type if row else None),
        0,
    )


def _reservation_units(read: SourceRead, now_ms: int, grace_ms: int) -> dict[Key, tuple[int, int, int]]:
    """(reserved, committed, committed if every shipment in grace still counted) per SKU and location."""
    book: dict[tuple[str, str, str], Reservation] = {}
    for entry in _exploded(read.reservations, read):
        key = (entry.sku, entry.location, entry.event.reservation_id)
        # The log does not say when the pipeline received each event: taken as received when it occurred, so a
        # FULFILL that reached the pipeline late may show as committed drift until its grace (from receipt) ends.
        book.setdefault(key, Reservation(entry.event.reservation_id)).apply(entry.event, entry.event.occurred_at_ms)
    units: dict[Key, tuple[int, int, int]] = {}
    for (sku, location, _), reservation in book.items():
        phase = reservation.phase(now_ms, grace_ms)
        held = reservation.qty if phase is Phase.HELD else 0
        ordered = reservation.qty if phase is Phase.COMMITTED else 0
        shipped = reservation.qty if phase is Phase.SHIPPED else 0
        reserved, committed, upper = units.get((sku, location), (0, 0, 0))
        units[(sku, location)] = (reserved + held, committed + ordered, upper + ordered + shipped)
    return units


def _exploded(events: Iterable[ReservationLogEvent], read: SourceRead) -> Iterable[ReservationLogEvent]:
    """A hold on a kit also holds its components (as the engine's ``explode_kits`` does)."""
    for entry in events:
        yield entry
        for component, per_kit in sorted(read.kit_components.get(entry.sku, {}).items()):
            if per_kit > 0:
                event = entry.event
                event_id, reservation_id = component_ids(
                    event.event_id, event.reservation_id, entry.sku, component, per_kit
                )
                share = replace(event, event_id=event_id, reservation_id=reservation_id, qty=event.qty * per_kit)
                yield ReservationLogEvent(component, entry.location, share)


def _holds_nothing(expected: Expected) -> bool:
    figures = expected.figures
    return figures.on_hand == figures.reserved == expected.committed_upper == 0

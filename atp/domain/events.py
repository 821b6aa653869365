"""Inputs of the availability engine, already decoded from their sources.

Plain frozen dataclasses: they are built once per input in the hot loop, so no
validation happens here (the decoders in ``connectors.cdc`` validate).

``position`` orders the changes of one source row: the engine ignores a change
whose position is older than the one it already applied for that row, so a
re-delivered or reordered CDC record can never roll a row back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atp.domain.compact import pickled_by_position

# A comparable position in a source's change log: (binlog file, offset, row) for
# MariaDB, (lsn,) for PostgreSQL. Only positions of the same source row are compared.
SourcePosition = tuple[int, ...]

# LOCATION.LOC_TYPE
DC = "D"
STORE = "S"


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an input came from, carried into the output's source_ts_ms and cause_ref.

    ``topic``, ``partition`` and ``offset`` name the Kafka message, so that an input
    that turns out unusable later (an unknown SKU or location) can be dead-lettered
    by its coordinates.
    """

    source_ts_ms: int
    cause_ref: str
    topic: str = ""
    partition: int = -1
    offset: int = -1


@pickled_by_position
@dataclass(frozen=True, slots=True)
class StockLevel:
    """The physical stock of one SKU at one location, as its system of record now states it.

    ERP ``STOCK_BAL`` for DCs (with ``QTY_HOLD`` as quality hold), POS ``store_stock``
    for stores (no holds there). A deleted row is a level of zero.
    """

    sku: str
    location: str
    on_hand: int
    quality_hold: int
    position: SourcePosition
    provenance: Provenance
    location_type: str = DC  # which system of record spoke: ERP for DCs, POS for stores


@pickled_by_position
@dataclass(frozen=True, slots=True)
class StoreStockByUpc:
    """A POS ``store_stock`` row: the POS knows UPCs, so the SKU is resolved later."""

    upc: str
    store: str
    on_hand: int
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ItemChanged:
    """An ``ITEM_MASTER`` row: what kind of item a SKU is and whether it may still be promised."""

    sku: str
    upc: str | None
    previous_upc: str | None
    item_type: str  # 'S' stocked, 'K' kit, 'P' preorder-only
    discontinued: bool
    deleted: bool
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class UpcReleased:
    """A UPC no longer points at ``sku`` (the item was deleted or got another UPC)."""

    upc: str
    sku: str
    position: SourcePosition


@pickled_by_position
@dataclass(frozen=True, slots=True)
class LotChanged:
    """A ``STOCK_LOT`` row: ``qty`` units of a lot that may not be sold from ``expiry_day`` on.

    ``expiry_day`` is days since 1970-01-01 (null: the lot never expires). A deleted
    row is a lot of zero units.
    """

    sku: str
    location: str
    lot: str
    qty: int
    expiry_day: int | None
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class InboundChanged:
    """A ``PO_LINE`` row as supply: ``open_qty`` units not yet received, due on ``due_day``.

    ``open_qty`` is ``QTY_ORD - QTY_RCV`` (never negative) for an open line and 0 for
    a closed, cancelled or deleted one. ``line`` is ``"<PO_NO>/<LINE_NO>"``.
    """

    sku: str
    location: str
    line: str
    open_qty: int
    due_day: int
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class SafetyStockChanged:
    """A ``SAFETY_STK`` planner override; ``location`` may be ``'*'`` (every location).

    ``units`` is None when the override was deleted (the default applies again).
    """

    sku: str
    location: str
    units: int | None
    position: SourcePosition
    provenance: Provenance


ALL_LOCATIONS = "*"


@pickled_by_position
@dataclass(frozen=True, slots=True)
class KitComponentChanged:
    """A ``KIT_COMPONENT`` row: one kit needs ``qty_per_kit`` of the component (0: no longer)."""

    kit_sku: str
    component_sku: str
    qty_per_kit: int
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ListingChanged:
    """A ``CHANNEL_LISTING`` row: the channel sells ``sku`` as ``channel_sku``."""

    channel: str
    channel_sku: str
    sku: str
    active: bool
    deleted: bool
    position: SourcePosition
    provenance: Provenance
    moved: bool = False  # with deleted: the listing left ``sku`` for another item (a row for it follows)


@pickled_by_position
@dataclass(frozen=True, slots=True)
class LocationChanged:
    """A ``LOCATION`` row: a DC or store exists (or no longer does)."""

    location: str
    location_type: str  # DC or STORE
    ship_from: bool
    deleted: bool
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class SaleTicketChanged:
    """A POS ``sale_ticket`` row, without its personal columns: which store sold, and whether it counts."""

    ticket_id: int
    store: str
    status: str  # 'OPEN', 'PAID', 'VOID'
    deleted: bool
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class SaleLineChanged:
    """A POS ``sale_line`` row; ``qty`` is negative for a return. Its store is on the ticket."""

    ticket_id: int
    line_no: int
    upc: str
    qty: int
    deleted: bool
    position: SourcePosition
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class SaleRecorded:
    """Units sold (negative: returned) at a store, once the line's ticket says which store.

    ``sku`` is empty until the UPC has been resolved. ``sold_at_ms`` is the line's commit
    time at the POS, so the sales window is in event time and replays the same.
    """

    upc: str
    store: str
    qty: int
    sold_at_ms: int
    provenance: Provenance
    sku: str = ""


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ReservationReceived:
    """One event of ``orders.reservations``, validated, personal data dropped.

    ``sku`` is empty until the channel SKU has been resolved through ``CHANNEL_LISTING``.
    ``provenance.cause_ref`` is the event id; ``source_ts_ms`` its ``occurred_at``.
    """

    channel: str
    channel_sku: str
    location: str
    event_id: str
    reservation_id: str
    op: str  # HOLD, CONFIRM, RELEASE, FULFILL
    qty: int
    expires_at_ms: int | None  # HOLD only
    occurred_at_ms: int
    provenance: Provenance
    sku: str = ""


@pickled_by_position
@dataclass(frozen=True, slots=True)
class StockCorrected:
    """A reconciliation repair: a stock row as the system of record holds it, read just now.

    ``lots`` are ``(lot, qty, expiry_day)`` (DCs only). The repair was computed against the
    location's record ``observed_version``: if the engine has published anything since, the
    repair is moot (the next reconciliation re-checks). Otherwise it is applied as if it were a
    change just after the last one applied to the row, so any later change of the row still wins
    and an older one is still ignored.
    """

    sku: str
    location: str
    location_type: str
    on_hand: int
    quality_hold: int
    lots: tuple[tuple[str, int, int | None], ...]
    observed_version: int
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class WishChanged:
    """One event of ``orders.wishlist`` about one wish (atp.domain.back_in_stock): WISH, WITHDRAW,
    CONSENT_WITHDRAWN; or FORGET, which the wish-list step makes for each wish of a forgotten customer.

    ``customer_ref`` is the channel's opaque ref, personal data: kept only to go into the notice, never in
    a log line, an error text or ``provenance.cause_ref`` (the event id), and left out of ``repr``.
    """

    channel: str
    channel_sku: str
    wish_id: str
    event_id: str
    op: str
    consent: bool
    occurred_at_ms: int
    provenance: Provenance
    customer_ref: str = field(default="", repr=False)


@pickled_by_position
@dataclass(frozen=True, slots=True)
class CustomerForgotten:
    """A deletion request on ``orders.wishlist`` (op FORGET, written by ``atp forget-customer``): no notice
    for any wish of the customer on any channel from now on. It names the customer by the SHA-256 of their
    ref only (hex), so the request does not write the ref to Kafka again."""

    event_id: str
    occurred_at_ms: int
    provenance: Provenance
    customer_ref_sha256: str


Event = (
    StockLevel
    | StoreStockByUpc
    | ItemChanged
    | UpcReleased
    | LotChanged
    | InboundChanged
    | SafetyStockChanged
    | KitComponentChanged
    | ListingChanged
    | LocationChanged
    | SaleTicketChanged
    | SaleLineChanged
    | SaleRecorded
    | ReservationReceived
    | StockCorrected
    | WishChanged
    | CustomerForgotten
)

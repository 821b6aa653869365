"""The routing table: which inputs of each stream go to which keyed step, under which key.

One ``Route`` per edge of the topology (``flows.availability``): a key function per kind of
input, looked up by the input's exact type (a dict lookup, not a chain of isinstance checks).
A kind a route does not name, or a key function that answers None, is not routed there.

This module imports no Bytewax: the bench's Quix peer routes with the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from atp.domain.back_in_stock import customer_key, customer_sha256
from atp.domain.channels import ChannelFigures, LocationRestamp, LocationSupply
from atp.domain.epoch_batch import EpochOutput, batch_key
from atp.domain.events import (
    CustomerForgotten,
    Event,
    InboundChanged,
    ItemChanged,
    KitComponentChanged,
    ListingChanged,
    LocationChanged,
    LotChanged,
    ReservationReceived,
    SafetyStockChanged,
    SaleLineChanged,
    SaleRecorded,
    SaleTicketChanged,
    StockCorrected,
    StockLevel,
    StoreStockByUpc,
    UpcReleased,
    WishChanged,
)
from atp.domain.inputs import Read
from atp.domain.kits import ComponentSupply, KitTerms
from atp.domain.ledger import DEAD_LETTERED, DEAD_LETTERED_LATER, USED
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter, Withdrawn
from atp.domain.rules import KIT
from atp.domain.transactions import (
    INCOMPLETE_TRANSACTION,
    OVERSIZED_TRANSACTION,
    Released,
    TxChange,
    TxInput,
)

KeyOf = Callable[[Any], str | None]
Keyed = tuple[str, tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class Route:
    """The inputs of one stream that go to one keyed step, and the key each goes under."""

    step: str
    keys: Mapping[type, KeyOf]

    def key(self, value: object) -> str | None:
        key_of = self.keys.get(type(value))
        return None if key_of is None else key_of(value)

    def __call__(self, value: object) -> list[Keyed]:
        """For ``flat_map``: the value under its key (the keyed steps take ``(key, value)``), or nothing."""
        key = self.key(value)
        return [] if key is None else [(key, (key, value))]

    def batch(self, values: list[Any]) -> list[Keyed]:
        """For ``flat_map_batch``: each value it names under its key, in one call for the batch (most values of
        a stream go to no route, so this is mostly a dict look-up per value)."""
        key_of_type = self.keys.get
        out = []
        for value in values:
            key_of = key_of_type(type(value))
            if key_of is not None:
                key = key_of(value)
                if key is not None:
                    out.append((key, (key, value)))
        return out


def keyed(key: str, value: Any) -> Keyed:
    return key, (key, value)


def listing_key(channel: str, channel_sku: str) -> str:
    return f"{channel}/{channel_sku}"


def _sku(value: Any) -> str:
    sku: str = value.sku
    return sku


def _upc(value: Any) -> str | None:
    upc: str | None = value.upc
    return upc


def _location(value: Any) -> str:
    location: str = value.location
    return location


def _listing(value: Any) -> str:
    return listing_key(value.channel, value.channel_sku)


def _kit(value: Any) -> str:
    kit_sku: str = value.kit_sku
    return kit_sku


def _ticket(value: SaleTicketChanged | SaleLineChanged) -> str:
    return str(value.ticket_id)


def _kit_item(item: ItemChanged) -> str | None:
    """An item's own BOM step hears of it only when it is a kit (its type decides whether it explodes)."""
    return item.sku if item.item_type == KIT else None


def _component(change: KitComponentChanged) -> str:
    """A component's availability step learns which kits it is part of."""
    return change.component_sku


# -- the table: <what flows> -> <step> ------------------------------------------------------------

# POS: tickets and their lines meet by ticket; store stock and sales learn their SKU from the UPC.
EVENTS_TO_TICKETS = Route("join_tickets", {SaleTicketChanged: _ticket, SaleLineChanged: _ticket})
EVENTS_TO_UPCS = Route("resolve_upc", {StoreStockByUpc: _upc, UpcReleased: _upc, ItemChanged: _upc})
SALES_TO_UPCS = Route("resolve_upc", {SaleRecorded: _upc})

# Channel reservations: the location must exist, then the listing names the SKU, then a kit explodes.
EVENTS_TO_LOCATIONS = Route("check_location", {ReservationReceived: _location, LocationChanged: _location})
EVENTS_TO_LISTINGS = Route("resolve_listing", {ListingChanged: _listing})
LOCATED_TO_LISTINGS = Route("resolve_listing", {ReservationReceived: _listing})
EVENTS_TO_BOMS = Route("explode_kits", {KitComponentChanged: _kit, ItemChanged: _kit_item})
LISTED_TO_BOMS = Route("explode_kits", {ReservationReceived: _sku})

# Availability per SKU (keyed by SKU, figures per location inside).
EVENTS_TO_SKUS = Route(
    "availability",
    {
        StockLevel: _sku,
        ItemChanged: _sku,
        LotChanged: _sku,
        InboundChanged: _sku,
        SafetyStockChanged: _sku,
        StockCorrected: _sku,
        KitComponentChanged: _component,
    },
)
RESOLVED_TO_SKUS = Route("availability", {StockLevel: _sku, SaleRecorded: _sku, ReservationReceived: _sku})

# Kits: their components' supply and their terms, and their bill of materials.
RECORDS_TO_KITS = Route("kits", {ComponentSupply: _kit, KitTerms: _kit})
EVENTS_TO_KITS = Route("kits", {KitComponentChanged: _kit})

# Channels: availability stamped per location, summed per SKU, then versioned per listing (``to_listing``).
RECORDS_TO_CHANNEL_LOCATIONS = Route("channel_locations", {AvailabilityRecord: _location})
EVENTS_TO_CHANNEL_LOCATIONS = Route("channel_locations", {LocationChanged: _location})
STAMPED_TO_CHANNEL_SUMS = Route("channel_sums", {LocationSupply: _sku, LocationRestamp: _sku})
EVENTS_TO_CHANNEL_SUMS = Route("channel_sums", {ListingChanged: _sku})


def to_listing(channels: frozenset[str]) -> Route:
    """Figures and listings of the configured channels, by listing (other channels get no topic)."""

    def listing_of_configured(value: ChannelFigures | ListingChanged) -> str | None:
        return _listing(value) if value.channel in channels else None

    return Route("listing", {ChannelFigures: listing_of_configured, ListingChanged: listing_of_configured})


def _wisher(value: WishChanged) -> str:
    return customer_key(customer_sha256(value.customer_ref))


def _forgotten(value: CustomerForgotten) -> str:
    return customer_key(value.customer_ref_sha256)


# Back-in-stock: wish events and deletion requests by customer (a digest of the ref), then every wish event by
# listing (``to_listing``), where the listing's channel figure is.
EVENTS_TO_WISH_CUSTOMERS = Route("wish_customers", {WishChanged: _wisher, CustomerForgotten: _forgotten})
# Only the wish events that came through their customer's key (never the raw ones: a deletion request must be
# applied before them).
CUSTOMERS_WISHES_TO_LISTING = Route("listing", {WishChanged: _listing})

# -- inputs: transactions, the ledger ---------------------------------------------------------------


def to_transactions(read: Read) -> list[tuple[str, tuple[str, TxInput]]]:
    """A change that is part of a source transaction, or a transaction's BEGIN/END: to its source's log."""
    decoded = read.decoded
    if decoded.boundary is not None:
        return [keyed(read.source, decoded.boundary)]
    if decoded.transaction is not None:
        tx_id, order = decoded.transaction
        return [keyed(read.source, TxChange(tx_id, order, tuple(decoded.events)))]
    return []


def untransacted_events(read: Read) -> list[Event]:
    """Events that need no transaction: snapshot reads, reservations, repairs (and none of a transaction's)."""
    decoded = read.decoded
    if decoded.transaction is not None or decoded.boundary is not None:
        return []
    return decoded.events


def released_events(value: Released | DeadLetter) -> tuple[Event, ...]:
    return value.events if isinstance(value, Released) else ()


def released_letter(value: Released | DeadLetter) -> DeadLetter | None:
    return value if isinstance(value, DeadLetter) else None


def to_ledger(read: Read) -> tuple[str, tuple[str, tuple[int, str]]]:
    """Each partition's ledger counts the offset once, as used or as dead-lettered."""
    outcome = USED if read.decoded.dead_letter is None else DEAD_LETTERED
    return keyed(f"{read.topic}#{read.partition}", (read.offset, outcome))


# Dead letters about an input that was used: a transaction applied as it stood, or not held whole.
_REPORTS_ON_USED_INPUTS = frozenset({INCOMPLETE_TRANSACTION, OVERSIZED_TRANSACTION})


def late_letter_to_ledger(letter: DeadLetter) -> list[tuple[str, tuple[str, tuple[int, str]]]]:
    """A step's dead letter that names its input: that input's ledger moves it from used to dead-lettered."""
    if letter.offset < 0 or letter.partition < 0 or not letter.source_topic:
        return []
    if letter.reason in _REPORTS_ON_USED_INPUTS:
        return []
    return [keyed(f"{letter.source_topic}#{letter.partition}", (letter.offset, DEAD_LETTERED_LATER))]


# -- outputs ----------------------------------------------------------------------------------------


def is_output(value: object) -> bool:
    return isinstance(value, AvailabilityRecord | AlertRecord | DeadLetter | Withdrawn)


def for_publisher(output: EpochOutput) -> tuple[str, EpochOutput]:
    return batch_key(output), output

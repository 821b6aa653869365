"""Routing between the dataflow's steps: what each input is, and which key of which step it goes to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage

from atp.domain.channels import (
    ChannelFigures,
    ChannelRecord,
)
from atp.domain.epoch_batch import batch_key
from atp.domain.events import (
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
)
from atp.domain.kits import ComponentSupply, KitInput, KitTerms
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter, Withdrawn
from atp.domain.rules import KIT
from atp.domain.sku_state import SkuInput
from atp.domain.transactions import Released, TxChange, TxInput
from atp.domain.upc_resolution import UpcInput
from connectors import topics
from connectors.cdc.decode import (
    TRANSACTION_TOPICS,
    Decoded,
    decode_boundary,
    decode_change,
    masked_payload,
    source_of_topic,
)
from connectors.repairs import decode_repair
from connectors.reservations import decode_reservation
from flows.keyed import Clock
from flows.steps import BomInput, ReferenceInput, Stamped, SumsInput

RawMessage = KafkaSourceMessage[bytes | None, bytes | None]
OutputRecord = AvailabilityRecord | AlertRecord | DeadLetter | ChannelRecord
EngineOutput = OutputRecord | Withdrawn

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Read:
    """One input message, decoded: where it came from, and what it said (or why it cannot be used)."""

    topic: str
    partition: int
    offset: int
    decoded: Decoded


def to_ledger(read: Read) -> tuple[str, tuple[str, tuple[int, bool]]]:
    return keyed(f"{read.topic}#{read.partition}", (read.offset, read.decoded.dead_letter is not None))


def consumer_error(error: KafkaError[bytes | None, bytes | None], clock: Clock) -> DeadLetter:
    msg = error.msg
    return DeadLetter(
        source_topic=msg.topic or "",
        partition=msg.partition or 0,
        offset=msg.offset or -1,
        reason="consumer_error",
        error=str(error.err),
        payload=masked_payload(msg.value),
        at_ms=clock(),
    )


def decoder(clock: Clock) -> Callable[[RawMessage], Read]:
    def decode(msg: RawMessage) -> Read:
        topic, partition, offset = msg.topic or "", msg.partition or 0, msg.offset or 0
        if topic == topics.RESERVATIONS:
            decoded = decode_reservation(topic, partition, offset, msg.value, clock())
        elif topic == topics.RECONCILE:
            decoded = decode_repair(topic, partition, offset, msg.value, clock())
        elif topic in TRANSACTION_TOPICS:
            decoded = decode_boundary(topic, partition, offset, msg.value, clock())
        else:
            decoded = decode_change(topic, partition, offset, msg.value, clock())
        return Read(topic, partition, offset, decoded)

    return decode


def keyed(key: str, value: V) -> tuple[str, tuple[str, V]]:
    return key, (key, value)


def to_transactions(read: Read) -> list[tuple[str, tuple[str, TxInput]]]:
    """A change that is part of a source transaction, or a transaction's BEGIN/END: to its source's log."""
    decoded = read.decoded
    if decoded.boundary is not None:
        return [keyed(source_of_topic(read.topic), decoded.boundary)]
    if decoded.transaction is not None:
        tx_id, order = decoded.transaction
        return [keyed(source_of_topic(read.topic), TxChange(tx_id, order, tuple(decoded.events)))]
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


def for_publisher(output: EngineOutput) -> tuple[str, EngineOutput]:
    return batch_key(output), output


def to_upc(event: Event) -> list[tuple[str, tuple[str, UpcInput]]]:
    if isinstance(event, StoreStockByUpc | UpcReleased):
        return [keyed(event.upc, event)]
    if isinstance(event, ItemChanged) and event.upc is not None:
        return [keyed(event.upc, event)]
    return []


def to_ticket(event: Event) -> list[tuple[str, tuple[str, SaleTicketChanged | SaleLineChanged]]]:
    if isinstance(event, SaleTicketChanged | SaleLineChanged):
        return [keyed(str(event.ticket_id), event)]
    return []


def to_location(event: Event) -> list[tuple[str, tuple[str, ReferenceInput]]]:
    if isinstance(event, ReservationReceived | LocationChanged):
        return [keyed(event.location, event)]
    return []


def listing_key(channel: str, channel_sku: str) -> str:
    return f"{channel}/{channel_sku}"


def listing_change(event: Event) -> list[tuple[str, tuple[str, ReferenceInput]]]:
    if isinstance(event, ListingChanged):
        return [keyed(listing_key(event.channel, event.channel_sku), event)]
    return []


def located_to_listing(
    value: ReservationReceived | DeadLetter,
) -> list[tuple[str, tuple[str, ReferenceInput]]]:
    if isinstance(value, ReservationReceived):
        return [keyed(listing_key(value.channel, value.channel_sku), value)]
    return []


def kit_bom_change(event: Event) -> list[tuple[str, tuple[str, BomInput]]]:
    if isinstance(event, KitComponentChanged):
        return [keyed(event.kit_sku, event)]
    if isinstance(event, ItemChanged) and event.item_type == KIT:
        return [keyed(event.sku, event)]
    return []


def listed_to_bom(value: ReservationReceived | DeadLetter) -> list[tuple[str, tuple[str, BomInput]]]:
    if isinstance(value, ReservationReceived):
        return [keyed(value.sku, value)]
    return []


def erp_to_sku(event: Event) -> list[tuple[str, tuple[str, SkuInput]]]:
    """The SKU a decoded ERP input concerns; a kit component change concerns the component (kits have a step)."""
    if isinstance(event, StockLevel | ItemChanged | LotChanged | InboundChanged | SafetyStockChanged | StockCorrected):
        return [keyed(event.sku, event)]
    if isinstance(event, KitComponentChanged):
        return [keyed(event.component_sku, event)]
    return []


def resolved_to_sku(value: StockLevel | SaleRecorded | ReservationReceived) -> list[tuple[str, tuple[str, SkuInput]]]:
    return [keyed(value.sku, value)]


def to_kit(value: Any) -> list[tuple[str, tuple[str, KitInput]]]:
    if isinstance(value, ComponentSupply | KitTerms | KitComponentChanged):
        return [keyed(value.kit_sku, value)]
    return []


def record_by_location(value: Any) -> list[tuple[str, tuple[str, AvailabilityRecord | LocationChanged]]]:
    if isinstance(value, AvailabilityRecord):
        return [keyed(value.location, value)]
    return []


def location_change(event: Event) -> list[tuple[str, tuple[str, AvailabilityRecord | LocationChanged]]]:
    if isinstance(event, LocationChanged):
        return [keyed(event.location, event)]
    return []


def supply_by_sku(supply: Stamped) -> tuple[str, tuple[str, SumsInput]]:
    return keyed(supply.sku, supply)


def listing_by_sku(event: Event) -> list[tuple[str, tuple[str, SumsInput]]]:
    if isinstance(event, ListingChanged):
        return [keyed(event.sku, event)]
    return []


def for_feed(
    channels: frozenset[str],
) -> Callable[[Any], list[tuple[str, tuple[str, ChannelFigures | ListingChanged]]]]:
    """Figures and listings of the configured channels, keyed by listing (other channels get no topic)."""

    def route(value: Any) -> list[tuple[str, tuple[str, ChannelFigures | ListingChanged]]]:
        if isinstance(value, ChannelFigures | ListingChanged) and value.channel in channels:
            return [keyed(listing_key(value.channel, value.channel_sku), value)]
        return []

    return route


def is_output(value: Any) -> bool:
    return isinstance(value, AvailabilityRecord | AlertRecord | DeadLetter | Withdrawn)


def consumer_errors(item: RawMessage | KafkaError[bytes | None, bytes | None]) -> bool:
    return isinstance(item, KafkaError)

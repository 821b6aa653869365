"""The availability dataflow: Debezium change topics, channel reservations and wish lists in; availability,
alerts, channel figures, back-in-stock notices and dead letters out. It reads as its stages (Bytewax
``@operator`` composition):

    messages ─► decode_inputs ─► commit_order ─► events ─┬─► store_sales_and_stock ─┐
       (dead letters)                (source transactions  ├─► channel_reservations ─┤
                                      whole, in commit      └──────────────────────┴─► sku_availability
                                      order)                                            (availability, kits)
                                                                                              │
                                                            channel_feeds ◄───────────────────┤
                                                                  │                           │
                     wish_customers ─► listings: channel records, promotions, back in stock ──┤
                          publish: each key's last record of an epoch, at its close ◄─────────┘
                          account_inputs: the input ledger (each input used or dead-lettered, once)

Every stateful step may dead-letter an input (its rules, or ``engine_error`` when applying it raised,
``flows.keyed``): each step's dead letters are split from what it passes on, and all of them go to
``publish`` and, naming their input, to the ledger, which then counts that input as dead-lettered.

Keys (``flows.routing`` is the table): ``transactions`` by source database (``erp``, ``pos``),
``resolve_upc`` by UPC, ``join_tickets`` by ticket, ``check_location`` by location,
``resolve_listing`` by channel and channel SKU, ``explode_kits``, ``availability`` and ``kits``
by SKU, ``channel_locations`` by location, ``channel_sums`` by SKU, ``listing`` by listing (channel and
channel SKU: its feed, promotions gate and wishes, one key), ``wish_customers`` by a digest of the customer ref.
Time-driven changes (holds that lapse, lots that expire, fulfilment grace, inputs that waited in
vain for their reference, a channel figure that has held long enough to be promoted) are Bytewax
timers on those keys: ``notify_at`` returns the soonest deadline, and it fires with no further input.

The engine knows no Kafka client, decoder or settings: ``FlowIO`` brings the source, the sink and
the decoders (``connectors``), ``FlowPolicy`` the rules (from settings, ``atp.rule_settings``).
``flows.process`` composes them; ``python -m flows.run`` runs it.

Step ids are part of the stored recovery format: Bytewax keys snapshots by step id (a stage's
steps are ``<stage>.<step>``), so renaming a stage or a stateful step would silently start it from
empty state while the inputs resume from their saved offsets (``flows.state_format``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.dataflow import Dataflow, Stream, operator
from bytewax.inputs import Source
from bytewax.outputs import DynamicSink

from atp.domain.back_in_stock import BackInStockNotice
from atp.domain.channels import ChannelRecord, ChannelRules
from atp.domain.engine_rules import EngineRules
from atp.domain.epoch_batch import EpochOutput
from atp.domain.events import Event, ReservationReceived
from atp.domain.inputs import Read
from atp.domain.promotable import PromotableRecord, PromotionRules
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter
from flows import routing as to
from flows.batch_ops import each, each_many, each_some, kept, only, routed, split, values
from flows.epoch_gate import EpochGate
from flows.keyed import Clock, wall_clock_ms
from flows.steps import (
    Availability,
    ChannelLocations,
    ChannelSumsLogic,
    CheckReference,
    ExplodeKits,
    InputLedgerLogic,
    JoinTickets,
    Kits,
    ListingLogic,
    ResolveUpc,
    TransactionAssembly,
    WishCustomers,
)

RawMessage = KafkaSourceMessage[bytes | None, bytes | None]
ConsumerError = KafkaError[bytes | None, bytes | None]
OutputRecord = AvailabilityRecord | AlertRecord | DeadLetter | ChannelRecord | PromotableRecord | BackInStockNotice
InputDecoder = Callable[[str, int, int, bytes | None, int], Read]  # topic, partition, offset, value, now_ms


@dataclass(frozen=True)
class FlowIO:
    """What the engine reads and writes through, and how it understands what it reads."""

    source: Source[Any]  # Kafka messages, and the consumer's errors
    sink: DynamicSink[OutputRecord]
    decode: InputDecoder
    consumer_error: Callable[[ConsumerError, int], DeadLetter]


@dataclass(frozen=True)
class FlowPolicy:
    """The rules the engine applies."""

    rules: EngineRules
    channel_rules: ChannelRules
    channels: frozenset[str]  # those that get an atp.channel.<channel> and an atp.promotable.<channel> topic
    tx_wait_ms: int
    tx_max_changes: int
    promotion_rules: PromotionRules = PromotionRules()


@dataclass(frozen=True)
class Inputs:
    reads: Stream[Read]
    letters: Stream[DeadLetter]


@dataclass(frozen=True)
class Ordered:
    events: Stream[Event]
    letters: Stream[DeadLetter]


@dataclass(frozen=True)
class FromStores:
    resolved: Stream[Any]  # store stock and sales with their SKU
    letters: Stream[DeadLetter]


@dataclass(frozen=True)
class Reserved:
    reservations: Stream[ReservationReceived]
    letters: Stream[DeadLetter]  # reservations that name no known location or listing, and inputs a step failed on


@dataclass(frozen=True)
class Available:
    records: Stream[Any]  # availability records, alerts, withdrawals, and what the channels and kits take
    kit_records: Stream[Any]
    letters: Stream[DeadLetter]


@dataclass(frozen=True)
class Figured:
    figures: Stream[Any]  # per SKU and channel, the sum over where the channel may fulfil from
    letters: Stream[DeadLetter]


@dataclass(frozen=True)
class Wished:
    wishes: Stream[Any]  # wish events, each once its customer's deletion requests have been applied
    letters: Stream[DeadLetter]


@dataclass(frozen=True)
class Listed:
    records: Stream[Any]  # channel, promotable and back-in-stock records, and withdrawals of them
    letters: Stream[DeadLetter]


def _letters_apart(step_id: str, outputs: Stream[Any]) -> tuple[Stream[Any], Stream[DeadLetter]]:
    """A step's outputs without its dead letters (the routes drop what they do not name), and its dead letters."""
    return split(step_id, outputs, DeadLetter)


def _letters_of(step_id: str, outputs: Stream[Any]) -> Stream[DeadLetter]:
    """A step's dead letters, where what it passes on goes to routes (which drop what they do not name)."""
    return only(step_id, outputs, DeadLetter)


@operator
def decode_inputs(
    step_id: str,
    messages: Stream[Any],
    decode: InputDecoder,
    consumer_error: Callable[[ConsumerError, int], DeadLetter],
    clock: Clock,
) -> Inputs:
    """Each message decoded once; what cannot be used is a dead letter (the ledger counts both: account_inputs)."""
    received, failed = split("consumer_errors_or_not", messages, KafkaError)
    errors = each("consumer_errors", failed, lambda error: consumer_error(error, clock()))
    reads = each("decode", received, lambda m: decode(m.topic or "", m.partition or 0, m.offset or 0, m.value, clock()))
    letters = op.merge("letters", errors, each_some("dead_letters", reads, lambda r: r.decoded.dead_letter))
    return Inputs(reads, letters)


@operator
def commit_order(step_id: str, reads: Stream[Read], clock: Clock, wait_ms: int, max_changes: int) -> Ordered:
    """Each source's changes wait in its log until their transaction is whole and every transaction
    committed before it has gone; then its events go on together, in commit order. Snapshot reads,
    reservations and repairs belong to no transaction and go on at once."""
    released = values(
        "unkey_released",
        op.stateful_batch(
            "transactions",
            each_many("route_to_transactions", reads, to.to_transactions),
            TransactionAssembly.builder_with(clock, wait_ms, max_changes),
        ),
    )
    events = op.merge(
        "events",
        each_many("untransacted_events", reads, to.untransacted_events),
        each_many("transaction_events", released, to.released_events),
    )
    return Ordered(events, each_some("transaction_letters", released, to.released_letter))


@operator
def store_sales_and_stock(step_id: str, events: Stream[Event], clock: Clock, wait_ms: int) -> FromStores:
    """POS sales learn their store from the ticket, then (like store stock) their SKU from the UPC (or, after
    ``wait_ms`` without it, become dead letters)."""
    sales = values(
        "unkey_sales",
        op.stateful_batch(
            "join_tickets", routed("route_to_ticket", events, to.EVENTS_TO_TICKETS), JoinTickets.builder(clock)
        ),
    )
    by_upc = op.merge(
        "upc_inputs",
        routed("route_to_upc", events, to.EVENTS_TO_UPCS),
        routed("route_sales_to_upc", sales, to.SALES_TO_UPCS),
    )
    resolved_or_not = op.stateful_batch("resolve_upc", by_upc, lambda resumed: ResolveUpc(resumed, clock, wait_ms))
    resolved, upc_letters = _letters_apart("upc_letters", values("unkey_resolved", resolved_or_not))
    letters = op.merge("letters", _letters_of("ticket_letters", sales), upc_letters)
    return FromStores(resolved, letters)


@operator
def channel_reservations(step_id: str, events: Stream[Event], clock: Clock, wait_ms: int) -> Reserved:
    """The location must exist, the channel SKU names the SKU, a kit reserves its parts."""
    located = values(
        "unkey_located",
        op.stateful_batch(
            "check_location",
            routed("route_to_location", events, to.EVENTS_TO_LOCATIONS),
            lambda resumed: CheckReference(resumed, clock, False, wait_ms),
        ),
    )
    listing_inputs = op.merge(
        "listing_inputs",
        routed("route_to_listing", events, to.EVENTS_TO_LISTINGS),
        routed("route_located", located, to.LOCATED_TO_LISTINGS),
    )
    listed = values(
        "unkey_listed",
        op.stateful_batch(
            "resolve_listing", listing_inputs, lambda resumed: CheckReference(resumed, clock, True, wait_ms)
        ),
    )
    bom_inputs = op.merge(
        "bom_inputs",
        routed("route_kit_bom", events, to.EVENTS_TO_BOMS),
        routed("route_listed", listed, to.LISTED_TO_BOMS),
    )
    reservations, kit_letters = _letters_apart(
        "kit_letters",
        values("unkey_exploded", op.stateful_batch("explode_kits", bom_inputs, ExplodeKits.builder(clock))),
    )
    letters = op.merge(
        "letters",
        _letters_of("location_rejects", located),
        _letters_of("listing_rejects", listed),
        kit_letters,
    )
    return Reserved(reservations, letters)


@operator
def sku_availability(
    step_id: str,
    events: Stream[Event],
    from_stores: Stream[Any],
    reservations: Stream[ReservationReceived],
    clock: Clock,
    rules: EngineRules,
) -> Available:
    """Per SKU, what each location can promise; kits from their components' supply."""
    by_sku = op.merge(
        "sku_inputs",
        routed("route_to_sku", events, to.EVENTS_TO_SKUS),
        routed("route_store_stock", from_stores, to.RESOLVED_TO_SKUS),
        routed("route_reservations", reservations, to.RESOLVED_TO_SKUS),
    )
    records, sku_letters = _letters_apart(
        "sku_letters",
        values(
            "unkey_records",
            op.stateful_batch("availability", by_sku, lambda resumed: Availability(resumed, clock, rules)),
        ),
    )
    kit_inputs = op.merge(
        "kit_inputs",
        routed("route_to_kit", records, to.RECORDS_TO_KITS),
        routed("route_bom_to_kit", events, to.EVENTS_TO_KITS),
    )
    threshold = rules.low_stock_threshold
    kit_records, kit_letters = _letters_apart(
        "kit_letters",
        values("unkey_kits", op.stateful_batch("kits", kit_inputs, lambda resumed: Kits(resumed, clock, threshold))),
    )
    return Available(records, kit_records, op.merge("letters", sku_letters, kit_letters))


@operator
def channel_feeds(
    step_id: str,
    records: Stream[Any],
    kit_records: Stream[Any],
    events: Stream[Event],
    clock: Clock,
    channel_rules: ChannelRules,
) -> Figured:
    """Availability stamped per location, then summed per SKU over where each channel may fulfil from."""
    by_location = op.merge(
        "channel_location_inputs",
        routed("route_records_to_location", records, to.RECORDS_TO_CHANNEL_LOCATIONS),
        routed("route_kit_records_to_location", kit_records, to.RECORDS_TO_CHANNEL_LOCATIONS),
        routed("route_locations_to_channels", events, to.EVENTS_TO_CHANNEL_LOCATIONS),
    )
    stamped = values(
        "unkey_stamped", op.stateful_batch("channel_locations", by_location, ChannelLocations.builder(clock))
    )
    sums_inputs = op.merge(
        "channel_sum_inputs",
        routed("route_supply_to_sku", stamped, to.STAMPED_TO_CHANNEL_SUMS),
        routed("route_listings_to_sku", events, to.EVENTS_TO_CHANNEL_SUMS),
    )
    figures = values(
        "unkey_figures",
        op.stateful_batch("channel_sums", sums_inputs, lambda resumed: ChannelSumsLogic(resumed, clock, channel_rules)),
    )
    letters = op.merge("letters", _letters_of("location_letters", stamped), _letters_of("sum_letters", figures))
    return Figured(figures, letters)


@operator
def wish_customers(step_id: str, events: Stream[Event], clock: Clock) -> Wished:
    """Wish-list events by customer (a digest of the ref), so a deletion request reaches each of their wishes."""
    by_customer = values(
        "unkey_wishes",
        op.stateful_batch(
            "wish_customers",
            routed("route_to_customer", events, to.EVENTS_TO_WISH_CUSTOMERS),
            WishCustomers.builder(clock),
        ),
    )
    wishes, letters = _letters_apart("customer_letters", by_customer)
    return Wished(wishes, letters)


@operator
def listings(
    step_id: str,
    figures: Stream[Any],
    events: Stream[Event],
    wishes: Stream[Any],
    clock: Clock,
    channels: frozenset[str],
    rules: PromotionRules,
) -> Listed:
    """Per listing, in one keyed step: its channel figure versioned, whether a promotion may advertise it (once
    the figure has held at or above the threshold for the stable time: a timer, with no further input; no longer
    from the moment it falls), and one back-in-stock notice per wish with consent when the figure is back."""
    to_listing = to.to_listing(channels)
    listing_inputs = op.merge(
        "listing_inputs",
        routed("route_figures_to_listing", figures, to_listing),
        routed("route_listings_to_listing", events, to_listing),
        routed("route_wishes_to_listing", wishes, to.CUSTOMERS_WISHES_TO_LISTING),
    )
    records, letters = _letters_apart(
        "listing_letters",
        values(
            "unkey_listing_records",
            op.stateful_batch("listing", listing_inputs, lambda resumed: ListingLogic(resumed, clock, rules)),
        ),
    )
    return Listed(records, letters)


@operator
def account_inputs(step_id: str, reads: Stream[Read], late_letters: Stream[DeadLetter], clock: Clock) -> Stream[Any]:
    """Every input is either used or dead-lettered: the ledger counts which, once per offset (metrics, chaos test).
    An input a step dead-lettered after it was decoded (``late_letters``) moves from used to dead-lettered."""
    counted = op.merge(
        "ledger_inputs",
        each("route_to_ledger", reads, to.to_ledger),
        each_many("route_late_letters", late_letters, to.late_letter_to_ledger),
    )
    ledger = values("unkey_ledger", op.stateful_batch("input_ledger", counted, InputLedgerLogic.builder(clock)))
    return _letters_of("ledger_letters", ledger)


@operator
def publish(step_id: str, outgoing: Stream[EpochOutput], sink: DynamicSink[OutputRecord]) -> None:
    """Each epoch publishes, at its close, the last record of each key: a state every step has finished."""
    op.output("to_kafka", each("key_for_publisher", outgoing, to.for_publisher), EpochGate(sink))


def build_flow(policy: FlowPolicy, io: FlowIO, clock: Clock = wall_clock_ms) -> Dataflow:
    """The availability dataflow over ``io``, applying ``policy``; tests pass a testing source, a list sink, a clock."""
    flow = Dataflow("atp_availability")
    inputs = decode_inputs("decode_inputs", op.input("cdc_in", flow, io.source), io.decode, io.consumer_error, clock)
    ordered = commit_order("commit_order", inputs.reads, clock, policy.tx_wait_ms, policy.tx_max_changes)
    events = ordered.events
    from_stores = store_sales_and_stock("store_sales_and_stock", events, clock, policy.rules.unresolved_wait_ms)
    reserved = channel_reservations("channel_reservations", events, clock, policy.rules.unresolved_wait_ms)
    available = sku_availability(
        "sku_availability", events, from_stores.resolved, reserved.reservations, clock, policy.rules
    )
    figured = channel_feeds(
        "channel_feeds", available.records, available.kit_records, events, clock, policy.channel_rules
    )
    wished = wish_customers("back_in_stock", events, clock)
    listed = listings(
        "listings", figured.figures, events, wished.wishes, clock, policy.channels, policy.promotion_rules
    )
    # Every dead letter a step made: published, and counted by the ledger against the input it names.
    engine_letters = op.merge(
        "engine_letters",
        ordered.letters,
        from_stores.letters,
        reserved.letters,
        available.letters,
        figured.letters,
        wished.letters,
        listed.letters,
    )
    ledger_letters = account_inputs("account_inputs", inputs.reads, engine_letters, clock)
    outgoing: Stream[EpochOutput] = op.merge(
        "outgoing",
        kept("engine_out", available.records, to.is_output),
        available.kit_records,
        listed.records,
        engine_letters,
        inputs.letters,
        ledger_letters,
    )
    publish("publish", outgoing, io.sink)
    return flow

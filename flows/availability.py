"""The availability dataflow: Debezium change topics and channel reservations in; availability,
alerts and dead letters out.

    cdc_in ─► decode ─┬─► dead_letters ──────────────────────────────────────────────────────┐
                      ├─► transactions (per source: whole, in commit order) ─┐                │
                      └─► snapshot reads, reservations, repairs ─────────────┴─► events       │
        sale tickets/lines ─► join_tickets ─┐                                                 │
        store stock, item UPCs ─────────────┴─► resolve_upc ─┐                                │
        reservations ─► check_location ─► resolve_listing ─► explode_kits ─┐                  │
        ERP stock, items, lots, POs, safety stock, kit components ─────────┴─► availability ─┤
                                                   component supply, kit terms ─► kits ──────┤
                     records by location ─► channel_locations ─► channel_sums ─► channel_feed ┤
                                 to_kafka: each key's last record of an epoch, at its close ◄┘

Keys: ``transactions`` by source database (``erp``, ``pos``), ``resolve_upc`` by UPC,
``join_tickets`` by ticket, ``check_location`` by location, ``resolve_listing`` by channel
and channel SKU, ``explode_kits``, ``availability`` and ``kits`` by SKU. Time-driven changes (holds that lapse,
lots that expire, fulfilment grace, inputs that waited in vain for their
reference) are Bytewax timers on those keys: ``notify_at`` returns the soonest
deadline, and it fires with no further input.

Step ids are part of the stored recovery format: Bytewax keys snapshots by
step id, so renaming a stateful step would silently start it from empty state
while the inputs resume from their saved offsets.

Run with ``atp run`` (which adds recovery), or directly:
``python -m flows.run -r .atp/recovery -s 0.2`` (``flows/run.py``: the epoch in fractions of a second).
The process around the flow (settings from the environment, metrics, lag) is made by the factory
``flows.process:flow_from_environment``; building this module's flow starts nothing.
"""

from typing import Any

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaError
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import DynamicSink

from atp.domain.records import DeadLetter
from atp.rule_settings import channel_rules_from, rules_from
from atp.settings import Settings
from connectors import topics
from connectors.epoch_gate import EpochGate
from connectors.kafka_config import client_config
from flows.keyed import Clock, wall_clock_ms
from flows.routing import (
    EngineOutput,
    OutputRecord,
    RawMessage,
    consumer_error,
    consumer_errors,
    decoder,
    erp_to_sku,
    for_feed,
    for_publisher,
    is_output,
    keyed,
    kit_bom_change,
    listed_to_bom,
    listing_by_sku,
    listing_change,
    located_to_listing,
    location_change,
    record_by_location,
    released_events,
    released_letter,
    resolved_to_sku,
    supply_by_sku,
    to_kit,
    to_ledger,
    to_location,
    to_ticket,
    to_transactions,
    to_upc,
    untransacted_events,
)
from flows.steps import (
    Availability,
    ChannelFeedLogic,
    ChannelLocations,
    ChannelSumsLogic,
    CheckReference,
    ExplodeKits,
    InputLedgerLogic,
    JoinTickets,
    Kits,
    ResolveUpc,
    TransactionAssembly,
)

INPUT_TOPICS = topics.INPUT_TOPICS


def _input(
    flow: Dataflow, settings: Settings, source: Source[Any] | None, clock: Clock
) -> tuple[Stream[RawMessage], list[Stream[DeadLetter]]]:
    if source is not None:
        return op.input("cdc_in", flow, source), []
    from connectors.kafka_source import AtpKafkaSource

    config = client_config(settings.kafka)
    read = op.input("cdc_in", flow, AtpKafkaSource(config, list(INPUT_TOPICS), batch_size=1000))
    split = op.branch("consumer_errors_or_not", read, consumer_errors)
    errors: Stream[KafkaError[bytes | None, bytes | None]] = split.trues  # type: ignore[assignment]
    messages: Stream[RawMessage] = split.falses  # type: ignore[assignment]
    return messages, [op.map("consumer_errors", errors, lambda e: consumer_error(e, clock))]


def build_flow(
    settings: Settings,
    source: Source[Any] | None = None,
    sink: DynamicSink[OutputRecord] | None = None,
    clock: Clock = wall_clock_ms,
) -> Dataflow:
    """The availability dataflow; tests pass a testing source of Kafka messages, a list sink and a clock."""
    flow = Dataflow("atp_availability")
    rules = rules_from(settings.engine)
    raw, letters = _input(flow, settings, source, clock)

    decoded = op.map("decode_cdc", raw, decoder(clock))
    letters.append(op.filter_map("dead_letters", decoded, lambda r: r.decoded.dead_letter))

    # Source transactions: each source's changes wait in its log until their transaction is whole and every
    # transaction committed before it has gone; then its events go on together, in commit order.
    released = op.stateful_batch(
        "transactions",
        op.flat_map("route_to_transactions", decoded, to_transactions),
        TransactionAssembly.builder_with(clock, settings.engine.tx_wait_s * 1000, settings.engine.tx_max_changes),
    )
    released_out = op.key_rm("unkey_released", released)
    letters.append(op.filter_map("transaction_letters", released_out, released_letter))
    events = op.merge(
        "events",
        op.flat_map("untransacted_events", decoded, untransacted_events),
        op.flat_map("transaction_events", released_out, released_events),
    )
    # Every input is either used or dead-lettered: the ledger counts which, once per offset (metrics, chaos test).
    op.stateful_batch("input_ledger", op.map("route_to_ledger", decoded, to_ledger), InputLedgerLogic.builder(clock))

    # POS sales learn their store from the ticket, then (like store stock) their SKU from the UPC.
    sales = op.stateful_batch(
        "join_tickets", op.flat_map("route_to_ticket", events, to_ticket), JoinTickets.builder(clock)
    )
    sales_by_upc = op.map("key_sales", op.key_rm("unkey_sales", sales), lambda s: keyed(s.upc, s))
    by_upc = op.merge("upc_inputs", op.flat_map("route_to_upc", events, to_upc), sales_by_upc)
    from_stores = op.key_rm("unkey_resolved", op.stateful_batch("resolve_upc", by_upc, ResolveUpc.builder(clock)))

    # Channel reservations: the location must exist, the channel SKU names the SKU, a kit reserves its parts.
    wait_ms = rules.unresolved_wait_ms
    located = op.stateful_batch(
        "check_location",
        op.flat_map("route_to_location", events, to_location),
        lambda resumed: CheckReference(resumed, clock, False, wait_ms),
    )
    located_out = op.key_rm("unkey_located", located)
    listing_inputs = op.merge(
        "listing_inputs",
        op.flat_map("route_to_listing", events, listing_change),
        op.flat_map("route_located", located_out, located_to_listing),
    )
    listed = op.key_rm(
        "unkey_listed",
        op.stateful_batch(
            "resolve_listing", listing_inputs, lambda resumed: CheckReference(resumed, clock, True, wait_ms)
        ),
    )
    bom_inputs = op.merge(
        "bom_inputs",
        op.flat_map("route_kit_bom", events, kit_bom_change),
        op.flat_map("route_listed", listed, listed_to_bom),
    )
    reservations = op.key_rm(
        "unkey_exploded", op.stateful_batch("explode_kits", bom_inputs, ExplodeKits.builder(clock))
    )

    by_sku = op.merge(
        "sku_inputs",
        op.flat_map("route_to_sku", events, erp_to_sku),
        op.flat_map("route_store_stock", from_stores, resolved_to_sku),
        op.flat_map("route_reservations", reservations, resolved_to_sku),
    )
    engine = op.key_rm(
        "unkey_records", op.stateful_batch("availability", by_sku, lambda resumed: Availability(resumed, clock, rules))
    )

    threshold = rules.low_stock_threshold
    kit_inputs = op.merge(
        "kit_inputs", op.flat_map("route_to_kit", engine, to_kit), op.flat_map("route_bom_to_kit", events, to_kit)
    )
    kits = op.key_rm(
        "unkey_kits", op.stateful_batch("kits", kit_inputs, lambda resumed: Kits(resumed, clock, threshold))
    )

    # Channels: availability stamped per location, summed per SKU, versioned per listing.
    by_location = op.merge(
        "channel_location_inputs",
        op.flat_map("route_records_to_location", engine, record_by_location),
        op.flat_map("route_kit_records_to_location", kits, record_by_location),
        op.flat_map("route_locations_to_channels", events, location_change),
    )
    stamped = op.key_rm(
        "unkey_stamped", op.stateful_batch("channel_locations", by_location, ChannelLocations.builder(clock))
    )
    channel_rules = channel_rules_from(settings.channels, settings.engine)
    sums_inputs = op.merge(
        "channel_sum_inputs",
        op.map("route_supply_to_sku", stamped, supply_by_sku),
        op.flat_map("route_listings_to_sku", events, listing_by_sku),
    )
    figures = op.key_rm(
        "unkey_figures",
        op.stateful_batch("channel_sums", sums_inputs, lambda resumed: ChannelSumsLogic(resumed, clock, channel_rules)),
    )
    configured = frozenset(settings.channels.channels)
    feed_inputs = op.merge(
        "channel_feed_inputs",
        op.flat_map("route_figures_to_listing", figures, for_feed(configured)),
        op.flat_map("route_listings_to_feed", events, for_feed(configured)),
    )
    channel_records = op.key_rm(
        "unkey_channel_records", op.stateful_batch("channel_feed", feed_inputs, ChannelFeedLogic.builder(clock))
    )

    outgoing: Stream[EngineOutput] = op.merge(
        "outgoing",
        op.filter("engine_out", engine, is_output),
        kits,
        channel_records,
        op.filter("reference_out", located_out, is_output),
        op.filter("listing_out", listed, is_output),
        *letters,
    )
    if sink is None:
        from connectors.kafka_sink import AtpKafkaSink

        sink = AtpKafkaSink(settings.kafka)
    # Each epoch publishes, at its close, the last record of each key: a state every step has finished.
    op.output("to_kafka", op.map("key_for_publisher", outgoing, for_publisher), EpochGate(sink))
    return flow

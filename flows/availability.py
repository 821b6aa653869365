"""The availability dataflow: Debezium change topics in, `atp.availability` and `atp.dlq` out.

    cdc_in ─► decode_cdc ─┬─► dead_letters ─────────────────────────────────┐
                          └─► events ─┬─► route_to_upc ─► resolve_upc ─┐    │
                                      └─► route_to_sku ◄───────────────┘    │
                                              │                             │
                                         availability (keyed by SKU) ──► to_kafka

Step ids are part of the stored recovery format: Bytewax keys snapshots by
step id, so renaming ``resolve_upc`` or ``availability`` would silently start
that step from empty state while the inputs resume from their saved offsets.

Run with ``atp run`` (which adds recovery), or directly:
``python -m bytewax.run flows.availability:flow -r .atp/recovery -s 1 -b 0``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from typing import Any

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import Sink
from confluent_kafka import OFFSET_BEGINNING

from atp.domain.events import Event, ItemChanged, StockLevel, StoreStockByUpc, UpcReleased
from atp.domain.records import AvailabilityRecord, DeadLetter
from atp.domain.sku_state import SkuState
from atp.domain.upc_resolution import UpcState
from atp.settings import Settings, load_settings
from connectors.cdc.decode import CDC_TOPICS, Decoded, decode_change, masked_payload

RawMessage = KafkaSourceMessage[bytes | None, bytes | None]
OutputRecord = AvailabilityRecord | DeadLetter


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# What reaches the UPC-keyed step: store stock by UPC, and item master changes that (re)assign a UPC.
UpcInput = StoreStockByUpc | ItemChanged | UpcReleased


class ResolveUpc(op.StatefulLogic[UpcInput, StockLevel, UpcState]):
    """Keyed by UPC: joins POS store stock with the item master's UPC -> SKU mapping."""

    def __init__(self, resumed: UpcState | None) -> None:
        # Bytewax hands the builder only the resumed state, not the key: a new UPC's state
        # is created from its first event, which always names the UPC.
        self.state = resumed

    def on_item(self, value: UpcInput) -> tuple[Iterable[StockLevel], bool]:
        if self.state is None:
            self.state = UpcState(value.upc or "")
        if isinstance(value, StoreStockByUpc):
            out = self.state.apply_store_stock(value)
        elif isinstance(value, ItemChanged):
            out = self.state.apply_item(value)
        else:
            out = self.state.apply_release(value)
        return out, (op.StatefulLogic.DISCARD if self.state.is_empty else op.StatefulLogic.RETAIN)

    def snapshot(self) -> UpcState:
        assert self.state is not None
        return copy.deepcopy(self.state)


class Availability(op.StatefulLogic[Event, AvailabilityRecord, SkuState]):
    """Keyed by SKU: every location of the SKU, and the records their changes publish."""

    def __init__(self, resumed: SkuState | None, low_stock_threshold: int) -> None:
        self.state = resumed
        self.low_stock_threshold = low_stock_threshold

    def on_item(self, value: Event) -> tuple[Iterable[AvailabilityRecord], bool]:
        if self.state is None:
            self.state = SkuState(value.sku if isinstance(value, StockLevel | ItemChanged) else "")
        if isinstance(value, StockLevel):
            return self.state.apply_stock(value, _now_ms(), self.low_stock_threshold), op.StatefulLogic.RETAIN
        if isinstance(value, ItemChanged):
            return self.state.apply_item(value, _now_ms(), self.low_stock_threshold), op.StatefulLogic.RETAIN
        return [], op.StatefulLogic.RETAIN

    def snapshot(self) -> SkuState:
        assert self.state is not None
        return copy.deepcopy(self.state)


def _decode(msg: RawMessage) -> Decoded:
    return decode_change(msg.topic or "", msg.partition or 0, msg.offset or 0, msg.value, _now_ms())


def _consumer_error(error: KafkaError[bytes | None, bytes | None]) -> DeadLetter:
    msg = error.msg
    return DeadLetter(
        source_topic=msg.topic or "",
        partition=msg.partition or 0,
        offset=msg.offset or -1,
        reason="consumer_error",
        error=str(error.err),
        payload=masked_payload(msg.value),
        at_ms=_now_ms(),
    )


def _to_upc(event: Event) -> list[tuple[str, UpcInput]]:
    if isinstance(event, StoreStockByUpc | UpcReleased):
        return [(event.upc, event)]
    if isinstance(event, ItemChanged) and event.upc is not None:
        return [(event.upc, event)]
    return []


def _to_sku(event: Event) -> list[tuple[str, Event]]:
    if isinstance(event, StockLevel | ItemChanged):
        return [(event.sku, event)]
    return []


def build_flow(
    settings: Settings, source: Source[Any] | None = None, sink: Sink[OutputRecord] | None = None
) -> Dataflow:
    """The availability dataflow; tests pass a testing source of Kafka messages and a list sink."""
    flow = Dataflow("atp_availability")
    raw: Stream[RawMessage]
    letters: list[Stream[DeadLetter]] = []
    if source is None:
        from bytewax.connectors.kafka import operators as kop

        kafka_in = kop.input(
            "cdc_in",
            flow,
            brokers=[settings.bootstrap_servers],
            topics=list(CDC_TOPICS),
            tail=True,
            starting_offset=OFFSET_BEGINNING,
            batch_size=1000,
        )
        raw = kafka_in.oks
        letters.append(op.map("consumer_errors", kafka_in.errs, _consumer_error))
    else:
        raw = op.input("cdc_in", flow, source)

    decoded = op.map("decode_cdc", raw, _decode)
    letters.append(op.filter_map("dead_letters", decoded, lambda d: d.dead_letter))
    events = op.flat_map("events", decoded, lambda d: d.events)

    by_upc = op.flat_map("route_to_upc", events, _to_upc)
    resolved = op.stateful("resolve_upc", by_upc, ResolveUpc)
    from_stores = op.key_on("key_store_stock", op.key_rm("unkey_resolved", resolved), lambda e: e.sku)
    by_sku = op.merge("sku_inputs", op.flat_map("route_to_sku", events, _to_sku), from_stores)

    threshold = settings.low_stock_threshold
    records = op.stateful("availability", by_sku, lambda resumed: Availability(resumed, threshold))

    outgoing: Stream[OutputRecord] = op.merge("outgoing", op.key_rm("unkey_records", records), *letters)
    if sink is None:
        from connectors.kafka_sink import AtpKafkaSink

        sink = AtpKafkaSink(settings)
    op.output("to_kafka", outgoing, sink)
    return flow


def _flow_from_environment() -> Dataflow:
    return build_flow(load_settings())


def __getattr__(name: str) -> Any:
    # `python -m bytewax.run flows.availability:flow` reads the settings only when the flow is asked for,
    # so importing this module (tests, type checks) needs no environment.
    if name == "flow":
        return _flow_from_environment()
    raise AttributeError(name)

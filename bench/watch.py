"""Watching the output topics from their current end, with the wall time each record arrived.

Records are decoded with fastavro straight from the Confluent wire format (magic byte, 4-byte schema id,
Avro body) against the contract file, which is what the registry holds for these subjects.
"""

from __future__ import annotations

import io
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any

import fastavro
import orjson
from confluent_kafka import Consumer, TopicPartition

from atp.settings import Settings, load_settings
from connectors import avro_contracts, topics
from connectors.kafka_config import client_config

WIRE_HEADER = 5
# Debezium's stock topics, recorded too: where the time goes between the commit and the flow's output.
ERP_STOCK_TOPIC = "erp.erp.STOCK_BAL"
POS_STOCK_TOPIC = "pos.public.store_stock"
CDC_STOCK_TOPICS = (ERP_STOCK_TOPIC, POS_STOCK_TOPIC)


def cdc_stock_marker(key: bytes, value: bytes) -> tuple[str, int | None]:
    """("SKU@LOC" or "STORE@UPC", the on-hand it sets) of a Debezium stock change."""
    row_key = orjson.loads(key)
    after = (orjson.loads(value) or {}).get("after") if value else None
    if "ITEM_NO" in row_key:
        name = f"{row_key['ITEM_NO']}@{str(row_key['LOC_CD']).strip()}"
        return name, int(float(after["QTY_OH"])) if after else None
    return f"{row_key['store_id']}@{row_key['upc']}", int(after["on_hand"]) if after else None


def _availability_schema() -> Any:
    return fastavro.parse_schema(orjson.loads(avro_contracts.schema_text(topics.AVAILABILITY)))


def on_hand_of(value: bytes, schema: Any) -> int:
    record = fastavro.schemaless_reader(io.BytesIO(value[WIRE_HEADER:]), schema, None)
    assert isinstance(record, dict)
    return int(record["on_hand"])


def consumer_at_end(settings: Settings, names: tuple[str, ...]) -> Consumer:
    consumer = Consumer(
        client_config(settings.kafka)
        | {"group.id": "atp-bench-watch", "enable.auto.commit": False, "fetch.wait.max.ms": 5}
    )
    assignment = []
    for topic in names:
        metadata = consumer.list_topics(topic, timeout=10)
        for index in metadata.topics[topic].partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, index), timeout=10)
            assignment.append(TopicPartition(topic, index, high))
    consumer.assign(assignment)
    return consumer


@dataclass
class Arrival:
    """The first ``atp.availability`` record of one key with a given on-hand (set from a watcher thread)."""

    seen_at: float = 0.0  # time.monotonic() when it arrived
    found: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout_s: float, alive: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.found.wait(0.1):
            if time.monotonic() > deadline or not alive():
                return


@contextmanager
def first_availability(settings: Settings, key: str, on_hand: int) -> Iterator[Arrival]:
    """Watch ``atp.availability`` (from its end now) for ``key`` publishing ``on_hand``."""
    arrival = Arrival()
    stop = threading.Event()
    consumer = consumer_at_end(settings, (topics.AVAILABILITY,))
    schema = _availability_schema()
    wanted = key.encode()

    def watch() -> None:
        while not stop.is_set():
            message = consumer.poll(0.05)
            if message is None or message.error() is not None or message.key() != wanted:
                continue
            if on_hand_of(message.value() or b"", schema) == on_hand:
                arrival.seen_at = time.monotonic()
                arrival.found.set()
                return

    thread = threading.Thread(target=watch, name="bench-watch", daemon=True)
    thread.start()
    try:
        yield arrival
    finally:
        stop.set()
        thread.join(5)
        consumer.close()


# -- a recorder process for the latency runs: every record of the watched topics, with its arrival time ------


def _record(
    environment: dict[str, str], names: tuple[str, ...], out: str, ready: ProcessEvent, stop: ProcessEvent
) -> None:
    import os

    os.environ.update(environment)
    settings = load_settings()
    consumer = consumer_at_end(settings, names)
    schema = _availability_schema()
    arrivals: list[tuple[str, str, int, int | None]] = []
    # Touch every partition once so that the assignment is live before the load starts.
    consumer.poll(0.5)
    ready.set()
    while not stop.is_set():
        for message in consumer.consume(1000, 0.05):
            if message.error() is not None:
                continue
            arrived_ms = time.time_ns() // 1_000_000
            topic = message.topic() or ""
            value = message.value() or b""
            if topic in CDC_STOCK_TOPICS:
                key, on_hand = cdc_stock_marker(message.key() or b"{}", value)
            else:
                key = (message.key() or b"").decode()
                on_hand = on_hand_of(value, schema) if topic == topics.AVAILABILITY else None
            arrivals.append((topic, key, arrived_ms, on_hand))
    consumer.close()
    Path(out).write_bytes(orjson.dumps(arrivals))


@dataclass
class Recorder:
    """A separate process (its own GIL) that records every arrival on ``names`` until stopped."""

    names: tuple[str, ...]
    out: Path
    _process: multiprocessing.process.BaseProcess | None = None
    _stop: ProcessEvent | None = None

    def start(self, environment: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")
        ready, self._stop = context.Event(), context.Event()
        self._process = context.Process(
            target=_record, args=(environment, self.names, str(self.out), ready, self._stop), daemon=True
        )
        self._process.start()
        if not ready.wait(60):
            raise TimeoutError("the output recorder did not start within 60 s")

    def stop(self) -> list[tuple[str, str, int, int | None]]:
        assert self._process is not None and self._stop is not None
        self._stop.set()
        self._process.join(120)
        rows = orjson.loads(self.out.read_bytes())
        return [(str(t), str(k), int(ms), None if h is None else int(h)) for t, k, ms, h in rows]

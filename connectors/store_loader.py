"""The store loader: consumes the `atp.*` output topics into ClickHouse in batches.

The dataflow writes only to Kafka; this one process writes the store (and, for
chdb, owns it and answers queries for the CLI and notebooks). That keeps a
multi-process Bytewax cluster free of the store entirely.

Delivery: at-least-once, and idempotent in the store. Order of each cycle:
  1. poll a batch from Kafka;
  2. insert it into ClickHouse (ReplacingMergeTree tables collapse re-deliveries);
  3. only then commit the consumer offsets.
A crash between 2 and 3 re-inserts the batch, which changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException, Message

from atp.errors import StoreError
from atp.metrics import STORE_BATCH_ROWS, STORE_WRITE_ERRORS, STORE_WRITE_SECONDS
from atp.settings import ChannelSettings, KafkaSettings, StoreSettings
from connectors import avro_contracts, topics
from connectors.cdc import reference_rows
from connectors.cdc.decode import masked_payload
from connectors.clickhouse_store import Row, Store, apply_ddl, open_owned_store
from connectors.group_consumer import GroupConsumer
from connectors.kafka_config import client_config
from connectors.secret_files import ensure_secret
from connectors.store_endpoint import serve_store

log = logging.getLogger("atp.loader")

LOADER_GROUP = "atp-store-loader"

# Which store tables each topic feeds.
TABLES_BY_TOPIC: dict[str, tuple[str, ...]] = {
    topics.AVAILABILITY: ("atp.location_availability", "atp.availability_history"),
    topics.DLQ: ("atp.dlq",),
    topics.ALERTS: ("atp.alerts",),
    # ERP reference rows the analysts' nearby views need (coordinates, styles): Debezium JSON, not Avro.
    reference_rows.LOCATIONS_TOPIC: ("atp.erp_location",),
    reference_rows.ITEMS_TOPIC: ("atp.erp_item",),
}
REFERENCE_TOPICS = frozenset({reference_rows.LOCATIONS_TOPIC, reference_rows.ITEMS_TOPIC})


def tables_by_topic(channels: ChannelSettings) -> dict[str, tuple[str, ...]]:
    """The fixed topics, and every configured channel's topic into ``atp.channel_availability``."""
    channel_tables = {topics.channel_topic(c): ("atp.channel_availability",) for c in channels.channels}
    return TABLES_BY_TOPIC | channel_tables


def _clickhouse_value(value: Any) -> Any:
    """Avro logical types come back as datetime/date; ClickHouse JSON input wants text."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def to_store_row(record: dict[str, Any]) -> Row:
    return {k: _clickhouse_value(v) for k, v in record.items()}


class StoreLoader:
    def __init__(self, kafka: KafkaSettings, channels: ChannelSettings, store: Store, batch_size: int = 5000) -> None:
        self._store = store
        self._batch_size = batch_size
        client = avro_contracts.registry_client(kafka)
        self._tables = tables_by_topic(channels)
        self._config = client_config(kafka) | {
            "group.id": LOADER_GROUP,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        self._consumer = GroupConsumer(self._config, list(self._tables))
        self._decoders: dict[str, Callable[[bytes], Any]] = {
            topic: avro_contracts.deserializer(client, topic) for topic in self._tables if topic not in REFERENCE_TOPICS
        }
        self.loaded = 0
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        try:
            while not stop.is_set():
                try:
                    self.load_once()
                except KafkaException as exc:
                    # The broker restarting (e.g. "coordinator load in progress" on commit): rows already
                    # inserted are simply committed later, or re-delivered and collapsed; nothing is lost.
                    log.error("kafka refused the loader (%s); retrying in 1s", exc)
                    stop.wait(1.0)
        finally:
            self._consumer.close()

    def _insert(self, table: str, rows: list[Row]) -> None:
        """Insert, and keep retrying while the store refuses (a server away, a table detached): the batch
        stays in hand and its offsets uncommitted, so an outage of the store delays rows and loses none."""
        pause_s = 0.5
        started = time.perf_counter()
        while True:
            try:
                self._store.insert_rows(table, rows)
                STORE_WRITE_SECONDS.labels(table).observe(time.perf_counter() - started)
                STORE_BATCH_ROWS.labels(table).observe(len(rows))
                return
            except StoreError as exc:
                STORE_WRITE_ERRORS.labels(table).inc()
                if self._stop.is_set():
                    raise
                log.error(
                    "store refused %d row(s) for %s, retrying in %.1fs: %s",
                    len(rows),
                    table,
                    pause_s,
                    exc,
                    extra={"table": table},
                )
                self._stop.wait(pause_s)
                pause_s = min(pause_s * 2, 10.0)

    def load_once(self, timeout_s: float = 0.2) -> int:
        messages = self._consumer.consume(self._batch_size, timeout_s)
        batches: dict[str, list[Row]] = defaultdict(list)
        for message in messages:
            if message.error() is not None:
                log.warning("consumer error: %s", message.error())
                continue
            try:
                row = self._decode(message)
            except Exception as exc:  # noqa: BLE001 - a record we cannot read must not stop the loader
                batches["atp.dlq"].append(self._undecodable(message, exc))
                continue
            if row is None:  # the tombstone after a reference row's delete: the delete said it all
                continue
            for table in self._tables[message.topic() or ""]:
                batches[table].append(row)
        for table, rows in batches.items():
            self._insert(table, rows)
        if messages:
            self._consumer.commit_consumed()
        self.loaded += len(messages)
        return len(messages)

    @staticmethod
    def _undecodable(message: Message, error: Exception) -> Row:
        """A record on an output topic that does not decode: kept in the store's dead letters, not lost."""
        return to_store_row(
            {
                "source_topic": message.topic() or "",
                "partition": message.partition() or 0,
                "offset": message.offset() or 0,
                "reason": "undecodable_output",
                "error": str(error)[:500],
                "payload": masked_payload(message.value()),
                "at_ms": dt.datetime.now(dt.UTC),
            }
        )

    def _decode(self, message: Message) -> Row | None:
        topic = message.topic() or ""
        if topic in REFERENCE_TOPICS:
            return reference_rows.store_row(topic, message.value(), message.offset() or 0)
        record = self._decoders[topic](message.value() or b"")
        return to_store_row(record)


def run_loader(settings: StoreSettings, kafka: KafkaSettings, channels: ChannelSettings, stop: threading.Event) -> None:
    """Own the store, serve queries on it, and load the output topics until ``stop`` is set."""
    store = open_owned_store(settings)
    apply_ddl(store)
    server = (
        None if settings.clickhouse_url else serve_store(store, settings.store_port, ensure_secret(settings.token_file))
    )
    try:
        StoreLoader(kafka, channels, store).run(stop)
    finally:
        if server is not None:
            server.shutdown()
        store.close()

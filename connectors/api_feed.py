"""Keeping the lookup API's read model current from Kafka, beside (never inside) the dataflow.

Reads ``atp.availability`` and every configured ``atp.channel.<channel>`` (Avro, through the schema
registry, like any channel team), and the ERP ``LOCATION`` and ``ITEM_MASTER`` change topics (Debezium
JSON) for the coordinates and styles the nearby answer needs.

The model lives in memory, so every start rebuilds it: first from the store (:mod:`connectors.api_seed`: the
output topics keep 7 days, the store every key), then partitions are assigned directly (no consumer
group, no committed offsets) from the beginning of each topic, and the model keeps the highest version
per key whatever order re-sent records come in. A topic that does not exist yet is looked for again
every :data:`RECHECK_S`.

A record that does not decode is logged with its topic, partition and offset and counted in
``undecodable``; it is not dead-lettered here: the store loader already dead-letters an undecodable
output record, and the dataflow an undecodable change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

# The HTTP client the registry client uses (httpx, or its successor httpx2), whose TransportError it raises.
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from confluent_kafka.schema_registry.error import SchemaRegistryError

from atp.settings import ChannelSettings, KafkaSettings, StoreSettings
from connectors import avro_contracts, topics
from connectors.api_read_model import ReadModel
from connectors.api_seed import seed_when_store_answers
from connectors.cdc.reference_rows import ITEMS_TOPIC, LOCATIONS_TOPIC, item_change, location_change
from connectors.kafka_config import client_config

log = logging.getLogger("atp.api")

RECHECK_S = 5.0


def registry_unavailable(error: Exception) -> bool:
    """The registry could not be asked (down, unreachable, 5xx), as opposed to a record it cannot decode:
    the record is read again later instead of being skipped, or the model would serve an old figure."""
    if isinstance(error, SchemaRegistryError):
        return error.http_status_code >= 500
    return isinstance(error, (httpx.TransportError, OSError))


class ReadModelFeed:
    """Applies every record of the API's topics to ``model``, from the beginning of each."""

    def __init__(
        self,
        kafka: KafkaSettings,
        channels: ChannelSettings,
        model: ReadModel,
        new_consumer: Callable[[dict[str, Any]], Consumer] = Consumer,
        decode_output: Callable[[str, bytes], dict[str, Any]] | None = None,
    ) -> None:
        """``decode_output(topic, value)``: how an Avro output record is read (default: through the registry)."""
        self._model = model
        self._kafka = kafka
        self._channel_topics = tuple(topics.channel_topic(channel) for channel in channels.channels)
        self.wanted = (topics.AVAILABILITY, *self._channel_topics, LOCATIONS_TOPIC, ITEMS_TOPIC)
        # A group id is required by librdkafka even for assigned partitions; nothing is ever committed to it.
        config = client_config(kafka) | {"group.id": "atp-api-read-model", "enable.auto.commit": False}
        self._consumer = new_consumer(config)
        self._assigned: set[str] = set()
        self._registry: SchemaRegistryClient | None = None
        self._decoders: dict[str, Callable[[bytes], Any]] = {}
        self._decode_output = decode_output or self._through_registry
        self.undecodable = 0

    def _through_registry(self, topic: str, value: bytes) -> dict[str, Any]:
        if topic not in self._decoders:
            if self._registry is None:
                self._registry = avro_contracts.registry_client(self._kafka)
            self._decoders[topic] = avro_contracts.deserializer(self._registry, topic)
        record: dict[str, Any] = self._decoders[topic](value)
        return record

    def assign_new_topics(self) -> None:
        """Assign, from their beginning, the partitions of every wanted topic not yet assigned that exists now."""
        metadata = self._consumer.list_topics(timeout=10)
        found = [
            TopicPartition(topic, partition, OFFSET_BEGINNING)
            for topic in self.wanted
            if topic not in self._assigned and topic in metadata.topics and not metadata.topics[topic].error
            for partition in metadata.topics[topic].partitions
        ]
        if found:
            self._consumer.incremental_assign(found)
            self._assigned |= {partition.topic for partition in found}
            log.info("API read model reads %s", ", ".join(sorted({p.topic for p in found})))

    def apply(self, message: Message) -> bool:
        """Apply one message to the model (an undecodable one is logged and counted); False when the schema
        registry could not be reached: the message must be read again."""
        topic = message.topic() or ""
        try:
            if topic == LOCATIONS_TOPIC:
                location = location_change(message.value())
                if location is not None:
                    self._model.apply_location(*location)
            elif topic == ITEMS_TOPIC:
                item = item_change(message.value())
                if item is not None:
                    self._model.apply_item(*item)
            elif message.value() is not None:
                record = self._decode_output(topic, message.value() or b"")
                if topic == topics.AVAILABILITY:
                    self._model.apply_availability(record)
                else:
                    self._model.apply_channel(record)
        except Exception as exc:  # noqa: BLE001 - decoders raise InputError, the registry's its own: none may stop the feed
            if registry_unavailable(exc):
                log.error("schema registry unavailable to the API read model (%s); reading again in 1s", exc)
                return False
            self._undecodable(message, exc)
        return True

    def _rewind(self, unread: Sequence[Message]) -> None:
        """Seek each partition back to its first message in ``unread``."""
        first: dict[tuple[str, int], int] = {}
        for message in unread:
            first.setdefault((message.topic() or "", message.partition() or 0), message.offset() or 0)
        for (topic, partition), offset in first.items():
            self._consumer.seek(TopicPartition(topic, partition, offset))

    def _undecodable(self, message: Message, error: Exception) -> None:
        self.undecodable += 1
        log.warning(
            "API read model could not use %s[%s]@%s: %s", message.topic(), message.partition(), message.offset(), error
        )

    def run(self, stop: threading.Event) -> None:
        checked = 0.0
        try:
            while not stop.is_set():
                try:
                    if len(self._assigned) < len(self.wanted) and time.monotonic() - checked > RECHECK_S:
                        checked = time.monotonic()
                        self.assign_new_topics()
                    batch = self._consumer.consume(1000, 0.2)
                    for index, message in enumerate(batch):
                        if message.error() is None and not self.apply(message):
                            self._rewind([m for m in batch[index:] if m.error() is None])
                            stop.wait(1.0)
                            break
                except KafkaException as exc:
                    log.error("kafka refused the API read model (%s); retrying in 1s", exc)
                    stop.wait(1.0)
        finally:
            self._consumer.close()


def run_feed(
    kafka: KafkaSettings, channels: ChannelSettings, store: StoreSettings, model: ReadModel, stop: threading.Event
) -> None:
    """Seed ``model`` from the store once, then keep it current from the topics until ``stop``."""
    seed_when_store_answers(model, store, stop)
    ReadModelFeed(kafka, channels, model).run(stop)

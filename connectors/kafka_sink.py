"""The dataflow's Kafka output: Avro-encodes engine records and makes sure each one was delivered.

Delivery guarantee: at-least-once. It is wrapped by ``flows.epoch_gate``, which hands
it each epoch's records when the epoch closes; each batch is produced and flushed before
Bytewax commits the epoch; a record the broker did not acknowledge raises, which stops
the flow, and on restart Bytewax resumes from the last snapshot and re-sends
that epoch. Re-sent records carry the same ``version``, so consumers (and the
ClickHouse ReplacingMergeTree tables) see nothing new. (Bytewax's own KafkaSink
ignores delivery failures, so we do not use it.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaError, Message, Producer

from atp.domain.back_in_stock import BackInStockNotice
from atp.domain.channels import ChannelRecord
from atp.domain.promotable import PromotableRecord
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter
from atp.errors import AtpError
from atp.metrics import DEAD_LETTERS, EMITTED_RECORDS, END_TO_END_LATENCY
from atp.settings import KafkaSettings
from connectors import avro_contracts, topics
from connectors.kafka_config import client_config

OutputRecord = AvailabilityRecord | AlertRecord | DeadLetter | ChannelRecord | PromotableRecord | BackInStockNotice

log = logging.getLogger("atp.sink")

# cause_ref prefixes (connectors.cdc.decode, connectors.reservations, the engine's timers) -> where a change began.
_SOURCES = (("erp.", "erp"), ("pos.", "pos"), (topics.RESERVATIONS, "reservations"), ("timer", "timer"))


def source_of(cause_ref: str) -> str:
    """Which clock a record's source time comes from: erp (whole seconds), pos, reservations, timer, reconcile."""
    for prefix, source in _SOURCES:
        if cause_ref.startswith(prefix):
            return source
    return "reconcile" if cause_ref.startswith(topics.RECONCILE) else "other"


class DeliveryFailed(AtpError):
    """The broker did not acknowledge a record within the producer's delivery timeout."""


class _Partition(StatelessSinkPartition[OutputRecord]):
    def __init__(self, kafka: KafkaSettings) -> None:
        self._producer = Producer(
            client_config(kafka)
            | {
                "enable.idempotence": True,  # no duplicates from the producer's own retries
                "linger.ms": 2,
                "compression.type": "lz4",
                "delivery.timeout.ms": 120_000,
            }
        )
        client = avro_contracts.registry_client(kafka)
        self._encode_availability = avro_contracts.serializer(client, topics.AVAILABILITY)
        self._encode_dead_letter = avro_contracts.serializer(client, topics.DLQ)
        self._encode_alert = avro_contracts.serializer(client, topics.ALERTS)
        self._client = client
        self._encode_per_channel: dict[str, Callable[[dict[str, Any]], bytes]] = {}  # by topic
        self._failures: list[str] = []
        self._latency_children: dict[tuple[str, str], Any] = {}

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err}")

    def write_batch(self, items: list[OutputRecord]) -> None:
        sent_to: list[str] = []
        for item in items:
            topic, key, value = self._encode(item)
            self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
            self._producer.poll(0)
            sent_to.append(topic)
        remaining = self._producer.flush(60)
        if remaining or self._failures:
            detail = "; ".join(self._failures[:3]) or f"{remaining} records still unacknowledged"
            raise DeliveryFailed(f"kafka did not acknowledge output records: {detail}")
        self._measure(items, sent_to, time.time_ns() // 1_000_000)

    def _measure(self, items: list[OutputRecord], sent_to: list[str], acknowledged_ms: int) -> None:
        """Count what Kafka acknowledged, and how long after its source commit each change got there."""
        for topic, count in Counter(sent_to).items():
            EMITTED_RECORDS.labels(topic).inc(count)
        for item, topic in zip(items, sent_to, strict=True):
            if isinstance(item, AvailabilityRecord):
                self._latency(topic, item.cause_ref).observe(max(0, acknowledged_ms - item.source_ts_ms) / 1000)
            elif isinstance(item, ChannelRecord) and item.provenance is not None:
                since_ms = acknowledged_ms - item.provenance.source_ts_ms
                self._latency(topic, item.provenance.cause_ref).observe(max(0, since_ms) / 1000)
            elif isinstance(item, DeadLetter):
                DEAD_LETTERS.labels(item.reason, item.source_topic).inc()
                log.warning(
                    "dead-lettered: %s",
                    item.reason,
                    extra={"topic": item.source_topic, "partition": item.partition, "offset": item.offset},
                )

    def _latency(self, topic: str, cause_ref: str) -> Any:
        source = source_of(cause_ref)
        child = self._latency_children.get((topic, source))
        if child is None:
            child = self._latency_children[(topic, source)] = END_TO_END_LATENCY.labels(topic, source)
        return child

    def _encode(self, item: OutputRecord) -> tuple[str, bytes | None, bytes]:
        if isinstance(item, AvailabilityRecord):
            return topics.AVAILABILITY, item.key.encode(), self._encode_availability(item.to_dict())
        if isinstance(item, AlertRecord):
            return topics.ALERTS, item.key.encode(), self._encode_alert(item.to_dict())
        if isinstance(item, ChannelRecord):
            topic = topics.channel_topic(item.channel)
            return topic, item.key.encode(), self._channel_encoder(topic)(item.to_dict())
        if isinstance(item, PromotableRecord):
            topic = topics.promotable_topic(item.channel)
            return topic, item.key.encode(), self._channel_encoder(topic)(item.to_dict())
        if isinstance(item, BackInStockNotice):
            topic = topics.back_in_stock_topic(item.channel)
            return topic, item.key.encode(), self._channel_encoder(topic)(item.to_dict())
        dead: dict[str, Any] = item.to_dict()
        return (
            topics.DLQ,
            f"{item.source_topic}:{item.partition}:{item.offset}".encode(),
            self._encode_dead_letter(dead),
        )

    def _channel_encoder(self, topic: str) -> Callable[[dict[str, Any]], bytes]:
        """The serializer of a per-channel topic (atp.channel.<channel>, atp.promotable.<channel>), made once."""
        encode = self._encode_per_channel.get(topic)
        if encode is None:
            encode = self._encode_per_channel[topic] = avro_contracts.serializer(self._client, topic)
        return encode

    def close(self) -> None:
        self._producer.flush(30)


class AtpKafkaSink(DynamicSink[OutputRecord]):
    """Availability records to ``atp.availability``, alerts to ``atp.alerts``, dead letters to ``atp.dlq``,
    channel records to ``atp.channel.<channel>``, promotable records to ``atp.promotable.<channel>`` and
    back-in-stock notices to ``atp.back-in-stock.<channel>``.

    One producer per process: the publisher's partitions on this process share it.
    """

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self._shared: _Partition | None = None
        self._lock = threading.Lock()

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        with self._lock:
            if self._shared is None:
                self._shared = _Partition(self._kafka)
            return self._shared

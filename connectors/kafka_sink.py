"""The dataflow's Kafka output: Avro-encodes engine records and makes sure each one was delivered.

Delivery guarantee: at-least-once. Each batch is produced and flushed before
Bytewax continues; a record the broker did not acknowledge raises, which stops
the flow, and on restart Bytewax resumes from the last snapshot and re-sends
that epoch. Re-sent records carry the same ``version``, so consumers (and the
ClickHouse ReplacingMergeTree tables) see nothing new. (Bytewax's own KafkaSink
ignores delivery failures, so we do not use it.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaError, Message, Producer

from atp.domain.channels import ChannelRecord
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter
from atp.errors import AtpError
from atp.settings import Settings
from connectors import avro_contracts, topics
from connectors.kafka_config import client_config

OutputRecord = AvailabilityRecord | AlertRecord | DeadLetter | ChannelRecord


class DeliveryFailed(AtpError):
    """The broker did not acknowledge a record within the producer's delivery timeout."""


class _Partition(StatelessSinkPartition[OutputRecord]):
    def __init__(self, settings: Settings) -> None:
        self._producer = Producer(
            client_config(settings)
            | {
                "enable.idempotence": True,  # no duplicates from the producer's own retries
                "linger.ms": 2,
                "compression.type": "lz4",
                "delivery.timeout.ms": 120_000,
            }
        )
        client = avro_contracts.registry_client(settings)
        self._encode_availability = avro_contracts.serializer(client, topics.AVAILABILITY)
        self._encode_dead_letter = avro_contracts.serializer(client, topics.DLQ)
        self._encode_alert = avro_contracts.serializer(client, topics.ALERTS)
        self._client = client
        self._encode_channel: dict[str, Callable[[dict[str, Any]], bytes]] = {}
        self._failures: list[str] = []

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err}")

    def write_batch(self, items: list[OutputRecord]) -> None:
        for item in items:
            topic, key, value = self._encode(item)
            self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
            self._producer.poll(0)
        remaining = self._producer.flush(60)
        if remaining or self._failures:
            detail = "; ".join(self._failures[:3]) or f"{remaining} records still unacknowledged"
            raise DeliveryFailed(f"kafka did not acknowledge output records: {detail}")

    def _encode(self, item: OutputRecord) -> tuple[str, bytes | None, bytes]:
        if isinstance(item, AvailabilityRecord):
            return topics.AVAILABILITY, item.key.encode(), self._encode_availability(item.to_dict())
        if isinstance(item, AlertRecord):
            return topics.ALERTS, item.key.encode(), self._encode_alert(item.to_dict())
        if isinstance(item, ChannelRecord):
            topic = topics.channel_topic(item.channel)
            encode = self._encode_channel.get(topic)
            if encode is None:
                encode = self._encode_channel[topic] = avro_contracts.serializer(self._client, topic)
            return topic, item.key.encode(), encode(item.to_dict())
        dead: dict[str, Any] = item.to_dict()
        return (
            topics.DLQ,
            f"{item.source_topic}:{item.partition}:{item.offset}".encode(),
            self._encode_dead_letter(dead),
        )

    def close(self) -> None:
        self._producer.flush(30)


class AtpKafkaSink(DynamicSink[OutputRecord]):
    """Availability records to ``atp.availability``, alerts to ``atp.alerts``, dead letters to ``atp.dlq``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        return _Partition(self._settings)

"""Feeding partner webhooks from the channel topics, beside (never inside) the dataflow.

A consumer (group ``atp-webhooks``) reads ``atp.channel.<channel>`` for every
channel with an ``ATP_WEBHOOKS`` entry and offers each record to that channel's
:class:`PartnerFeed`, which coalesces, throttles and retries on its own thread.
The dataflow only writes Kafka, so a slow or dead partner can never hold it up.

Offsets are committed only up to the oldest record not yet *settled* (delivered,
superseded by a newer version that was delivered, or dead-lettered to
``atp.dlq`` with reason ``webhook_failed``): a restart re-offers the rest, and
a re-offered version that was already delivered is dropped by the feed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import orjson
from confluent_kafka import Producer, TopicPartition

from atp.domain.records import DeadLetter
from atp.settings import KafkaSettings, WebhookEndpoint, WebhookSettings
from connectors import avro_contracts, topics
from connectors.group_consumer import GroupConsumer
from connectors.kafka_config import client_config
from connectors.partner_payloads import ChannelUpdate
from connectors.webhook_delivery import PartnerFeed, WebhookConfig

log = logging.getLogger("atp.webhooks")

WEBHOOK_GROUP = "atp-webhooks"


def webhook_config(channel: str, endpoint: WebhookEndpoint) -> WebhookConfig:
    secret = endpoint.secret_file.read_text().strip() if endpoint.secret_file else ""
    return WebhookConfig(
        channel=channel,
        url=endpoint.url,
        shape=endpoint.shape,
        auth_header=endpoint.auth_header,
        auth_value=secret,
        rate_per_s=endpoint.rate_per_s,
        burst=endpoint.burst,
        batch_size=endpoint.batch_size,
        timeout_s=endpoint.timeout_s,
        max_attempts=endpoint.max_attempts,
        backoff_base_s=endpoint.backoff_base_s,
        backoff_max_s=endpoint.backoff_max_s,
        options=dict(endpoint.options),
    )


class OffsetTracker:
    """Per partition: the offsets handed out and not yet settled; what is safe to commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[str, int], set[int]] = {}
        self._next: dict[tuple[str, int], int] = {}

    def opened(self, topic: str, partition: int, offset: int) -> None:
        with self._lock:
            self._open.setdefault((topic, partition), set()).add(offset)
            self._next[(topic, partition)] = max(self._next.get((topic, partition), 0), offset + 1)

    def settled(self, topic: str, partition: int, offset: int) -> None:
        with self._lock:
            self._open.get((topic, partition), set()).discard(offset)

    def committable(self) -> list[TopicPartition]:
        with self._lock:
            return [
                TopicPartition(topic, partition, min(self._open[(topic, partition)], default=next_offset))
                for (topic, partition), next_offset in self._next.items()
            ]


def run_webhooks(webhooks: WebhookSettings, kafka: KafkaSettings, stop: threading.Event) -> None:
    """Consume the channel topics of every configured partner until ``stop`` is set."""
    if not webhooks.endpoints:
        return
    tracker = OffsetTracker()
    producer = Producer(client_config(kafka) | {"enable.idempotence": True})
    client = avro_contracts.registry_client(kafka)
    encode_letter = avro_contracts.serializer(client, topics.DLQ)
    feeds: dict[str, PartnerFeed] = {}
    threads = []
    for channel, endpoint in webhooks.endpoints.items():
        topic = topics.channel_topic(channel)

        def dead_letter(update: ChannelUpdate, reason: str, topic: str = topic) -> None:
            letter = DeadLetter(
                source_topic=topic,
                partition=update.partition,
                offset=update.offset,
                reason="webhook_failed",
                error=reason,
                payload=orjson.dumps(_update_dict(update)).decode(),
                at_ms=int(dt.datetime.now(dt.UTC).timestamp() * 1000),
            )
            producer.produce(topics.DLQ, key=f"{topic}:{update.partition}:{update.offset}".encode(),
                             value=encode_letter(letter.to_dict()))  # fmt: skip

        def settled(updates: list[ChannelUpdate], topic: str = topic) -> None:
            # A batch's dead letters are made durable once, before its offsets may be committed.
            if producer.flush(30):  # not durable: leave the offsets uncommitted, a restart offers them again
                log.error(
                    "%s: dead letters were not acknowledged by Kafka; their offsets stay uncommitted",
                    topic,
                    extra={"topic": topic},
                )
                return
            for update in updates:
                tracker.settled(topic, update.partition, update.offset)

        feed = PartnerFeed(webhook_config(channel, endpoint), dead_letter, settled)
        feeds[topic] = feed
        thread = threading.Thread(target=feed.run, args=(stop,), name=f"webhook-{channel}", daemon=True)
        thread.start()
        threads.append(thread)
    decoders = {topic: avro_contracts.deserializer(client, topic) for topic in feeds}
    config = client_config(kafka) | {
        "group.id": WEBHOOK_GROUP,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    consumer = GroupConsumer(config, list(feeds))
    try:
        while not stop.is_set():
            for message in consumer.consume(1000, 0.2):
                if message.error() is not None:
                    continue
                topic = message.topic() or ""
                record: dict[str, Any] = decoders[topic](message.value() or b"")
                partition, offset = message.partition() or 0, message.offset() or 0
                tracker.opened(topic, partition, offset)
                feeds[topic].offer(_update(record, partition, offset))
            committable = tracker.committable()
            if committable:
                consumer.commit(committable)
    finally:
        consumer.close()
        for thread in threads:
            thread.join(timeout=10)
        producer.flush(30)


def _update(record: dict[str, Any], partition: int, offset: int) -> ChannelUpdate:
    return ChannelUpdate(
        channel=record["channel"],
        channel_sku=record["channel_sku"],
        sku=record["sku"],
        available=int(record["available"]),
        status=str(record["status"]),
        version=int(record["version"]),
        partition=partition,
        offset=offset,
    )


def _update_dict(update: ChannelUpdate) -> dict[str, Any]:
    return {
        "channel": update.channel,
        "channel_sku": update.channel_sku,
        "sku": update.sku,
        "available": update.available,
        "version": update.version,
    }

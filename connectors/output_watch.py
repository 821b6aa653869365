"""Watching an output topic from its current end: what the demo and the integration tests read.

A consumer of the public contract, like a channel team's: it decodes through the
schema registry and sees only records written after it was created.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from atp.settings import KafkaSettings
from connectors import avro_contracts
from connectors.kafka_config import client_config

Record = dict[str, Any]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TopicWatcher:
    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.topic = topic
        self._consumer = Consumer(client_config(kafka) | {"group.id": "atp-watcher", "enable.auto.commit": False})
        metadata = self._consumer.list_topics(topic, timeout=10)
        start = []
        for index in metadata.topics[topic].partitions:
            _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, index), timeout=10)
            start.append(TopicPartition(topic, index, high))
        self._consumer.assign(start)
        self._decode = avro_contracts.deserializer(avro_contracts.registry_client(kafka), topic)
        self.seen: list[tuple[str, Record]] = []

    def wait_for(self, matches: Callable[[str, Record], bool], timeout_s: float = 60.0) -> tuple[Record, int]:
        """The first record (key, value) that ``matches``, and the wall time (epoch ms) it arrived."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = self._consumer.poll(0.05)
            if message is None or message.error() is not None:
                continue
            key = (message.key() or b"").decode()
            record = self._decode(message.value() or b"")
            self.seen.append((key, record))
            if matches(key, record):
                return record, now_ms()
        raise TimeoutError(f"no matching record on {self.topic} within {timeout_s:.0f}s")

    def drain(self, quiet_s: float = 2.0) -> list[tuple[str, Record]]:
        """Everything that arrives until the topic has been quiet for ``quiet_s``."""
        last = time.monotonic()
        while time.monotonic() - last < quiet_s:
            message = self._consumer.poll(0.1)
            if message is None or message.error() is not None:
                continue
            last = time.monotonic()
            self.seen.append(((message.key() or b"").decode(), self._decode(message.value() or b"")))
        return self.seen

    def close(self) -> None:
        self._consumer.close()

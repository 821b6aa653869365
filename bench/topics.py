"""The bench's Kafka side: empty the flow's topics, pre-fill its inputs, read watermarks."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from atp.errors import AtpError
from atp.settings import Settings
from bench.shapes import Message
from connectors import topics
from connectors.cdc.decode import TRANSACTION_TOPICS
from connectors.kafka_config import client_config

INPUT_TOPICS = topics.INPUT_TOPICS

Watermarks = dict[tuple[str, int], tuple[int, int]]


class BenchError(AtpError):
    """A bench step could not be carried out (a service missing, a run that never finished)."""


def all_topics(settings: Settings) -> tuple[str, ...]:
    return INPUT_TOPICS + topics.output_topics(settings.channels)


def watermarks(settings: Settings, names: Iterable[str]) -> Watermarks:
    """(low, high) offsets of every partition of ``names``."""
    consumer = Consumer(client_config(settings.kafka) | {"group.id": "atp-bench-watermarks"})
    try:
        marks: Watermarks = {}
        for topic in names:
            metadata = consumer.list_topics(topic, timeout=10)
            for index in metadata.topics[topic].partitions:
                marks[(topic, index)] = consumer.get_watermark_offsets(TopicPartition(topic, index), timeout=10)
        return marks
    finally:
        consumer.close()


def messages_in(marks: Watermarks) -> int:
    return sum(high - low for low, high in marks.values())


def empty_topics(settings: Settings) -> None:
    """Delete every record of the flow's input and output topics (the topics and their offsets stay)."""
    topics.ensure_topics(settings.kafka, tuple(TRANSACTION_TOPICS), partitions=topics.TRANSACTION_PARTITIONS)
    topics.ensure_topics(settings.kafka, all_topics(settings))
    admin = AdminClient(client_config(settings.kafka))
    marks = watermarks(settings, all_topics(settings))
    cut = [TopicPartition(t, p, high) for (t, p), (low, high) in marks.items() if high > low]
    if not cut:
        return
    topics.await_admin(
        admin.delete_records(cut, request_timeout=30),
        lambda partition, exc: BenchError(f"kafka: could not empty {partition.topic}[{partition.partition}]: {exc}"),
    )


class Keyed(Protocol):
    """A message to write: its topic, key and value."""

    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes: ...
    @property
    def value(self) -> bytes: ...


def producer(settings: Settings) -> Producer:
    return Producer(
        client_config(settings.kafka)
        | {"linger.ms": 20, "batch.num.messages": 10000, "queue.buffering.max.messages": 500000, "acks": "all"}
    )


def prefill(settings: Settings, messages: Iterable[Message]) -> int:
    """Write ``messages`` to their topics (keyed, so one source row stays on one partition); returns how many."""
    count, unacknowledged = produce_all(producer(settings), messages)
    if unacknowledged:
        raise BenchError("kafka did not acknowledge every pre-filled message within 120 s")
    return count


def produce_all(out: Producer, messages: Iterable[Keyed]) -> tuple[int, int]:
    """Write every message (waiting while the producer's queue is full); (how many, how many unacknowledged)."""
    count = 0
    for message in messages:
        while True:
            try:
                out.produce(message.topic, key=message.key, value=message.value)
                break
            except BufferError:
                out.poll(0.05)
        count += 1
        if count % 10000 == 0:
            out.poll(0)
    return count, out.flush(120)


def wait_quiet(settings: Settings, names: Iterable[str], quiet_s: float, timeout_s: float) -> int:
    """Wait until ``names`` take no new records for ``quiet_s``; returns how many records they hold."""
    names = tuple(names)
    deadline = time.monotonic() + timeout_s
    last = messages_in(watermarks(settings, names))
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = messages_in(watermarks(settings, names))
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            return now
    raise BenchError(f"topics {', '.join(names)} did not go quiet within {timeout_s:.0f} s")

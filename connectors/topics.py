"""Topic names (contracts.md) and creating them before anything reads or writes them.

Topics are created up front, not auto-created on first write: Bytewax's Kafka
source lists a topic's partitions once at start-up and cannot resume from a
different set, so every input topic must exist (with its final partition
count) before the dataflow first starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from atp.errors import AtpError, ServiceError
from atp.settings import ChannelSettings, KafkaSettings
from connectors.cdc.decode import CDC_TOPICS, TRANSACTION_TOPICS
from connectors.kafka_config import client_config

AVAILABILITY = "atp.availability"
DLQ = "atp.dlq"
ALERTS = "atp.alerts"
CHANNEL_PREFIX = "atp.channel."
# The channel SKUs a promotion may advertise, one topic per channel (atp.domain.promotable).
PROMOTABLE_PREFIX = "atp.promotable."
# Channels' cart holds and orders (JSON, key = reservation_id): an input, written by the channels.
RESERVATIONS = "orders.reservations"
# Reconciliation repairs (JSON, key = sku@location): an input, written by `atp reconcile --repair`.
RECONCILE = "atp.reconcile"
# The dataflow's inputs besides the Debezium change topics.
EVENT_INPUTS = (RESERVATIONS, RECONCILE)
# Everything the dataflow reads: Debezium's change and transaction topics, and the event inputs.
INPUT_TOPICS = (*CDC_TOPICS, *TRANSACTION_TOPICS, *EVENT_INPUTS)

OUTPUT_TOPICS = (AVAILABILITY, DLQ, ALERTS)


def channel_topic(channel: str) -> str:
    """``atp.channel.shopify`` for ``SHOPIFY``."""
    return CHANNEL_PREFIX + channel.lower()


def promotable_topic(channel: str) -> str:
    """``atp.promotable.shopify`` for ``SHOPIFY``."""
    return PROMOTABLE_PREFIX + channel.lower()


def output_topics(channels: ChannelSettings) -> tuple[str, ...]:
    """Every topic the pipeline writes: the fixed ones, and per configured channel its availability and its
    promotable SKUs."""
    return (
        OUTPUT_TOPICS
        + tuple(channel_topic(c) for c in channels.channels)
        + tuple(promotable_topic(c) for c in channels.channels)
    )


# What each input topic keeps, and so what a replay (README, "Replay") can rebuild from:
# - the Debezium change and transaction topics keep every change forever: a replay from the start works on
#   any day, and they hold no personal data (customer_email and loyalty_id are excluded at the source);
# - orders.reservations carries the channels' customer_ref (personal data): it keeps 30 days, in segments of
#   one day, so a customer's ref is gone from Kafka at most 31 days after their last event (Kafka deletes
#   whole segments once their newest record is older than the retention). `atp forget-customer` says when.
KEEP_FOREVER = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
DAY_MS = 24 * 3600 * 1000
RESERVATIONS_RETENTION_MS = 30 * DAY_MS
RESERVATIONS_SEGMENT_MS = DAY_MS
RESERVATIONS_CONFIG = {
    "cleanup.policy": "delete",
    "retention.ms": str(RESERVATIONS_RETENTION_MS),
    "retention.bytes": "-1",
    "segment.ms": str(RESERVATIONS_SEGMENT_MS),
}


def topic_config(topic: str) -> dict[str, str]:
    """The retention settings of ``topic`` (empty: the broker's defaults, 7 days)."""
    if topic in CDC_TOPICS or topic in TRANSACTION_TOPICS:
        return dict(KEEP_FOREVER)
    if topic == RESERVATIONS:
        return dict(RESERVATIONS_CONFIG)
    return {}


# Partitions for the CDC, event input and output topics when ATP_INPUT_PARTITIONS is not set: the unit of
# parallelism of a Bytewax cluster. The topics take settings.kafka.input_partitions; this is its default.
PARTITIONS = 4
# Debezium's transaction topics have one partition: their BEGIN and END records stay in commit order (and
# PostgreSQL's BEGIN and END of one transaction have different keys, so they would land on different partitions).
TRANSACTION_PARTITIONS = 1


def ensure_topics(kafka: KafkaSettings, topics: tuple[str, ...], partitions: int | None = None) -> None:
    """Create whichever of ``topics`` do not exist yet, with their :func:`topic_config`, and set that config
    on those that existed (a topic created before its retention was decided gets it); idempotent.

    ``partitions``: None for ``kafka.input_partitions`` (ATP_INPUT_PARTITIONS). An existing topic keeps its count.
    """
    count = kafka.input_partitions if partitions is None else partitions
    create_configured(AdminClient(client_config(kafka)), topics, count)


def create_configured(admin: AdminClient, topics: tuple[str, ...], partitions: int) -> None:
    """:func:`ensure_topics` through ``admin``."""
    create_missing(
        admin,
        [NewTopic(t, num_partitions=partitions, replication_factor=1, config=topic_config(t)) for t in topics],
        lambda topic, exc: ServiceError(f"kafka: could not create topic {topic}: {exc}"),
        request_timeout=15,
    )
    configured = {t: topic_config(t) for t in topics if topic_config(t)}
    if configured:
        await_admin(
            admin.incremental_alter_configs(
                [
                    ConfigResource(
                        ResourceType.TOPIC,
                        topic,
                        incremental_configs=[
                            ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
                            for name, value in sorted(config.items())
                        ],
                    )
                    for topic, config in configured.items()
                ],
                request_timeout=15,
            ),
            lambda resource, exc: ServiceError(f"kafka: could not set the retention of {resource}: {exc}"),
        )


def create_missing(
    admin: AdminClient,
    wanted: list[NewTopic],
    failure: Callable[[str, Exception], AtpError],
    **timeouts: float,
) -> None:
    """Create whichever of ``wanted`` do not exist yet (``timeouts``: create_topics' own); idempotent.

    A topic a concurrent creator made between our listing and our request is fine; any other
    refusal raises ``failure(topic, exc)``.
    """
    existing = set(admin.list_topics(timeout=10).topics)
    missing = [topic for topic in wanted if topic.topic not in existing]
    if not missing:
        return
    await_admin(admin.create_topics(missing, **timeouts), failure, tolerated="TOPIC_ALREADY_EXISTS")


Subject = TypeVar("Subject")


def await_admin(
    results: Mapping[Subject, Future[Any]],
    failure: Callable[[Subject, Exception], AtpError],
    tolerated: str | None = None,
) -> None:
    """Wait for each result of one admin request (a topic created, a partition emptied); the first that
    failed raises ``failure(subject, exc)``, unless its error names the ``tolerated`` Kafka error code."""
    for subject, future in results.items():
        try:
            future.result()
        except Exception as exc:
            if tolerated is None or tolerated not in str(exc):
                raise failure(subject, exc) from exc

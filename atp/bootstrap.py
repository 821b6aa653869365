"""Bringing the stack to the point where the pipeline can run: services, topics, contracts."""

from __future__ import annotations

from collections.abc import Callable

from atp.settings import Settings
from connectors import avro_contracts, topics
from connectors.cdc.decode import CDC_TOPICS, TRANSACTION_TOPICS

Progress = Callable[[str], None]


def bring_up(settings: Settings, progress: Progress) -> None:
    """Start every service (idempotent), create the topics, register the output contracts."""
    from infra import stack as services

    services.up(settings.stack, settings.kafka, progress)
    # Before the connectors start: Connect would otherwise create the transaction topics with 4 partitions.
    topics.ensure_topics(settings.kafka, tuple(TRANSACTION_TOPICS), partitions=topics.TRANSACTION_PARTITIONS)
    inputs = CDC_TOPICS + topics.EVENT_INPUTS
    topics.ensure_topics(settings.kafka, inputs + topics.output_topics(settings.channels))
    ids = avro_contracts.register_contracts(settings.kafka, settings.channels)
    progress("contracts registered (FULL_TRANSITIVE): " + ", ".join(f"{t}-value id {i}" for t, i in ids.items()))

"""What Kafka keeps, and so what a replay can rebuild and how long a customer's data stays: the change
topics keep everything (they hold no personal data), orders.reservations (customer_ref) 30 days."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from atp.settings import settings_from_fields
from connectors import topics
from connectors.cdc.decode import CDC_TOPICS, TRANSACTION_TOPICS
from connectors.cdc_connectors import erp_config, pos_config


def _done() -> Future[None]:
    future: Future[None] = Future()
    future.set_result(None)
    return future


class _Admin:
    def __init__(self, existing: set[str]) -> None:
        self.topics = dict.fromkeys(existing)
        self.created: dict[str, dict[str, str]] = {}
        self.altered: dict[str, dict[str, str]] = {}

    def list_topics(self, timeout: float) -> _Admin:
        return self

    def create_topics(self, new_topics: list[Any], **options: Any) -> dict[str, Future[None]]:
        self.created |= {t.topic: dict(t.config) for t in new_topics}
        return {t.topic: _done() for t in new_topics}

    def incremental_alter_configs(self, resources: list[Any], **options: Any) -> dict[Any, Future[None]]:
        for resource in resources:
            self.altered[resource.name] = {e.name: e.value for e in resource.incremental_configs}
        return {resource: _done() for resource in resources}


def test_the_change_topics_keep_every_change_and_reservations_30_days() -> None:
    for topic in (*CDC_TOPICS, *TRANSACTION_TOPICS):
        assert topics.topic_config(topic)["retention.ms"] == "-1", topic
        assert topics.topic_config(topic)["retention.bytes"] == "-1", topic
    reservations = topics.topic_config(topics.RESERVATIONS)
    assert reservations["retention.ms"] == str(30 * 24 * 3600 * 1000)
    assert reservations["segment.ms"] == str(24 * 3600 * 1000)  # gone at most a day after the retention
    assert reservations["cleanup.policy"] == "delete"
    assert topics.topic_config(topics.AVAILABILITY) == {}


def test_new_topics_are_created_with_their_retention_and_existing_ones_get_it() -> None:
    admin = _Admin(existing={"pos.public.store_stock"})
    wanted = ("pos.public.store_stock", "erp.erp.STOCK_BAL", topics.RESERVATIONS, topics.AVAILABILITY)
    topics.create_configured(admin, wanted, 4)  # type: ignore[arg-type]
    assert admin.created["erp.erp.STOCK_BAL"]["retention.ms"] == "-1"
    assert admin.created[topics.RESERVATIONS]["retention.ms"] == str(topics.RESERVATIONS_RETENTION_MS)
    assert admin.created[topics.AVAILABILITY] == {}
    assert admin.altered["pos.public.store_stock"]["retention.ms"] == "-1"  # created before: set now
    assert topics.AVAILABILITY not in admin.altered


def test_topics_debezium_creates_itself_keep_every_change_too() -> None:
    stack = settings_from_fields().stack
    kafka = settings_from_fields().kafka
    for config in (erp_config(stack, kafka), pos_config(stack, kafka)):
        assert config["topic.creation.default.retention.ms"] == "-1"
        assert config["topic.creation.default.retention.bytes"] == "-1"
        assert config["topic.creation.default.cleanup.policy"] == "delete"

"""ATP_INPUT_PARTITIONS reaches every place that splits the input topics: the topics atp creates, the change
topics Debezium creates, the local broker's default, and the cluster's largest size."""

from __future__ import annotations

import pytest

from atp.cluster import sized
from atp.errors import ConfigError
from atp.settings import settings_from_fields
from connectors import topics
from connectors.cdc_connectors import erp_config, pos_config


def test_the_input_topics_have_four_partitions_unless_set():
    assert settings_from_fields().kafka.input_partitions == topics.PARTITIONS == 4
    assert settings_from_fields(input_partitions=12).kafka.input_partitions == 12


def test_the_topics_atp_creates_take_the_setting_and_the_transaction_topics_keep_one(monkeypatch):
    made: list[tuple[tuple[str, ...], int]] = []
    monkeypatch.setattr(topics, "client_config", lambda kafka: {})
    monkeypatch.setattr(topics, "AdminClient", lambda config: None)
    monkeypatch.setattr(topics, "create_configured", lambda admin, names, count: made.append((names, count)))
    kafka = settings_from_fields(input_partitions=12).kafka
    topics.ensure_topics(kafka, (topics.RESERVATIONS, topics.RECONCILE))
    topics.ensure_topics(kafka, ("erp.transaction",), partitions=topics.TRANSACTION_PARTITIONS)
    assert made == [((topics.RESERVATIONS, topics.RECONCILE), 12), (("erp.transaction",), 1)]


def test_debezium_creates_its_change_topics_with_the_same_partitions():
    settings = settings_from_fields(input_partitions=12)
    for config in (erp_config(settings.stack, settings.kafka), pos_config(settings.stack, settings.kafka)):
        assert config["topic.creation.default.partitions"] == "12"


def test_the_local_brokers_default_follows_the_setting(tmp_path, monkeypatch):
    from infra import kafka as broker

    settings = settings_from_fields(home=str(tmp_path), input_partitions=12)
    monkeypatch.setattr(broker, "sasl_password", lambda kafka: "pw")
    config = broker._write_config(settings.stack, settings.kafka).read_text().splitlines()
    assert "num.partitions=12" in config


def test_the_cluster_may_have_as_many_processes_as_partitions_and_no_more():
    many = settings_from_fields(input_partitions=12, cluster_port=19110, flow_metrics_port=0)
    assert sized(many, 12).dataflow.processes == 12
    with pytest.raises(ConfigError, match=r"^--processes: 13 processes, but the input topics have 12 partitions"):
        sized(many, 13)
    with pytest.raises(ConfigError, match=r"^ATP_PROCESSES: 5 processes, but the input topics have 4 partitions"):
        sized(settings_from_fields(processes=5), None)

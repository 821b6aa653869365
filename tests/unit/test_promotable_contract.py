"""The atp.promotable.<channel> contract: a schema file, registered FULL_TRANSITIVE under each channel's topic like
every output contract, and what the Kafka sink writes there (checked without a registry or a broker)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastavro import parse_schema
from fastavro.validation import validate

from atp.domain.channels import ChannelRecord
from atp.domain.promotable import PromotableRecord
from atp.settings import settings_from_fields
from connectors import avro_contracts, kafka_sink, topics
from connectors.avro_contracts import AVRO_DIR
from connectors.contract_check import contract_versions

CHANNELS = settings_from_fields(channels=["SHOPIFY", "AMAZON"]).channels
RECORD = PromotableRecord("SHOPIFY", "SH-TEE-1", "TEE-1", True, 12, 10, 1_700_000_000_000, 3, 1_700_000_600_000)


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((AVRO_DIR / "atp.promotable-v1.avsc").read_text())
    return loaded


def test_each_configured_channel_gets_a_promotable_topic_among_the_outputs():
    outputs = topics.output_topics(CHANNELS)
    assert {"atp.promotable.shopify", "atp.promotable.amazon"} <= set(outputs)
    assert topics.promotable_topic("SHOPIFY") == "atp.promotable.shopify"
    assert avro_contracts.contract_file("atp.promotable.shopify") == "atp.promotable-v1.avsc"
    assert avro_contracts.contract_file("atp.channel.shopify") == avro_contracts.CHANNEL_CONTRACT


def test_the_contract_is_a_versioned_file_that_the_compatibility_check_covers():
    assert [p.name for p in contract_versions(AVRO_DIR)["atp.promotable"]] == ["atp.promotable-v1.avsc"]


def test_a_promotable_record_is_a_valid_record_of_its_contract_with_exactly_its_fields():
    record = RECORD.to_dict()
    assert set(record) == {f["name"] for f in schema()["fields"]}
    as_decoded = record | {
        "since_ms": dt.datetime.fromtimestamp(RECORD.since_ms / 1000, dt.UTC),
        "computed_ts_ms": dt.datetime.fromtimestamp(RECORD.computed_ts_ms / 1000, dt.UTC),
    }
    assert validate(record, parse_schema(schema()), raise_errors=True)
    assert validate(as_decoded, parse_schema(schema()), raise_errors=True)


class FakeRegistry:
    def __init__(self) -> None:
        self.compatibility: dict[str, str] = {}
        self.registered: dict[str, str] = {}

    def set_compatibility(self, subject_name: str, level: str) -> None:
        self.compatibility[subject_name] = level

    def register_schema(self, subject: str, schema: Any) -> int:
        assert subject in self.compatibility, "compatibility is set before the schema is registered"
        self.registered[subject] = schema.schema_str
        return len(self.registered)


def test_register_contracts_sets_full_transitive_then_registers_the_file_for_each_promotable_topic(monkeypatch):
    registry = FakeRegistry()
    monkeypatch.setattr(avro_contracts, "registry_client", lambda kafka: registry)
    ids = avro_contracts.register_contracts(settings_from_fields().kafka, CHANNELS)
    text = (AVRO_DIR / "atp.promotable-v1.avsc").read_text()
    for topic in ("atp.promotable.shopify", "atp.promotable.amazon"):
        assert registry.compatibility[f"{topic}-value"] == "FULL_TRANSITIVE"
        assert registry.registered[f"{topic}-value"] == text
        assert topic in ids


@pytest.fixture
def sink_partition(monkeypatch):
    """The Kafka sink's partition with an encoder that names its topic instead of asking the registry."""
    monkeypatch.setattr(
        avro_contracts, "serializer", lambda client, topic: lambda record: json.dumps([topic, record]).encode()
    )
    partition = kafka_sink._Partition(settings_from_fields(kafka_security_protocol="PLAINTEXT").kafka)
    yield partition
    partition._producer.purge()


def test_the_sink_sends_a_promotable_record_to_its_channels_topic_keyed_by_channel_sku(sink_partition):
    topic, key, value = sink_partition._encode(RECORD)
    assert (topic, key) == ("atp.promotable.shopify", b"SH-TEE-1")
    assert json.loads(value) == ["atp.promotable.shopify", RECORD.to_dict()]
    channel = ChannelRecord("SHOPIFY", "SH-TEE-1", "TEE-1", 12, "IN_STOCK", None, 4, 1)
    assert sink_partition._encode(channel)[0] == "atp.channel.shopify"


def test_the_promotion_settings_reach_the_flow_rules_and_bad_ones_are_refused():
    from atp.errors import ConfigError
    from atp.rule_settings import flow_policy

    rules = flow_policy(
        settings_from_fields(
            channels=["SHOPIFY", "AMAZON"],
            promotable_min_available=4,
            promotable_stable_s=2.5,
            channel_promotable_min={"AMAZON": 25},
        )
    ).promotion_rules
    assert (rules.min_available, rules.stable_ms, rules.threshold("AMAZON"), rules.threshold("SHOPIFY")) == (
        4,
        2500,
        25,
        4,
    )
    with pytest.raises(ConfigError, match=r"^ATP_CHANNEL_PROMOTABLE_MIN: WALMART not in ATP_CHANNELS"):
        settings_from_fields(channel_promotable_min={"WALMART": 2})
    refused = r"^ATP_CHANNEL_PROMOTABLE_MIN: .*SHOPIFY: a promotable minimum must be at least 1"
    with pytest.raises(ConfigError, match=refused):
        settings_from_fields(channel_promotable_min={"SHOPIFY": 0})
    with pytest.raises(ConfigError, match=r"^ATP_PROMOTABLE_MIN_AVAILABLE"):
        settings_from_fields(promotable_min_available=0)

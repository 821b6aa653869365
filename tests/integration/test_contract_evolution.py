"""Contract evolution against the real schema registry: channel contract v1 -> v2 (a field with a default).

The registry holds the subject at FULL_TRANSITIVE: it accepts v2 after v1, refuses a breaking
change, and records written with either version are read by consumers on the other.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from atp.settings import Settings
from connectors import avro_contracts

pytestmark = pytest.mark.integration

V1 = (avro_contracts.AVRO_DIR / "atp.channel-v1.avsc").read_text()
V2 = (avro_contracts.AVRO_DIR / "atp.channel-v2.avsc").read_text()

RECORD = {
    "channel": "SHOPIFY",
    "channel_sku": "tee-1001-blk-m",
    "sku": "TEE-1001-BLK-M",
    "available": 12,
    "status": "IN_STOCK",
    "promise_date": dt.date(2026, 11, 22),
    "version": 7,
    "computed_ts_ms": dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC),
}


def subject_for(topic: str) -> str:
    return f"{topic}-value"


def test_v2_is_accepted_after_v1_and_each_consumer_reads_the_other_version(stack: Settings):
    client = avro_contracts.registry_client(stack.kafka)
    topic = f"atp.channel.evolution{uuid.uuid4().hex[:8]}"
    client.set_compatibility(subject_name=subject_for(topic), level="FULL_TRANSITIVE")
    client.register_schema(subject_for(topic), Schema(V1, "AVRO"))
    client.register_schema(subject_for(topic), Schema(V2, "AVRO"))

    ctx = SerializationContext(topic, MessageField.VALUE)
    conf = {
        "auto.register.schemas": False,
        "use.latest.version": False,
        "subject.name.strategy": lambda c, n: subject_for(topic),
    }
    written_v1 = AvroSerializer(client, V1, conf=conf)(RECORD, ctx)
    written_v2 = AvroSerializer(client, V2, conf=conf)({**RECORD, "buffer": 2}, ctx)

    read_conf = {"subject.name.strategy": lambda c, n: subject_for(topic)}
    v1_consumer = AvroDeserializer(client, V1, conf=read_conf)
    v2_consumer = AvroDeserializer(client, V2, conf=read_conf)
    assert v1_consumer(written_v2, ctx) == {k: v for k, v in v1_consumer(written_v1, ctx).items()}
    assert "buffer" not in v1_consumer(written_v2, ctx)
    assert v2_consumer(written_v1, ctx)["buffer"] == 0
    assert v2_consumer(written_v2, ctx)["buffer"] == 2


def test_the_registry_refuses_a_breaking_change(stack: Settings):
    client = avro_contracts.registry_client(stack.kafka)
    topic = f"atp.channel.evolution{uuid.uuid4().hex[:8]}"
    client.set_compatibility(subject_name=subject_for(topic), level="FULL_TRANSITIVE")
    client.register_schema(subject_for(topic), Schema(V2, "AVRO"))
    breaking = V2.replace('"name": "available", "type": "long"', '"name": "available", "type": "string"')
    assert breaking != V2
    with pytest.raises(SchemaRegistryError):
        client.register_schema(subject_for(topic), Schema(breaking, "AVRO"))

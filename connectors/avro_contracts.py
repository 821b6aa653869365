"""Output contracts: ``.avsc`` files in ``schemas/avro``, registered under ``<topic>-value``.

Every subject is set to FULL_TRANSITIVE before its schema is registered, so the
registry itself refuses a change that would break an old or a new consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import schemas
from atp.errors import ServiceError
from atp.settings import ChannelSettings, KafkaSettings
from connectors import topics

AVRO_DIR = schemas.AVRO_DIR
COMPATIBILITY = "FULL_TRANSITIVE"

# The version of each contract the pipeline writes today.
CURRENT = {
    topics.AVAILABILITY: "atp.availability-v1.avsc",
    topics.DLQ: "atp.dlq-v1.avsc",
    topics.ALERTS: "atp.alerts-v1.avsc",
}


# Every atp.channel.<channel> topic carries the same contract (v2 added `buffer`; v1 consumers still read it).
CHANNEL_CONTRACT = "atp.channel-v2.avsc"


# Every atp.promotable.<channel> topic carries the same contract.
PROMOTABLE_CONTRACT = "atp.promotable-v1.avsc"

# Every atp.back-in-stock.<channel> topic carries the same contract.
BACK_IN_STOCK_CONTRACT = "atp.back-in-stock-v1.avsc"


def contract_file(topic: str) -> str:
    if topic.startswith(topics.CHANNEL_PREFIX):
        return CHANNEL_CONTRACT
    if topic.startswith(topics.PROMOTABLE_PREFIX):
        return PROMOTABLE_CONTRACT
    if topic.startswith(topics.BACK_IN_STOCK_PREFIX):
        return BACK_IN_STOCK_CONTRACT
    return CURRENT[topic]


def schema_text(topic: str) -> str:
    return (AVRO_DIR / contract_file(topic)).read_text()


def subject(topic: str) -> str:
    return f"{topic}-value"


# A registry request that hangs must fail (and be retried by whoever called) rather than stall a process.
REGISTRY_TIMEOUT_S = 10


def registry_client(kafka: KafkaSettings) -> SchemaRegistryClient:
    config: dict[str, Any] = {"url": kafka.registry_url, "timeout": REGISTRY_TIMEOUT_S}
    credentials = kafka.registry_basic_auth.get_secret_value()
    if credentials:
        config["basic.auth.user.info"] = credentials
    return SchemaRegistryClient(config)


def register_contracts(kafka: KafkaSettings, channels: ChannelSettings) -> dict[str, int]:
    """Set FULL_TRANSITIVE and register the current schema of every output topic; returns schema ids."""
    client = registry_client(kafka)
    ids = {}
    for topic in topics.output_topics(channels):
        try:
            client.set_compatibility(subject_name=subject(topic), level=COMPATIBILITY)
            ids[topic] = client.register_schema(subject(topic), Schema(schema_text(topic), "AVRO"))
        except Exception as exc:
            raise ServiceError(f"schema registry: could not register {subject(topic)}: {exc}") from exc
    return ids


def _topic_subject(ctx: SerializationContext | None, record_name: str | None) -> str:
    assert ctx is not None
    return f"{ctx.topic}-value"


def serializer(client: SchemaRegistryClient, topic: str) -> Callable[[dict[str, Any]], bytes]:
    """Confluent wire format (magic byte, schema id, Avro body) for ``topic``'s current contract."""
    avro = AvroSerializer(
        client,
        schema_text(topic),
        conf={"auto.register.schemas": False, "use.latest.version": False, "subject.name.strategy": _topic_subject},
    )
    ctx = SerializationContext(topic, MessageField.VALUE)

    def encode(record: dict[str, Any]) -> bytes:
        encoded = avro(record, ctx)
        assert isinstance(encoded, bytes)
        return encoded

    return encode


def deserializer(client: SchemaRegistryClient, topic: str, reader_schema: Path | None = None) -> Callable[[bytes], Any]:
    """Decode wire-format records of ``topic``, optionally into an older or newer reader schema."""
    # The subject strategy is explicit: the default asks the registry for "associations" (an endpoint our
    # registry lacks) while decoding, an extra round trip that was seen to hang.
    avro = AvroDeserializer(
        client, reader_schema.read_text() if reader_schema else None, conf={"subject.name.strategy": _topic_subject}
    )
    ctx = SerializationContext(topic, MessageField.VALUE)
    return lambda value: avro(value, ctx)

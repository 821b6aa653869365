"""The atp.back-in-stock.<channel> contract: a schema file, registered FULL_TRANSITIVE under each channel's topic
like every output contract, what the Kafka sink writes there, and the wish-list decoder at the edge (checked
without a registry or a broker)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from fastavro import parse_schema
from fastavro.validation import validate

from atp.domain.back_in_stock import BackInStockNotice
from atp.domain.events import CustomerForgotten, WishChanged
from atp.settings import settings_from_fields
from connectors import avro_contracts, kafka_sink, topics
from connectors.avro_contracts import AVRO_DIR
from connectors.contract_check import contract_versions
from connectors.wishlist import decode_wish
from tests.debezium_events import wish_value
from tests.unit.test_promotable_contract import FakeRegistry

CHANNELS = settings_from_fields(channels=["SHOPIFY", "AMAZON"]).channels
NOTICE = BackInStockNotice("SHOPIFY", "SH-TEE-1", "TEE-1", "w-1", "cust-4711", 8, 1, 1_800_000_000_000)
NOW = int(dt.datetime(2026, 11, 23, tzinfo=dt.UTC).timestamp() * 1000)  # a day after wish_value's events


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((AVRO_DIR / "atp.back-in-stock-v1.avsc").read_text())
    return loaded


def test_each_configured_channel_gets_a_notice_topic_with_the_contract_and_30_days_retention():
    assert {"atp.back-in-stock.shopify", "atp.back-in-stock.amazon"} <= set(topics.output_topics(CHANNELS))
    assert avro_contracts.contract_file("atp.back-in-stock.shopify") == "atp.back-in-stock-v1.avsc"
    assert [p.name for p in contract_versions(AVRO_DIR)["atp.back-in-stock"]] == ["atp.back-in-stock-v1.avsc"]


def test_a_notice_is_a_valid_record_of_its_contract_with_exactly_its_fields():
    record = NOTICE.to_dict()
    assert set(record) == {f["name"] for f in schema()["fields"]}
    as_decoded = record | {"computed_ts_ms": dt.datetime.fromtimestamp(NOTICE.computed_ts_ms / 1000, dt.UTC)}
    assert validate(record, parse_schema(schema()), raise_errors=True)
    assert validate(as_decoded, parse_schema(schema()), raise_errors=True)


def test_register_contracts_sets_full_transitive_then_registers_the_file_for_each_notice_topic(monkeypatch):
    registry = FakeRegistry()
    monkeypatch.setattr(avro_contracts, "registry_client", lambda kafka: registry)
    avro_contracts.register_contracts(settings_from_fields().kafka, CHANNELS)
    for topic in ("atp.back-in-stock.shopify", "atp.back-in-stock.amazon"):
        assert registry.compatibility[f"{topic}-value"] == "FULL_TRANSITIVE"
        assert registry.registered[f"{topic}-value"] == (AVRO_DIR / "atp.back-in-stock-v1.avsc").read_text()


def test_the_sink_sends_a_notice_to_its_channels_topic_keyed_by_wish_id(monkeypatch):
    monkeypatch.setattr(
        avro_contracts, "serializer", lambda client, topic: lambda record: json.dumps([topic, record]).encode()
    )
    partition = kafka_sink._Partition(settings_from_fields(kafka_security_protocol="PLAINTEXT").kafka)
    try:
        topic, key, value = partition._encode(NOTICE)
    finally:
        partition._producer.purge()
    assert (topic, key) == ("atp.back-in-stock.shopify", b"w-1")
    assert json.loads(value) == ["atp.back-in-stock.shopify", NOTICE.to_dict()]


def test_the_decoder_reads_each_op_and_keeps_the_ref_out_of_the_provenance():
    [wish] = decode_wish(topics.WISHLIST, 0, 5, wish_value("WISH", consent=False), NOW).events
    assert isinstance(wish, WishChanged)
    assert (wish.op, wish.wish_id, wish.channel, wish.channel_sku, wish.consent, wish.customer_ref) == (
        "WISH", "wish-1", "SHOPIFY", "SH-TEE-1", False, "cust-4711"
    )  # fmt: skip
    assert "cust-4711" not in wish.provenance.cause_ref
    [withdrawn] = decode_wish(topics.WISHLIST, 0, 6, wish_value("CONSENT_WITHDRAWN"), NOW).events
    assert isinstance(withdrawn, WishChanged) and not withdrawn.consent
    [forget] = decode_wish(topics.WISHLIST, 0, 7, wish_value("FORGET"), NOW).events
    assert forget == CustomerForgotten(
        "wish-1-FORGET", forget.occurred_at_ms, forget.provenance, hashlib.sha256(b"cust-4711").hexdigest()
    )


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"op": "WISH", "consent": None}, "invalid_consent"),
        ({"op": "WISH", "consent": "true"}, "invalid_consent"),
        ({"op": "WISH", "customer_ref": None}, "missing_customer_ref"),
        ({"op": "WITHDRAW", "wish_id": None}, "missing_field"),
        ({"op": "FORGET", "customer_ref_sha256": "cust-4711"}, "invalid_field"),
        ({"op": "FORGET", "customer_ref_sha256": None}, "missing_field"),
        ({"op": "UNSUBSCRIBE"}, "unknown_op"),
        ({"occurred_at": "2026-11-22T10:00:00"}, "invalid_timestamp"),
        ({"occurred_at": "2031-01-01T00:00:00Z"}, "implausible_timestamp"),
    ],
)
def test_a_bad_wish_list_event_is_dead_lettered_with_its_reason_and_the_ref_masked(doc: dict, reason: str):
    base = json.loads(wish_value("FORGET" if doc.get("op") == "FORGET" else "WISH"))
    value = json.dumps({k: v for k, v in (base | {"customer_ref": "cust-4711"} | doc).items() if v is not None})
    decoded = decode_wish(topics.WISHLIST, 0, 9, value.encode(), NOW)
    assert decoded.events == [] and decoded.dead_letter is not None
    assert decoded.dead_letter.reason == reason
    assert "cust-4711" not in decoded.dead_letter.payload + decoded.dead_letter.error

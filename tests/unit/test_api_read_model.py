"""The lookup API's read model: the highest version per key wins, re-sends change nothing, and the feed turns
output records and ERP reference rows into it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from atp.domain.nearby import Place, Variant
from atp.settings import settings_from_fields
from connectors.api_feed import ITEMS_TOPIC, LOCATIONS_TOPIC, ReadModelFeed
from connectors.api_read_model import LocationRow, ReadModel
from tests.debezium_events import envelope, item_row, location_row, mariadb_source

AT = dt.datetime(2026, 11, 22, 10, 4, tzinfo=dt.UTC)


def availability(sku: str, location: str, version: int, available: int) -> dict[str, Any]:
    """An ``atp.availability`` record as the Avro decoder returns it (logical types as datetime and date)."""
    return {
        "sku": sku, "location": location, "on_hand": available, "unsellable": 0, "reserved": 0, "committed": 0,
        "safety_stock": 0, "available": available, "incoming": 0, "next_inbound_date": dt.date(2026, 12, 1),
        "status": "IN_STOCK" if available else "OUT_OF_STOCK", "version": version,
        "source_ts_ms": AT + dt.timedelta(seconds=version),
        "computed_ts_ms": AT + dt.timedelta(seconds=version, milliseconds=412),
        "cause": "stock", "cause_ref": f"erp.erp.STOCK_BAL[0]@{version}",
    }  # fmt: skip


def channel(channel_sku: str, version: int, available: int) -> dict[str, Any]:
    return {
        "channel": "SHOPIFY", "channel_sku": channel_sku, "sku": "TEE-1001-BLK-M", "available": available, "buffer": 2,
        "status": "IN_STOCK", "promise_date": dt.date(2026, 11, 22), "version": version, "computed_ts_ms": AT,
    }  # fmt: skip


def test_a_newer_version_replaces_the_record_and_its_figures_are_served_as_json() -> None:
    model = ReadModel()
    assert model.apply_availability(availability("TEE-1", "ST0001", 1, 5))
    assert model.apply_availability(availability("TEE-1", "ST0001", 2, 3))
    assert model.at_location("TEE-1", "ST0001") == {
        "sku": "TEE-1", "location": "ST0001", "on_hand": 3, "unsellable": 0, "reserved": 0, "committed": 0,
        "safety_stock": 0, "available": 3, "incoming": 0, "next_inbound_date": "2026-12-01", "status": "IN_STOCK",
        "version": 2, "source_ts_ms": "2026-11-22T10:04:02.000Z", "computed_ts_ms": "2026-11-22T10:04:02.412Z",
        "cause": "stock", "cause_ref": "erp.erp.STOCK_BAL[0]@2",
    }  # fmt: skip


def test_a_re_sent_or_older_version_never_replaces_a_newer_one() -> None:
    model = ReadModel()
    model.apply_availability(availability("TEE-1", "ST0001", 7, 4))
    assert not model.apply_availability(availability("TEE-1", "ST0001", 7, 99))  # re-sent after a restart
    assert not model.apply_availability(availability("TEE-1", "ST0001", 6, 50))  # an older one, late
    held = model.at_location("TEE-1", "ST0001")
    assert held is not None and (held["version"], held["available"]) == (7, 4)
    assert (model.applied, model.ignored) == (1, 2)


def test_versions_are_kept_per_key_and_a_sku_lists_its_locations_in_order() -> None:
    model = ReadModel()
    model.apply_availability(availability("TEE-1", "ST0002", 1, 2))
    model.apply_availability(availability("TEE-1", "DC0001", 9, 40))
    model.apply_availability(availability("TEE-2", "ST0002", 3, 1))
    assert [(a["location"], a["version"]) for a in model.across_locations("TEE-1")] == [("DC0001", 9), ("ST0002", 1)]
    assert model.across_locations("NOPE") == []
    assert model.at_location("TEE-2", "DC0001") is None


def test_a_channel_sku_keeps_its_highest_version_and_is_found_in_any_case_of_its_channel() -> None:
    model = ReadModel()
    model.apply_channel(channel("tee-1001-blk-m", 9, 44))
    assert not model.apply_channel(channel("tee-1001-blk-m", 8, 10))
    held = model.channel_sku("shopify", "tee-1001-blk-m")
    assert held is not None and (held["version"], held["available"], held["promise_date"]) == (9, 44, "2026-11-22")
    assert model.channel_sku("SHOPIFY", "TEE-1001-BLK-M") is None  # the channel's SKU is as the channel spells it


def test_an_item_that_changes_style_leaves_its_old_style() -> None:
    model = ReadModel()
    model.apply_item(Variant("TEE-1", "OLD", "BLK", "M"))
    model.apply_item(Variant("TEE-1", "NEW", "BLK", "M"))
    assert model.style("OLD") == [] and model.style("NEW") == [Variant("TEE-1", "NEW", "BLK", "M")]
    model.apply_item(Variant("TEE-1", "NEW", "BLK", "M"), deleted=True)
    assert model.item("TEE-1") is None and model.style("NEW") == []


@dataclass
class Message:
    """What the feed reads of a Kafka message."""

    _topic: str
    _value: bytes | None
    _offset: int = 0

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes | None:
        return self._value

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None


class NoConsumer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config


def feed(model: ReadModel) -> ReadModelFeed:
    settings = settings_from_fields(channels=["SHOPIFY"], kafka_security_protocol="PLAINTEXT")
    decoded = {b"a": availability("TEE-1", "ST0001", 2, 6), b"a-old": availability("TEE-1", "ST0001", 1, 0)}
    decoded |= {b"c": channel("tee-1", 3, 5)}
    return ReadModelFeed(settings.kafka, settings.channels, model, NoConsumer, lambda _, value: decoded[value])  # type: ignore[arg-type]


def test_the_feed_reads_the_availability_and_channel_topics_and_the_erp_reference_rows() -> None:
    model = ReadModel()
    wanted = feed(model)
    assert wanted.wanted == ("atp.availability", "atp.channel.shopify", LOCATIONS_TOPIC, ITEMS_TOPIC)
    for message in (
        Message("atp.availability", b"a"),
        Message("atp.availability", b"a-old"),  # arrives after a newer one: ignored
        Message("atp.channel.shopify", b"c"),
        Message(LOCATIONS_TOPIC, envelope("r", None, location_row("ST0001", "S", "N"), mariadb_source("LOCATION", 1))),
        Message(ITEMS_TOPIC, envelope("c", None, item_row("TEE-1"), mariadb_source("ITEM_MASTER", 2))),
    ):
        wanted.apply(message)  # type: ignore[arg-type]
    held = model.at_location("TEE-1", "ST0001")
    assert held is not None and held["version"] == 2
    assert model.channel_sku("SHOPIFY", "tee-1") is not None
    assert model.location("ST0001") == LocationRow("ST0001", "S", "Location ST0001", Place("ST0001", 48.85, 2.35))
    assert model.item("TEE-1") == Variant("TEE-1", "TEE", "BLK", "M")


def test_a_deleted_location_goes_and_one_without_coordinates_is_kept_without_a_place() -> None:
    model = ReadModel()
    reader = feed(model)
    no_place = location_row("ST0002", "S") | {"LATITUDE": None}
    reader.apply(Message(LOCATIONS_TOPIC, envelope("c", None, no_place, mariadb_source("LOCATION", 1))))  # type: ignore[arg-type]
    assert model.location("ST0002") == LocationRow("ST0002", "S", "Location ST0002", None)
    gone = envelope("d", location_row("ST0002", "S"), None, mariadb_source("LOCATION", 2))
    reader.apply(Message(LOCATIONS_TOPIC, gone))  # type: ignore[arg-type]
    reader.apply(Message(LOCATIONS_TOPIC, None))  # the tombstone after the delete
    assert model.location("ST0002") is None


def test_a_record_the_feed_cannot_read_is_counted_and_changes_nothing() -> None:
    model = ReadModel()
    reader = feed(model)
    bad_latitude = location_row("ST0003", "S") | {"LATITUDE": "123.000000"}
    reader.apply(Message(LOCATIONS_TOPIC, envelope("c", None, bad_latitude, mariadb_source("LOCATION", 1))))  # type: ignore[arg-type]
    reader.apply(Message(ITEMS_TOPIC, orjson.dumps({"op": "c"})))  # type: ignore[arg-type]
    reader.apply(Message("atp.availability", b"unknown"))  # type: ignore[arg-type]
    assert reader.undecodable == 3
    assert model.counts() == {"availability_keys": 0, "channel_keys": 0, "locations": 0, "items": 0}


class ScriptedConsumer:
    """Hands out the given batches, records seeks, and stops the feed when it runs out."""

    def __init__(self, batches: list[list[Message]], stop: Any) -> None:
        self.batches, self.stop, self.seeks = batches, stop, []

    def list_topics(self, timeout: float) -> Any:
        return type("Metadata", (), {"topics": {}})()

    def consume(self, count: int, timeout_s: float) -> list[Message]:
        if not self.batches:
            self.stop.set()
            return []
        return self.batches.pop(0)

    def seek(self, partition: Any) -> None:
        self.seeks.append((partition.topic, partition.partition, partition.offset))

    def close(self) -> None:
        pass


def test_a_record_met_while_the_registry_is_down_is_read_again_not_skipped() -> None:
    import threading

    from confluent_kafka.schema_registry.common._httpx_compat import httpx

    stop = threading.Event()
    first, second = Message("atp.availability", b"a-old", 10), Message("atp.availability", b"a", 11)
    consumer = ScriptedConsumer([[first, second], [first, second]], stop)
    registry_down = [True]

    def decode(topic: str, value: bytes) -> dict[str, Any]:
        if registry_down[0]:
            registry_down[0] = False
            raise httpx.ConnectError("connection refused")
        return {b"a": availability("TEE-1", "ST0001", 2, 6), b"a-old": availability("TEE-1", "ST0001", 1, 0)}[value]

    settings = settings_from_fields(kafka_security_protocol="PLAINTEXT")
    model = ReadModel()
    reader = ReadModelFeed(settings.kafka, settings.channels, model, lambda _: consumer, decode)  # type: ignore[arg-type,return-value]
    reader.run(stop)
    assert consumer.seeks == [("atp.availability", 0, 10)]
    assert reader.undecodable == 0 and (model.applied, model.ignored) == (2, 0)
    held = model.at_location("TEE-1", "ST0001")
    assert held is not None and held["version"] == 2

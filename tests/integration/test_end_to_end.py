"""Rows changed in the real ERP and POS reach `atp.availability` (through the registry) and ClickHouse."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from confluent_kafka import Producer

from atp import analyst
from atp.pipeline import flow_pid_file
from atp.settings import Settings
from connectors import topics
from connectors.kafka_config import client_config
from connectors.legacy_db import pos_connection
from connectors.output_watch import TopicWatcher
from tests.integration.legacy_writes import DC, a_store, new_item, put_on_shelf, set_dc_stock
from tests.integration.outputs import next_record, store_row

pytestmark = pytest.mark.integration


def test_a_dc_stock_change_in_the_erp_reaches_the_topic_and_clickhouse(pipeline: Settings, availability: TopicWatcher):
    sku, _ = new_item(pipeline)
    set_dc_stock(pipeline, sku, 10, qty_hold=1)
    first = next_record(availability, f"{sku}@{DC}", on_hand=10)
    assert (first["unsellable"], first["available"], first["status"], first["version"]) == (1, 9, "IN_STOCK", 1)

    set_dc_stock(pipeline, sku, 3, qty_hold=1)
    second = next_record(availability, f"{sku}@{DC}", on_hand=3)
    assert (second["available"], second["status"], second["version"], second["cause"]) == (2, "LOW_STOCK", 2, "stock")
    assert second["cause_ref"].startswith("erp.erp.STOCK_BAL[")
    assert second["source_ts_ms"] <= second["computed_ts_ms"]

    row = store_row(pipeline, sku, DC, 2)
    assert (row["on_hand"], row["available"], row["status"]) == (3, 2, "LOW_STOCK")


def test_a_pos_sale_at_a_store_reaches_the_topic_and_clickhouse(pipeline: Settings, availability: TopicWatcher):
    from atp.demo import live

    sku, upc = new_item(pipeline)
    store = a_store(pipeline)
    put_on_shelf(pipeline, store, upc, 6)
    # A store keeps one unit back by default (ATP_STORE_SAFETY_STOCK): shelf shrink.
    next_record(availability, f"{sku}@{store}", on_hand=6, available=5, safety_stock=1)

    pos = pos_connection(pipeline.stack)
    try:
        live.pos_sale(pos, store, upc, 2)
    finally:
        pos.close()
    sold = next_record(availability, f"{sku}@{store}", on_hand=4)
    assert (sold["available"], sold["status"], sold["version"], sold["cause"]) == (3, "LOW_STOCK", 2, "sale")
    assert sold["cause_ref"].startswith("pos.public.store_stock[")

    row = store_row(pipeline, sku, store, 2)
    assert row["on_hand"] == 4
    chain = analyst.why(pipeline.store, sku, store)
    assert [(c["version"], c["on_hand"], c["available_change"]) for c in chain] == [(1, 6, 5), (2, 4, -2)]


def test_an_undecodable_cdc_message_is_dead_lettered_and_the_flow_keeps_going(
    pipeline: Settings, availability: TopicWatcher
):
    dlq = TopicWatcher(pipeline.kafka, topics.DLQ)
    try:
        producer = Producer(client_config(pipeline.kafka))
        producer.produce("erp.erp.STOCK_BAL", key=b"{}", value=b'{"op": "u", "truncated')
        assert producer.flush(10) == 0
        letter, _ = dlq.wait_for(
            lambda k, r: r["source_topic"] == "erp.erp.STOCK_BAL" and r["reason"] == "unparsable_json"
        )
        assert letter["payload"].startswith('{"op": "u"')
    finally:
        dlq.close()

    sku, _ = new_item(pipeline)
    set_dc_stock(pipeline, sku, 5)
    next_record(availability, f"{sku}@{DC}", on_hand=5)


def test_a_killed_dataflow_resumes_without_losing_or_changing_any_output(
    pipeline: Settings, availability: TopicWatcher
):
    sku, _ = new_item(pipeline)
    key = f"{sku}@{DC}"
    set_dc_stock(pipeline, sku, 10)
    next_record(availability, key, on_hand=10)

    os.kill(int(flow_pid_file(pipeline.stack).read_text()), signal.SIGKILL)
    for qty in range(11, 16):  # changes made while the dataflow is down
        set_dc_stock(pipeline, sku, qty)
    next_record(availability, key, on_hand=15)
    seen = [r for k, r in availability.drain(quiet_s=3.0) if k == key]

    by_version: dict[int, set[tuple[object, ...]]] = {}
    for record in seen:
        by_version.setdefault(record["version"], set()).add((record["on_hand"], record["available"], record["status"]))
    # Nothing lost: every version from the first to the last; nothing changed: a re-sent version is identical.
    # The backlog is read in a few epochs, each publishing the key once: the states shown are committed ones,
    # in commit order, ending at the last.
    top = max(by_version)
    assert sorted(by_version) == list(range(1, top + 1))
    assert all(len(figures) == 1 for figures in by_version.values())
    shown = [next(iter(by_version[v]))[0] for v in range(1, top + 1)]
    assert shown[0] == 10 and shown[-1] == 15 and shown == sorted(set(shown))
    assert store_row(pipeline, sku, DC, top)["on_hand"] == 15


def test_a_record_the_loader_cannot_decode_is_kept_in_the_store_dead_letters(pipeline: Settings):
    marker = uuid.uuid4().hex
    producer = Producer(client_config(pipeline.kafka))
    producer.produce(topics.AVAILABILITY, key=b"bogus", value=f"not avro {marker}".encode())
    assert producer.flush(10) == 0
    deadline = time.monotonic() + 30
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline and not rows:
        rows = analyst.run_query(
            pipeline.store,
            "SELECT reason FROM atp.dlq WHERE source_topic = 'atp.availability' AND position(payload, {m:String}) > 0",
            {"m": marker},
        )
        time.sleep(0.3)
    assert rows == [{"reason": "undecodable_output"}]

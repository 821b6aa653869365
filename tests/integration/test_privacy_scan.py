"""Personal data never leaves the pipeline: after a run, scan every output topic, every store table and every log.

The values looked for are the real ones: the customers' emails and loyalty ids
seeded in the POS, and every `customer_ref` the channels sent on
`orders.reservations` and `orders.wishlist` during this test session (a wish's ref
may appear in its back-in-stock notice only).
"""

from __future__ import annotations

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from atp import analyst
from atp.settings import Settings
from connectors import topics
from connectors.kafka_config import client_config
from connectors.legacy_db import pos_connection
from tests.integration.legacy_writes import new_item, set_dc_stock

pytestmark = pytest.mark.integration

STORE_TABLES = (
    "atp.location_availability",
    "atp.availability_history",
    "atp.channel_availability",
    "atp.alerts",
    "atp.dlq",
)


def whole_topic(settings: Settings, topic: str) -> list[bytes]:
    consumer = Consumer(client_config(settings.kafka) | {"group.id": "atp-privacy-scan"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        assignment = []
        for index in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, index), timeout=10)
            if high > low:
                ends[index] = high
                assignment.append(TopicPartition(topic, index, low))
        consumer.assign(assignment)
        raw: list[bytes] = []
        while ends:
            message = consumer.poll(5)
            if message is None:
                break
            if message.error() is None:
                raw.append((message.key() or b"") + b" " + (message.value() or b""))
                if message.offset() + 1 >= ends.get(message.partition(), 0):
                    ends.pop(message.partition(), None)
        return raw
    finally:
        consumer.close()


def customer_refs(settings: Settings, topic: str) -> set[str]:
    refs = set()
    for raw in whole_topic(settings, topic):
        try:
            doc = orjson.loads(raw.split(b" ", 1)[1])
        except (orjson.JSONDecodeError, IndexError):
            continue
        if isinstance(doc, dict) and doc.get("customer_ref"):
            refs.add(str(doc["customer_ref"]))
    return refs


def personal_values(settings: Settings) -> set[str]:
    with pos_connection(settings.stack) as pos, pos.cursor() as cur:
        cur.execute("SELECT customer_email, loyalty_id FROM sale_ticket")
        seeded = {str(v) for row in cur.fetchall() for v in row if v}
    return seeded | customer_refs(settings, topics.RESERVATIONS) | customer_refs(settings, topics.WISHLIST)


def test_no_personal_value_reaches_an_output_topic_a_store_table_or_a_log(pipeline: Settings):
    sku, _ = new_item(pipeline)
    set_dc_stock(pipeline, sku, 3)  # at least one fresh record flows while we look
    secrets = personal_values(pipeline)
    assert len(secrets) >= 10, "the scan needs personal data to look for: the seeded POS tickets carry it"

    # A back-in-stock notice carries the ref its wish gave (to tell the shopper), and no other personal value.
    wish_refs = customer_refs(pipeline, topics.WISHLIST)
    leaks: list[str] = []
    for topic in (*topics.output_topics(pipeline.channels),):
        allowed = wish_refs if topic.startswith(topics.BACK_IN_STOCK_PREFIX) else set()
        for raw in whole_topic(pipeline, topic):
            leaks += [f"topic {topic}: {s}" for s in secrets - allowed if s.encode() in raw]
    for table in STORE_TABLES:
        dump = orjson.dumps(analyst.run_query(pipeline.store, f"SELECT * FROM {table}")).decode()
        leaks += [f"table {table}: {s}" for s in secrets if s in dump]
    for log in sorted(pipeline.stack.logs_dir.glob("*.log")):
        text = log.read_text(errors="replace")
        leaks += [f"log {log.name}: {s}" for s in secrets if s in text]
    assert leaks == [], f"{len(leaks)} personal values leaked, e.g. {leaks[:5]}"


def test_a_deletion_request_removes_what_mentions_the_customer_and_is_audited_without_naming_them(pipeline: Settings):
    import hashlib
    import uuid

    from atp.privacy_requests import forget_customer
    from connectors.clickhouse_store import open_store_for_reading

    email = f"leak-{uuid.uuid4().hex[:8]}@customer.example"
    store = open_store_for_reading(pipeline.store)
    try:  # a row as an older, unmasked version might have left it
        store.command(
            "INSERT INTO atp.dlq (source_topic, partition, offset, reason, error, payload, at_ms) VALUES "
            f"('pos.public.sale_ticket', 0, 999999, 'legacy', 'n/a', '{{\"customer_email\":\"{email}\"}}', now64(3))"
        )
    finally:
        store.close()
    assert analyst.run_query(pipeline.store, "SELECT count() AS n FROM atp.dlq WHERE position(payload, {e:String}) > 0",
                             {"e": email})[0]["n"] in (1, "1")  # fmt: skip

    report = forget_customer(pipeline.store, email)

    assert report.removed == {"atp.dlq": 1, "atp.availability_history": 0, "atp.location_availability": 0}
    left = analyst.run_query(pipeline.store, "SELECT count() AS n FROM atp.dlq WHERE position(payload, {e:String}) > 0",
                             {"e": email})  # fmt: skip
    assert int(left[0]["n"]) == 0
    audit = analyst.run_query(
        pipeline.store,
        "SELECT subject_sha256, removed, removed_from FROM atp.privacy_audit WHERE subject_sha256 = {h:String}",
        {"h": hashlib.sha256(email.encode()).hexdigest()},
    )
    assert [(int(a["removed"]), a["removed_from"]) for a in audit] == [(1, ["atp.dlq"])]
    everything = orjson.dumps(analyst.run_query(pipeline.store, "SELECT * FROM atp.privacy_audit")).decode()
    assert email not in everything

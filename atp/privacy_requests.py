"""A customer's deletion request: remove whatever the pipeline kept that refers to them, and say so.

By design the pipeline keeps no personal data: Debezium drops ``customer_email``
and ``loyalty_id`` at the source, ``customer_ref`` is never copied out of the
reservation decoder, and dead-letter payloads are masked. A deletion request
still checks every place text from an input could have landed (dead letters and
their errors, the ``cause_ref`` of every availability record), removes any row
that mentions the customer, and records the request in ``atp.privacy_audit``.
The subject is recorded as a SHA-256 digest, never as itself, and is never
printed or logged.

Kafka: the topics that hold a customer's data are the channels' inputs ``orders.reservations``
and ``orders.wishlist``, and the back-in-stock notices ``atp.back-in-stock.<channel>`` (each
``customer_ref``). Kafka cannot delete one record, and the topics are not compacted (an
entity's events together decide its state, so keeping only the last of each would change what
a replay computes): they keep 30 days, in one-day segments (``connectors.topics``). A request
counts the records of each that mention the subject and says by when the retention has removed
the last of them.

Back-in-stock notices stop at once: the request writes a ``FORGET`` event on ``orders.wishlist``
naming the customer by the SHA-256 of the subject (not the subject), and the dataflow closes every
wish of that ref, on every channel, and drops the ref from its state (atp.domain.back_in_stock).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from atp.errors import ServiceError
from atp.settings import KafkaSettings, StoreSettings
from connectors import topics
from connectors.clickhouse_store import Store, open_store_for_reading
from connectors.kafka_config import client_config

# Where text from an input can end up in the store: (table, text columns, key columns of a row).
SEARCHED = (
    ("atp.dlq", ("payload", "error"), ("source_topic", "partition", "offset", "reason")),
    ("atp.availability_history", ("cause_ref",), ("sku", "location", "version")),
    ("atp.location_availability", ("cause_ref",), ("sku", "location", "version")),
)


@dataclass(frozen=True)
class KafkaMentions:
    """Records of a topic that mention the subject, and when its retention has removed the last of them."""

    topic: str
    records: int
    gone_by: dt.datetime | None


@dataclass(frozen=True)
class ForgetReport:
    subject_sha256: str
    checked: tuple[str, ...]
    removed: dict[str, int]
    kafka: tuple[KafkaMentions, ...] = ()

    @property
    def removed_total(self) -> int:
        return sum(self.removed.values())


def forget_customer(
    settings: StoreSettings, subject: str, kafka: KafkaSettings | None = None, channels: tuple[str, ...] = ()
) -> ForgetReport:
    """Remove every stored row mentioning ``subject`` (an email, loyalty id or customer ref); audit it.

    With ``kafka``, also stop the back-in-stock notices of a customer ref (a FORGET on ``orders.wishlist``),
    and count the records of the personal topics that mention it (``channels``: whose notice topics; see
    the module).
    """
    digest = hashlib.sha256(subject.strip().encode()).hexdigest()
    mentions: tuple[KafkaMentions, ...] = ()
    if kafka is not None:
        request_forget(kafka, digest)
        personal = (*topics.PERSONAL_TOPICS, *(topics.back_in_stock_topic(c) for c in channels))
        mentions = tuple(mentions_in(kafka, topic, subject.strip()) for topic in personal)
    store = open_store_for_reading(settings)
    try:
        removed = {table: _remove_mentions(store, table, columns, keys, subject.strip())
                   for table, columns, keys in SEARCHED}  # fmt: skip
        checked = tuple(table for table, _, _ in SEARCHED) + tuple(f"kafka:{m.topic}" for m in mentions)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        store.command(
            "INSERT INTO atp.privacy_audit (requested_at, subject_sha256, checked, removed, removed_from) VALUES "
            f"('{now}', '{digest}', [{_list(checked)}], {sum(removed.values())}, "
            f"[{_list(t for t, n in removed.items() if n)}])"
        )
    finally:
        store.close()
    return ForgetReport(digest, checked, removed, mentions)


def forget_event(ref_sha256: str, now_ms: int) -> tuple[bytes, bytes]:
    """The key and value of the FORGET event of a customer ref's digest (connectors.wishlist)."""
    occurred_at = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).isoformat(timespec="milliseconds")
    event_id = f"forget-{ref_sha256[:16]}-{now_ms}"
    value = {"event_id": event_id, "op": "FORGET", "customer_ref_sha256": ref_sha256, "occurred_at": occurred_at}
    return event_id.encode(), orjson.dumps(value)


def request_forget(kafka: KafkaSettings, ref_sha256: str, timeout_s: float = 30.0) -> None:
    """Tell the dataflow to close every wish of the customer (delivered, or raises)."""
    key, value = forget_event(ref_sha256, time.time_ns() // 1_000_000)
    failures: list[str] = []
    producer = Producer(client_config(kafka) | {"enable.idempotence": True, "acks": "all"})
    producer.produce(
        topics.WISHLIST, key=key, value=value, on_delivery=lambda err, _: failures.append(str(err)) if err else None
    )
    if producer.flush(timeout_s) > 0 or failures:
        why = failures or "timeout"
        raise ServiceError(f"kafka: the deletion request was not delivered to {topics.WISHLIST}: {why}")


def mentions_in(kafka: KafkaSettings, topic: str, subject: str, timeout_s: float = 120.0) -> KafkaMentions:
    """How many records of ``topic`` mention ``subject``, read from each partition's start to its end now, and
    when the topic's retention has removed the newest of them."""
    needles = (subject.encode(), orjson.dumps(subject)[1:-1])  # as sent, and as JSON escapes it
    consumer = Consumer(client_config(kafka) | {"group.id": "atp-forget-customer", "enable.auto.commit": False})
    records, newest_ms = 0, -1
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends: dict[int, int] = {}
        starts: dict[int, int] = {}
        for index in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, index), timeout=10)
            if high > low:
                starts[index], ends[index] = low, high
        consumer.assign([TopicPartition(topic, index, start) for index, start in starts.items()])
        deadline = time.monotonic() + timeout_s
        while ends:
            if time.monotonic() > deadline:
                raise ServiceError(f"kafka: could not read {topic} to its end within {timeout_s:.0f}s")
            for message in consumer.consume(500, timeout=1.0):
                if message.error() is not None:
                    continue
                value = (message.key() or b"") + b" " + (message.value() or b"")
                if any(needle in value for needle in needles):
                    records += 1
                    newest_ms = max(newest_ms, message.timestamp()[1])
                if (message.offset() or 0) + 1 >= ends.get(message.partition() or 0, 0):
                    ends.pop(message.partition() or 0, None)
    finally:
        consumer.close()
    gone_by = None
    if records:
        kept_ms = topics.RESERVATIONS_RETENTION_MS + topics.RESERVATIONS_SEGMENT_MS
        gone_by = dt.datetime.fromtimestamp((newest_ms + kept_ms) / 1000, dt.UTC)
    return KafkaMentions(topic, records, gone_by)


def _remove_mentions(store: Store, table: str, columns: tuple[str, ...], keys: tuple[str, ...], subject: str) -> int:
    mentions = " OR ".join(f"position({c}, {{subject:String}}) > 0" for c in columns)
    rows = store.query(f"SELECT {', '.join(keys)} FROM {table} WHERE {mentions}", {"subject": subject})
    if not rows:
        return 0
    # Delete by the rows' keys (values we wrote ourselves), so the subject never appears in a statement text.
    matches = ", ".join("(" + ", ".join(_literal(row[k]) for k in keys) + ")" for row in rows)
    store.command(f"ALTER TABLE {table} DELETE WHERE ({', '.join(keys)}) IN ({matches}) SETTINGS mutations_sync = 2")
    return len(rows)


def _literal(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _list(values: Iterable[object]) -> str:
    return ", ".join(_literal(v) for v in values)

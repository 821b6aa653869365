"""One entry point from a raw CDC message to domain events, or to a dead letter.

Every message ends in exactly one of two places: its events are used, or it is
dead-lettered with a reason (plus, for some, a fail-safe event that keeps us
from over-promising). Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import orjson

from atp.domain.events import Event, Provenance, SourcePosition
from atp.domain.inputs import Decoded
from atp.domain.records import DEAD_LETTER_PAYLOAD_LIMIT, DeadLetter, bounded_text
from atp.domain.time_window import IMPLAUSIBLE_TIMESTAMP, event_time_problem
from atp.domain.transactions import BEGIN, END, TxBoundary
from atp.errors import CdcDecodeError, InputError
from atp.privacy import mask_personal_data, mask_raw_payload
from connectors.cdc import erp, pos
from connectors.cdc.envelope import ChangeEvent, json_object, parse_envelope, read_transaction, transaction_key
from connectors.cdc.source_block import commit_ts_ms, describe_position, mariadb_position, postgres_position
from connectors.json_input import parse_json

TableDecoder = Callable[[ChangeEvent, SourcePosition, Provenance], list[Event]]
PositionReader = Callable[[dict[str, object]], SourcePosition]

# Debezium topics are <prefix>.<database or schema>.<table>; prefixes are set in connectors.cdc_connectors.
ERP_TOPIC_PREFIX = "erp.erp."
POS_TOPIC_PREFIX = "pos.public."

TABLES: dict[str, tuple[TableDecoder, PositionReader]] = {
    ERP_TOPIC_PREFIX + "STOCK_BAL": (erp.stock_bal, mariadb_position),
    ERP_TOPIC_PREFIX + "ITEM_MASTER": (erp.item_master, mariadb_position),
    ERP_TOPIC_PREFIX + "STOCK_LOT": (erp.stock_lot, mariadb_position),
    ERP_TOPIC_PREFIX + "PO_LINE": (erp.po_line, mariadb_position),
    ERP_TOPIC_PREFIX + "SAFETY_STK": (erp.safety_stk, mariadb_position),
    ERP_TOPIC_PREFIX + "KIT_COMPONENT": (erp.kit_component, mariadb_position),
    ERP_TOPIC_PREFIX + "CHANNEL_LISTING": (erp.channel_listing, mariadb_position),
    ERP_TOPIC_PREFIX + "LOCATION": (erp.location, mariadb_position),
    POS_TOPIC_PREFIX + "store_stock": (pos.store_stock, postgres_position),
    POS_TOPIC_PREFIX + "sale_ticket": (pos.sale_ticket, postgres_position),
    POS_TOPIC_PREFIX + "sale_line": (pos.sale_line, postgres_position),
}

CDC_TOPICS = tuple(TABLES)

# The tables we read, as a transaction's END names them (``erp.STOCK_BAL``, ``public.store_stock``): a transaction
# also counts changes of captured tables whose topics we do not read (the POS ``store`` table), never to arrive.
READ_COLLECTIONS = frozenset(topic.split(".", 1)[1] for topic in TABLES)

# Debezium's transaction topics (<prefix>.transaction, one partition each: BEGIN and END in commit order).
TRANSACTION_TOPICS: dict[str, str] = {"erp.transaction": "erp", "pos.transaction": "pos"}


def source_of_topic(topic: str) -> str:
    """Which source database a CDC or transaction topic belongs to: ``erp`` or ``pos``."""
    return topic.partition(".")[0]


def decode_change(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Decoded:
    """The domain events in one Debezium message, or why it cannot be used.

    A change that is part of a source transaction says which, and where in it, even when it is
    dead-lettered: the transaction counts it, and waits for it, either way.
    """
    transaction = None
    try:
        table = TABLES.get(topic)
        if table is None:
            raise InputError("unknown_topic", f"no decoder for topic {topic}")
        change = parse_envelope(value)
        if change is None:  # tombstone after a delete: the delete event already said it all
            return Decoded([])
        transaction = change.transaction
        if change.op == "t":
            raise InputError("truncate", "table truncated at the source; reconcile to rebuild its rows")
        decode_table, read_position = table
        position = read_position(change.source)
        ref = f"{topic}[{partition}]@{offset} {describe_position(position)}"
        if transaction is not None:
            ref += f" tx={transaction[0]}"
        committed_ms = commit_ts_ms(change.source)
        problem = event_time_problem(committed_ms, now_ms)
        if problem is not None:
            raise CdcDecodeError(IMPLAUSIBLE_TIMESTAMP, f"commit time {committed_ms} {problem}")
        provenance = Provenance(committed_ms, ref, topic, partition, offset)
        return Decoded(decode_table(change, position, provenance), transaction=transaction)
    except InputError as exc:
        letter = dead_letter_for(topic, partition, offset, value, exc, now_ms)
        if transaction is None:
            transaction = _transaction_if_readable(value)
        return Decoded([cast(Event, e) for e in exc.fail_safe], letter, transaction)


def _changes_we_read(collections: object, event_count: int) -> int:
    """How many of an END's changes are on topics we read: its per-table counts, less the tables we do not read."""
    if not isinstance(collections, list) or not collections:
        return event_count
    counted = 0
    for entry in collections:
        if not isinstance(entry, dict):
            raise CdcDecodeError("invalid_transaction", f"data_collections entry {entry!r}")
        name, count = entry.get("data_collection"), entry.get("event_count")
        if not isinstance(name, str) or not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise CdcDecodeError("invalid_transaction", f"data_collections entry {entry!r}")
        if name in READ_COLLECTIONS:
            counted += count
    return counted


def _transaction_if_readable(value: bytes | None) -> tuple[str, int] | None:
    """The transaction of a change message that failed to decode, where its block can still be read."""
    try:
        return read_transaction(json_object(value, "not_an_envelope")) if value is not None else None
    except InputError:
        return None


def decode_boundary(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Decoded:
    """A record of a transaction topic: ``{"status": "BEGIN"|"END", "id", "event_count", ...}``."""
    try:
        if value is None:
            raise CdcDecodeError("tombstone", "a transaction topic has no tombstones")
        doc = json_object(value, "invalid_transaction")
        status, tx_id, count = doc.get("status"), doc.get("id"), doc.get("event_count")
        if status not in (BEGIN, END) or not isinstance(tx_id, str) or not tx_id:
            raise CdcDecodeError("invalid_transaction", f"status {status!r} with id {tx_id!r}")
        changes = 0
        if status == END:
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise CdcDecodeError("invalid_transaction", f"END without a valid event_count ({count!r})")
            changes = _changes_we_read(doc.get("data_collections"), count)
        ts_ms = doc.get("ts_ms")
        key = transaction_key(tx_id)
        if not key:
            raise CdcDecodeError("invalid_transaction", f"transaction id {tx_id!r} names no transaction")
        when = ts_ms if isinstance(ts_ms, int) else 0
        provenance = Provenance(when, f"{topic}[{partition}]@{offset} tx={key}", topic, partition, offset)
        boundary = TxBoundary(key, status, changes, provenance)
        return Decoded([], boundary=boundary)
    except InputError as exc:
        return Decoded([], dead_letter_for(topic, partition, offset, value, exc, now_ms))


def dead_letter_for(
    topic: str, partition: int, offset: int, value: bytes | None, error: InputError, now_ms: int
) -> DeadLetter:
    """The dead letter of a raw input message that could not be used: its reason, and its payload masked."""
    return DeadLetter(
        source_topic=topic,
        partition=partition,
        offset=offset,
        reason=error.reason,
        error=error.detail,
        payload=masked_payload(value),
        at_ms=now_ms,
    )


def masked_payload(value: bytes | None) -> str:
    """The message as a dead letter keeps it: parsed and masked where it is JSON we may parse, else masked as text;
    over ``DEAD_LETTER_PAYLOAD_LIMIT``, its head, with the size and SHA-256 of the whole message."""
    if value is None:
        return ""
    if len(value) > DEAD_LETTER_PAYLOAD_LIMIT:
        # Only the head is kept, so only the head is read and masked (with a margin, so that an email address cut
        # at the limit is still recognised and masked before the cut).
        head = mask_raw_payload(value[: DEAD_LETTER_PAYLOAD_LIMIT + 1024]).decode("utf-8", errors="replace")
        return bounded_text(head, DEAD_LETTER_PAYLOAD_LIMIT, original=value)
    try:
        doc = parse_json(value)
    except InputError:  # not JSON, or nested too deep to parse safely
        text = mask_raw_payload(value).decode("utf-8", errors="replace")
    else:
        text = orjson.dumps(mask_personal_data(doc)).decode()
    return bounded_text(text, DEAD_LETTER_PAYLOAD_LIMIT, original=value)

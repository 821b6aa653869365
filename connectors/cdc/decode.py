"""One entry point from a raw CDC message to domain events, or to a dead letter.

Every message ends in exactly one of two places: its events are used, or it is
dead-lettered with a reason (plus, for some, a fail-safe event that keeps us
from over-promising). Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import orjson

from atp.domain.events import Event, Provenance, SourcePosition
from atp.domain.records import DeadLetter
from atp.errors import InputError
from atp.privacy import mask_personal_data, mask_raw_payload
from connectors.cdc import erp, pos
from connectors.cdc.envelope import ChangeEvent, parse_envelope
from connectors.cdc.source_block import commit_ts_ms, describe_position, mariadb_position, postgres_position

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


@dataclass(frozen=True, slots=True)
class Decoded:
    events: list[Event]
    dead_letter: DeadLetter | None = None


def decode_change(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Decoded:
    """The domain events in one Debezium message, or why it cannot be used."""
    try:
        table = TABLES.get(topic)
        if table is None:
            raise InputError("unknown_topic", f"no decoder for topic {topic}")
        change = parse_envelope(value)
        if change is None:  # tombstone after a delete: the delete event already said it all
            return Decoded([])
        if change.op == "t":
            raise InputError("truncate", "table truncated at the source; reconcile to rebuild its rows")
        decode_table, read_position = table
        position = read_position(change.source)
        ref = f"{topic}[{partition}]@{offset} {describe_position(position)}"
        provenance = Provenance(commit_ts_ms(change.source), ref, topic, partition, offset)
        return Decoded(decode_table(change, position, provenance))
    except InputError as exc:
        letter = dead_letter_for(topic, partition, offset, value, exc, now_ms)
        return Decoded([cast(Event, e) for e in exc.fail_safe], letter)


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
    if value is None:
        return ""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return mask_raw_payload(value).decode("utf-8", errors="replace")
    return orjson.dumps(mask_personal_data(doc)).decode()

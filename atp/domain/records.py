"""Outputs of the engine, as plain data. Field names follow contracts.md exactly."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from atp.domain.compact import pickled_by_position
from atp.domain.events import Provenance

# Kinds of input that can cause a record (contracts.md, field `cause`).
CAUSE_STOCK = "stock"
CAUSE_SALE = "sale"
CAUSE_RESERVATION = "reservation"
CAUSE_EXPIRY = "expiry"
CAUSE_LOT_EXPIRY = "lot expiry"
CAUSE_INBOUND = "inbound"
CAUSE_SAFETY_STOCK = "safety stock"
CAUSE_ITEM = "item"
CAUSE_KIT = "kit"
CAUSE_RECONCILE = "reconcile"


@pickled_by_position
@dataclass(frozen=True, slots=True)
class AvailabilityRecord:
    """One `atp.availability` record: what a SKU at a location may promise, and why it changed."""

    sku: str
    location: str
    on_hand: int
    unsellable: int
    reserved: int
    committed: int
    safety_stock: int
    available: int
    incoming: int
    next_inbound_date: dt.date | None
    status: str
    version: int
    source_ts_ms: int
    computed_ts_ms: int
    cause: str
    cause_ref: str

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.location}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "location": self.location,
            "on_hand": self.on_hand,
            "unsellable": self.unsellable,
            "reserved": self.reserved,
            "committed": self.committed,
            "safety_stock": self.safety_stock,
            "available": self.available,
            "incoming": self.incoming,
            "next_inbound_date": self.next_inbound_date,
            "status": self.status,
            "version": self.version,
            "source_ts_ms": self.source_ts_ms,
            "computed_ts_ms": self.computed_ts_ms,
            "cause": self.cause,
            "cause_ref": self.cause_ref,
        }


# Kinds of `atp.alerts` transitions.
ALERT_LOW_STOCK = "LOW_STOCK"
ALERT_OUT_OF_STOCK = "OUT_OF_STOCK"
ALERT_BACK_IN_STOCK = "BACK_IN_STOCK"


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Withdrawn:
    """Not a record: tells the epoch's publisher that ``key`` ended the epoch where it began.

    Within one epoch a key's changes share one version (the publisher sends only the last), so a
    key that moved and came back (a transfer out and in, a hold placed and released) withdraws the
    version it had opened: nothing is published for it, and its next change takes that version.
    ``topic_kind`` is ``availability`` (key ``sku@location``), ``channel`` or ``promotable`` (key
    ``channel/channel_sku``).
    """

    topic_kind: str
    key: str


AVAILABILITY_KIND = "availability"
CHANNEL_KIND = "channel"


@pickled_by_position
@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One `atp.alerts` record: a SKU at a location crossed into low stock, out of stock or back in stock.

    ``at_ms`` is the source time of the change that crossed (not the wall clock), and
    ``version`` the availability record's: a re-sent alert is the same alert.
    """

    sku: str
    location: str
    kind: str
    available: int
    threshold: int
    at_ms: int
    version: int

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.location}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "location": self.location,
            "kind": self.kind,
            "available": self.available,
            "threshold": self.threshold,
            "at_ms": self.at_ms,
            "version": self.version,
        }


# A dead letter's payload and error are bounded (UTF-8 bytes). Kafka refuses a message over 1 MiB by default
# (`message.max.bytes`), so an input near or over that size would make its own dead letter unpublishable, and
# the sink would fail the epoch over and over. 64 KiB keeps every plausible input whole (a Debezium envelope of
# our tables is 1-2 KB, a reservation a few hundred bytes) and a dead letter at about 70 KB at most: fifteen of
# them fit in one default-sized message, and a ClickHouse `atp.dlq` row stays small.
DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024
DEAD_LETTER_ERROR_LIMIT = 4 * 1024


def bounded_text(text: str, limit: int, original: bytes | None = None) -> str:
    """``text``, or, when it (or the ``original`` bytes it was made from) is over ``limit`` bytes, its head and
    ``[truncated: N bytes, sha256 H]``: the original's size and hash, to find it again at its source."""
    if len(text) <= limit // 4 and (original is None or len(original) <= limit):
        return text  # short enough in any encoding: the common case, without encoding
    encoded = text.encode("utf-8", errors="replace")
    source = encoded if original is None else original
    if len(encoded) <= limit and len(source) <= limit:
        return text
    marker = f" [truncated: {len(source)} bytes, sha256 {hashlib.sha256(source).hexdigest()}]"
    return encoded[: limit - len(marker)].decode("utf-8", errors="ignore") + marker


@pickled_by_position
@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input the pipeline could not use, kept whole (personal data masked) with the reason.

    Its payload and error are bounded (:data:`DEAD_LETTER_PAYLOAD_LIMIT`, :data:`DEAD_LETTER_ERROR_LIMIT`),
    whoever builds it: a longer one keeps its head and says how long it was and its SHA-256.
    """

    source_topic: str
    partition: int
    offset: int
    reason: str
    error: str
    payload: str
    at_ms: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", bounded_text(self.error, DEAD_LETTER_ERROR_LIMIT))
        object.__setattr__(self, "payload", bounded_text(self.payload, DEAD_LETTER_PAYLOAD_LIMIT))

    @classmethod
    def of_decoded(
        cls, origin: Provenance, reason: str, error: str, payload: Mapping[str, object], at_ms: int
    ) -> DeadLetter:
        """An input found unusable after decoding (its raw message is gone): its coordinates and what it said."""
        return cls(
            origin.topic, origin.partition, origin.offset, reason, error, orjson.dumps(dict(payload)).decode(), at_ms
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_topic": self.source_topic,
            "partition": self.partition,
            "offset": self.offset,
            "reason": self.reason,
            "error": self.error,
            "payload": self.payload,
            "at_ms": self.at_ms,
        }

"""Channel reservations: ``orders.reservations`` JSON events, validated at the edge.

One event a message (key = reservation_id), fields as the legacy-sources spec
says. The pydantic model is strict: a quantity of ``1.5`` or ``true`` is not
taken for a number, a timestamp without a zone is not guessed at. Every message
is either a :class:`ReservationReceived` or a dead letter with a reason.
``customer_ref`` is personal data: it is read past, never copied into the event,
an error text or a log line, and masked in dead-lettered payloads.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from atp.domain.events import Event, Provenance, ReservationReceived
from atp.domain.inputs import Decoded
from atp.domain.time_window import IMPLAUSIBLE_TIMESTAMP, event_time_problem, moment_ahead_problem
from atp.errors import InputError
from connectors.cdc.decode import dead_letter_for
from connectors.json_input import validated_message

_NON_EMPTY = Field(min_length=1, max_length=200)


class ReservationMessage(BaseModel):
    """The wire shape of one reservation event."""

    model_config = ConfigDict(strict=True, extra="ignore", str_strip_whitespace=True)

    event_id: str = _NON_EMPTY
    reservation_id: str = _NON_EMPTY
    channel: str = _NON_EMPTY
    channel_sku: str = _NON_EMPTY
    location: str = _NON_EMPTY
    qty: int
    op: str
    expires_at: str | None = None
    occurred_at: str


# Which field a validation failure names -> the dead-letter reason.
_REASON_BY_FIELD = {"qty": "invalid_quantity", "op": "unknown_op"}
_OPS = frozenset({"HOLD", "CONFIRM", "RELEASE", "FULFILL"})
_MAX_QTY = 10**9


def decode_reservation(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Decoded:
    """The reservation event in one message, or why it cannot be used."""
    try:
        event: Event = _parse(topic, partition, offset, value, now_ms)
        return Decoded([event])
    except InputError as exc:
        return Decoded([], dead_letter_for(topic, partition, offset, value, exc, now_ms))


def _parse(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> ReservationReceived:
    message = validated_message(value, ReservationMessage, "a reservation message", _REASON_BY_FIELD)
    if message.op not in _OPS:
        raise InputError("unknown_op", f"op must be one of {sorted(_OPS)}")
    if not 0 < message.qty <= _MAX_QTY:
        raise InputError("invalid_quantity", f"qty must be a whole number above 0, got {message.qty}")
    if message.op == "HOLD" and message.expires_at is None:
        raise InputError("hold_without_expiry", "a HOLD must say when it lapses (expires_at)")
    occurred_at_ms = rfc3339_ms("occurred_at", message.occurred_at)
    expires_at_ms = rfc3339_ms("expires_at", message.expires_at) if message.expires_at is not None else None
    problem = event_time_problem(occurred_at_ms, now_ms)
    if problem is not None:
        raise InputError(IMPLAUSIBLE_TIMESTAMP, f"occurred_at {problem}")
    if message.op == "HOLD" and expires_at_ms is not None and (problem := moment_ahead_problem(expires_at_ms)):
        raise InputError(IMPLAUSIBLE_TIMESTAMP, f"expires_at {problem}")
    return ReservationReceived(
        channel=message.channel,
        channel_sku=message.channel_sku,
        location=message.location,
        event_id=message.event_id,
        reservation_id=message.reservation_id,
        op=message.op,
        qty=message.qty,
        expires_at_ms=expires_at_ms if message.op == "HOLD" else None,
        occurred_at_ms=occurred_at_ms,
        provenance=Provenance(
            occurred_at_ms, f"{topic}[{partition}]@{offset} event={message.event_id}", topic, partition, offset
        ),
    )


def rfc3339_ms(field: str, text: str) -> int:
    """An RFC 3339 timestamp with its offset; a naive one is refused rather than guessed."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InputError("invalid_timestamp", f"{field} is not an RFC 3339 timestamp") from exc
    if moment.tzinfo is None:
        raise InputError("invalid_timestamp", f"{field} has no UTC offset")
    return int(moment.timestamp() * 1000)

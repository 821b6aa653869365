"""Wish lists: ``orders.wishlist`` JSON events, validated at the edge (atp.domain.back_in_stock).

One event a message (key = wish_id; a FORGET: its event id). A FORGET names the customer by the SHA-256 of
their ref (``customer_ref_sha256``), never by the ref. The pydantic model is strict, like the
reservations' (connectors.reservations): ``consent`` must be a JSON boolean, a timestamp must carry its
offset. Every message is a :class:`WishChanged`, a :class:`CustomerForgotten`, or a dead letter with a
reason. ``customer_ref`` is personal data: it goes into the event (the notice must carry it) and nowhere
else: never into an error text, a log line or ``provenance.cause_ref``, and masked in dead-lettered payloads.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from atp.domain.back_in_stock import FORGET, OPS, WISH, WISH_OPS
from atp.domain.events import CustomerForgotten, Event, Provenance, WishChanged
from atp.domain.inputs import Decoded
from atp.domain.time_window import IMPLAUSIBLE_TIMESTAMP, event_time_problem
from atp.errors import InputError
from connectors.cdc.decode import dead_letter_for
from connectors.json_input import validated_message
from connectors.reservations import rfc3339_ms

_NON_EMPTY = Field(min_length=1, max_length=200)
_OPTIONAL = Field(default=None, min_length=1, max_length=200)


class WishMessage(BaseModel):
    """The wire shape of one wish-list event (a FORGET names only the customer)."""

    model_config = ConfigDict(strict=True, extra="ignore", str_strip_whitespace=True)

    event_id: str = _NON_EMPTY
    op: str
    customer_ref: str | None = _OPTIONAL  # every op but FORGET
    customer_ref_sha256: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")  # FORGET only
    wish_id: str | None = _OPTIONAL
    channel: str | None = _OPTIONAL
    channel_sku: str | None = _OPTIONAL
    consent: bool | None = None
    occurred_at: str


# Which field a validation failure names -> the dead-letter reason.
_REASON_BY_FIELD = {"op": "unknown_op", "consent": "invalid_consent"}


def decode_wish(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Decoded:
    """The wish-list event in one message, or why it cannot be used."""
    try:
        event: Event = _parse(topic, partition, offset, value, now_ms)
        return Decoded([event])
    except InputError as exc:
        return Decoded([], dead_letter_for(topic, partition, offset, value, exc, now_ms))


def _parse(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Event:
    message = validated_message(value, WishMessage, "a wish-list message", _REASON_BY_FIELD)
    if message.op not in OPS:
        raise InputError("unknown_op", f"op must be one of {sorted(OPS)}")
    occurred_at_ms = rfc3339_ms("occurred_at", message.occurred_at)
    problem = event_time_problem(occurred_at_ms, now_ms)
    if problem is not None:
        raise InputError(IMPLAUSIBLE_TIMESTAMP, f"occurred_at {problem}")
    provenance = Provenance(
        occurred_at_ms, f"{topic}[{partition}]@{offset} event={message.event_id}", topic, partition, offset
    )
    if message.op == FORGET:
        if message.customer_ref_sha256 is None:
            raise InputError("missing_field", "customer_ref_sha256: required for FORGET")
        return CustomerForgotten(message.event_id, occurred_at_ms, provenance, message.customer_ref_sha256)
    return _wish(message, occurred_at_ms, provenance)


def _wish(message: WishMessage, occurred_at_ms: int, provenance: Provenance) -> WishChanged:
    assert message.op in WISH_OPS
    if message.customer_ref is None:
        raise InputError("missing_customer_ref", f"customer_ref: required for {message.op}")
    for name in ("wish_id", "channel", "channel_sku"):
        if getattr(message, name) is None:
            raise InputError("missing_field", f"{name}: required for {message.op}")
    if message.op == WISH and message.consent is None:
        # Consent is never assumed: a WISH must say whether the shopper agreed to be told.
        raise InputError("invalid_consent", "consent: required (true or false) for WISH")
    assert message.wish_id is not None and message.channel is not None and message.channel_sku is not None
    return WishChanged(
        channel=message.channel,
        channel_sku=message.channel_sku,
        wish_id=message.wish_id,
        event_id=message.event_id,
        op=message.op,
        consent=bool(message.consent) and message.op == WISH,
        occurred_at_ms=occurred_at_ms,
        provenance=provenance,
        customer_ref=message.customer_ref,
    )

"""`orders.reservations` events: validated at the edge, personal data never copied (connectors/reservations.py)."""

from __future__ import annotations

import orjson
import pytest

from atp.domain.events import ReservationReceived
from connectors.reservations import decode_reservation
from tests.debezium_events import reservation_value

NOW = 1_800_000_000_000


def decode(value: bytes | None):
    return decode_reservation("orders.reservations", 2, 99, value, NOW)


def test_a_hold_becomes_a_reservation_event_without_the_customer():
    [event] = decode(reservation_value("HOLD", qty=3, expires_at="2026-11-22T10:15:00+01:00")).events
    assert isinstance(event, ReservationReceived)
    assert (event.op, event.qty, event.location, event.channel_sku, event.sku) == ("HOLD", 3, "DC0001", "SH-TEE-1", "")
    assert event.expires_at_ms == 1_795_338_900_000 and event.occurred_at_ms == 1_795_341_600_000
    assert event.provenance.cause_ref == "orders.reservations[2]@99 event=cart-1-HOLD"
    assert "cust-4711" not in repr(event)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"qty": 1.5}, "invalid_quantity"),
        ({"qty": -2}, "invalid_quantity"),
        ({"qty": 0}, "invalid_quantity"),
        ({"qty": True}, "invalid_quantity"),
        ({"expires_at": None}, "hold_without_expiry"),
        ({"expires_at": "2026-11-22T10:15:00"}, "invalid_timestamp"),
        ({"occurred_at": "yesterday"}, "invalid_timestamp"),
        ({"channel_sku": "  "}, "invalid_field"),
    ],
)
def test_a_bad_hold_is_dead_lettered_with_its_reason(fields, reason):
    decoded = decode(reservation_value("HOLD", **fields))
    assert decoded.events == [] and decoded.dead_letter is not None
    assert decoded.dead_letter.reason == reason
    assert "cust-4711" not in decoded.dead_letter.payload + decoded.dead_letter.error


def test_an_unknown_op_unparsable_json_and_an_empty_message_are_dead_lettered():
    unknown = orjson.loads(reservation_value("HOLD"))
    unknown["op"] = "STEAL"
    assert decode(orjson.dumps(unknown)).dead_letter.reason == "unknown_op"
    assert decode(b"{nope").dead_letter.reason == "unparsable_json"
    assert decode(None).dead_letter.reason == "empty_message"


def test_only_a_hold_keeps_an_expiry():
    [confirm] = decode(reservation_value("CONFIRM")).events
    assert isinstance(confirm, ReservationReceived) and confirm.expires_at_ms is None

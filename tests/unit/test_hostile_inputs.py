"""Hostile input on every input topic: whatever a producer sends, decoding ends in events or a dead letter
with a reason, never in an exception (a crash of the dataflow) (connectors/inputs.py, connectors/json_input.py)."""

from __future__ import annotations

import json

import orjson
import pytest

from atp.privacy import MASK, mask_personal_data
from connectors.inputs import decode_input
from tests.debezium_events import (
    ERP_STOCK,
    POS_STOCK,
    RESERVATIONS,
    envelope,
    mariadb_source,
    reservation_value,
    stock_bal_row,
)

NOW = 1_800_000_000_000

INPUT_TOPICS = [RESERVATIONS, "atp.reconcile", ERP_STOCK, POS_STOCK, "erp.transaction", "pos.transaction"]


def decode(topic: str, value: bytes | None):
    return decode_input(topic, 3, 77, value, NOW).decoded


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("topic", INPUT_TOPICS)
@pytest.mark.parametrize(
    "value",
    [
        nested(100_000),
        b"[" * 100_000,
        b'{"event_id": "e-1", "status": "END", "deep": ' + nested(100_000) + b"}",
        nested(1_000_000),  # orjson alone overflows the C stack on this: a segmentation fault
    ],
    ids=["100k levels", "100k unclosed", "a deep field", "a million levels"],
)
def test_json_nested_beyond_any_input_shape_is_dead_lettered_as_too_deeply_nested(topic, value):
    decoded = decode(topic, value)
    assert decoded.events == []
    assert decoded.dead_letter is not None
    assert (decoded.dead_letter.reason, decoded.dead_letter.error) == (
        "too_deeply_nested",
        "JSON nested deeper than 32 levels",
    )


@pytest.mark.parametrize("topic", INPUT_TOPICS)
@pytest.mark.parametrize(
    "value",
    [b'{"event_id": "\xff\xfe"}', b'{"qty": NaN}', b'{"qty": Infinity}', b'{"qty": -1e400}', b"\x00\x01\x02"],
    ids=["not UTF-8", "NaN", "Infinity", "beyond a double", "binary"],
)
def test_strange_json_is_dead_lettered_as_unparsable(topic, value):
    decoded = decode(topic, value)
    assert decoded.events == [] and decoded.dead_letter is not None
    assert decoded.dead_letter.reason == "unparsable_json"


def test_an_op_that_is_a_list_is_an_unknown_op_not_a_crash():
    doc = orjson.loads(envelope("u", None, stock_bal_row("TEE-1", "DC0001", "5.000"), mariadb_source("STOCK_BAL", 9)))
    doc["op"] = ["u"]
    decoded = decode(ERP_STOCK, orjson.dumps(doc))
    assert decoded.dead_letter is not None and decoded.dead_letter.reason == "unknown_op"


@pytest.mark.parametrize(
    ("qty_oh", "reason"),
    [
        ("1e999999", "quantity_out_of_range"),  # as an int, a million digits: minutes of CPU before the range check
        (2**70, "quantity_out_of_range"),  # beyond 64 bits: read as a double
        ("-1e999999", "negative_quantity"),
    ],
)
def test_a_huge_quantity_is_dead_lettered_at_once(qty_oh, reason):
    doc = orjson.loads(envelope("u", None, stock_bal_row("TEE-1", "DC0001", "5.000"), mariadb_source("STOCK_BAL", 9)))
    doc["after"]["QTY_OH"] = qty_oh
    decoded = decode(ERP_STOCK, json.dumps(doc).encode())  # stdlib: it writes integers beyond 64 bits
    assert decoded.dead_letter is not None and decoded.dead_letter.reason == reason


@pytest.mark.parametrize("binlog", ["mysql-bin.\u0663", "mysql-bin." + "9" * 5000], ids=["arabic digit", "5000 digits"])
def test_a_binlog_file_name_without_a_usable_sequence_number_is_dead_lettered(binlog):
    source = mariadb_source("STOCK_BAL", 9) | {"file": binlog}
    decoded = decode(ERP_STOCK, envelope("u", None, stock_bal_row("TEE-1", "DC0001", "5.000"), source))
    assert decoded.dead_letter is not None and decoded.dead_letter.reason == "missing_source"


def test_a_huge_quantity_in_a_reservation_is_an_invalid_quantity():
    doc = orjson.loads(reservation_value("HOLD"))
    doc["qty"] = 10**30
    decoded = decode(RESERVATIONS, json.dumps(doc).encode())
    assert decoded.dead_letter is not None and decoded.dead_letter.reason == "invalid_quantity"


def test_masking_is_bounded_in_depth_and_masks_what_it_does_not_read():
    deep: object = {"customer_email": "jane@example.com"}
    for _ in range(10_000):
        deep = [deep]
    masked = mask_personal_data({"customer_ref": "cust-1", "lines": deep})
    assert masked["customer_ref"] == MASK
    level = masked["lines"]
    for _ in range(63):
        level = level[0]
    assert level == MASK
    assert "jane@example.com" not in orjson.dumps(masked).decode()

"""Hostile input on every input topic: whatever a producer sends, decoding ends in events or a dead letter
with a reason, never in an exception (a crash of the dataflow) (connectors/inputs.py, connectors/json_input.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import fastavro
import orjson
import pytest

from atp.domain.engine_rules import EngineRules
from atp.domain.events import InboundChanged, LotChanged, Provenance, ReservationReceived
from atp.domain.records import DeadLetter
from atp.domain.sku_state import SkuState
from atp.privacy import MASK, mask_personal_data
from connectors.inputs import decode_input
from schemas import AVRO_DIR
from tests.debezium_events import (
    ERP_LOTS,
    ERP_POS,
    ERP_STOCK,
    POS_STOCK,
    RESERVATIONS,
    envelope,
    lot_row,
    mariadb_source,
    po_row,
    reservation_value,
    stock_bal_row,
)
from tests.engine_inputs import RULES, item, lot, stock

NOW = 1_800_000_000_000

INPUT_TOPICS = [
    RESERVATIONS, "orders.wishlist", "atp.reconcile", ERP_STOCK, POS_STOCK, "erp.transaction", "pos.transaction"
]  # fmt: skip


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


# -- bounded dead letters ---------------------------------------------------------------------------------------


def dlq_bytes(letter) -> int:
    """The dead letter's size as `atp.dlq` carries it (Avro body, contract atp.dlq-v1)."""
    schema = fastavro.parse_schema(orjson.loads((AVRO_DIR / "atp.dlq-v1.avsc").read_text()))
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema, letter.to_dict())
    return len(out.getvalue())


def test_a_two_megabyte_invalid_reservation_is_dead_lettered_in_64_kib_with_its_size_and_hash():
    doc = orjson.loads(reservation_value("HOLD", qty=-1))
    doc["note"] = "jane@example.com " + "x" * 2_000_000
    value = orjson.dumps(doc)
    letter = decode(RESERVATIONS, value).dead_letter
    assert letter is not None and letter.reason == "invalid_quantity"
    marker = f" [truncated: {len(value)} bytes, sha256 {hashlib.sha256(value).hexdigest()}]"
    assert letter.payload.endswith(marker)
    assert len(letter.payload.encode()) == 64 * 1024
    assert letter.payload.startswith('{"event_id":"cart-1-HOLD"')
    assert "cust-4711" not in letter.payload and "jane@example.com" not in letter.payload
    assert dlq_bytes(letter) < 70_000  # far below Kafka's default 1 MiB message limit


def test_two_megabytes_of_garbage_are_dead_lettered_in_64_kib_with_their_size_and_hash():
    value = b"\xff" + b"loyalty_id=LOY-99 " * 120_000
    letter = decode(ERP_STOCK, value).dead_letter
    assert letter is not None and letter.reason == "unparsable_json"
    assert letter.payload.endswith(f" [truncated: {len(value)} bytes, sha256 {hashlib.sha256(value).hexdigest()}]")
    assert len(letter.payload.encode()) <= 64 * 1024
    assert dlq_bytes(letter) < 70_000


def test_a_two_megabyte_error_text_is_bounded_to_4_kib_with_its_size_and_hash():
    status = "B" * 2_000_000
    letter = decode("erp.transaction", orjson.dumps({"status": status, "id": "0-1-2"})).dead_letter
    assert letter is not None and letter.reason == "invalid_transaction"
    error = f"status {status!r} with id '0-1-2'".encode()
    assert letter.error.startswith("status 'BBBB")
    assert letter.error.endswith(f" [truncated: {len(error)} bytes, sha256 {hashlib.sha256(error).hexdigest()}]")
    assert len(letter.error.encode()) == 4 * 1024
    assert dlq_bytes(letter) < 70_000


def test_a_dead_letter_built_after_decoding_is_bounded_too_and_a_short_one_is_kept_whole():
    origin = Provenance(1, "ref", RESERVATIONS, 1, 2)
    big = DeadLetter.of_decoded(origin, "unknown_location", "ST9999 is not known", {"location": "Z" * 100_000}, NOW)
    assert len(big.payload.encode()) == 64 * 1024 and "[truncated: 100015 bytes, sha256 " in big.payload
    small = DeadLetter.of_decoded(origin, "unknown_location", "ST9999 is not known", {"location": "ST9999"}, NOW)
    assert (small.payload, small.error) == ('{"location":"ST9999"}', "ST9999 is not known")


# -- sane timestamps --------------------------------------------------------------------------------------------

DAY = 86_400_000


def iso(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).isoformat()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"occurred_at": "1999-12-31T23:59:59Z"}, "occurred_at is before 2000-01-01"),
        ({"occurred_at": "1970-01-01T00:00:01Z"}, "occurred_at is before 2000-01-01"),
        ({"occurred_at": iso(NOW + DAY + 1000)}, "occurred_at is more than a day ahead of the clock"),
        ({"expires_at": "1999-06-01T00:00:00Z"}, "expires_at is before 2000-01-01"),
        ({"expires_at": "9999-12-31T23:00:00-12:00"}, "expires_at is after 9999-12-31"),
    ],
)
def test_a_reservation_with_an_implausible_time_is_dead_lettered(fields, error):
    decoded = decode(RESERVATIONS, reservation_value("HOLD", **fields))
    assert decoded.events == [] and decoded.dead_letter is not None
    assert (decoded.dead_letter.reason, decoded.dead_letter.error) == ("implausible_timestamp", error)


def test_a_reservation_a_few_hours_ahead_of_the_clock_is_taken():
    [event] = decode(RESERVATIONS, reservation_value("CONFIRM", occurred_at=iso(NOW + 3_600_000))).events
    assert isinstance(event, ReservationReceived) and event.occurred_at_ms == NOW + 3_600_000


@pytest.mark.parametrize(
    ("ts_ms", "error"),
    [
        (1, "commit time 1 is before 2000-01-01"),
        (NOW + 2 * DAY, f"commit time {NOW + 2 * DAY} is more than a day ahead of the clock"),
        (2**63 - 1, f"commit time {2**63 - 1} is more than a day ahead of the clock"),
    ],
)
def test_a_cdc_change_with_an_implausible_commit_time_is_dead_lettered(ts_ms, error):
    value = envelope("u", None, stock_bal_row("TEE-1", "DC0001", "5.000"), mariadb_source("STOCK_BAL", 9, ts_ms=ts_ms))
    decoded = decode(ERP_STOCK, value)
    assert decoded.events == [] and decoded.dead_letter is not None
    assert (decoded.dead_letter.reason, decoded.dead_letter.error) == ("implausible_timestamp", error)


def test_a_lot_expiring_beyond_any_calendar_is_dead_lettered_and_counts_as_expired_so_the_engine_never_raises():
    value = envelope("c", None, lot_row("TEE-1", "DC0001", "L1", "4.000", 3_000_000), mariadb_source("STOCK_LOT", 9))
    decoded = decode(ERP_LOTS, value)
    assert decoded.dead_letter is not None
    assert (decoded.dead_letter.reason, decoded.dead_letter.error) == (
        "implausible_timestamp",
        "column EXPIRY_DT is after 9999-12-31",
    )
    [fail_safe] = decoded.events
    assert isinstance(fail_safe, LotChanged) and (fail_safe.qty, fail_safe.expiry_day) == (4, -25_567)  # 1900-01-01
    state = SkuState("TEE-1")
    state.apply(item(), NOW, RULES)
    state.apply(stock(10, position=1), NOW, RULES)
    [record] = state.apply(fail_safe, NOW, RULES)
    assert (record.unsellable, record.available) == (4, 6)


def test_a_purchase_order_due_before_1900_is_dead_lettered_and_counts_no_supply():
    value = envelope(
        "c", None, po_row("PO1", 1, "TEE-1", "DC0001", "9.000", "0.000", -30_000), mariadb_source("PO_LINE", 9)
    )
    decoded = decode(ERP_POS, value)
    assert decoded.dead_letter is not None
    assert (decoded.dead_letter.reason, decoded.dead_letter.error) == (
        "implausible_timestamp",
        "column DUE_DT is before 1900-01-01",
    )
    [fail_safe] = decoded.events
    assert isinstance(fail_safe, InboundChanged) and (fail_safe.line, fail_safe.open_qty) == ("PO1/1", 0)


def test_a_lot_expiring_on_the_last_day_of_the_calendar_behind_utc_arms_a_timer_python_can_represent():
    rules = EngineRules(default_timezone="Pacific/Pago_Pago")  # UTC-11: 00:00 on 9999-12-31 is in year 10000 in UTC
    state = SkuState("TEE-1")
    state.apply(item(), NOW, rules)
    state.apply(stock(10, position=1), NOW, rules)
    state.apply(lot("L1", 4, 2_932_896, position=2), NOW, rules)  # 9999-12-31, the ERP's "never"
    deadline = state.next_deadline_ms(rules)
    assert deadline == 253_402_214_400_000  # 9999-12-31T00:00:00Z
    assert dt.datetime.fromtimestamp(deadline / 1000, dt.UTC) == dt.datetime(9999, 12, 31, tzinfo=dt.UTC)

"""Debezium envelopes in, domain events or dead letters out."""

import orjson
import pytest

from atp.domain.events import ItemChanged, StockLevel, StoreStockByUpc, UpcReleased
from connectors.cdc.decode import decode_boundary, decode_change
from tests.debezium_events import (
    ERP_ITEMS,
    ERP_STOCK,
    POS_STOCK,
    envelope,
    item_row,
    mariadb_source,
    postgres_source,
    stock_bal_row,
    store_stock_row,
)

NOW = 1_800_000_000_000


def decode(topic: str, value: bytes | None, offset: int = 7):
    return decode_change(topic, 1, offset, value, NOW)


def test_a_stock_bal_update_becomes_a_dc_stock_level_with_its_binlog_position():
    value = envelope(
        "u",
        stock_bal_row("TEE-1", "DC0001", "5.000"),
        stock_bal_row("TEE-1", "DC0001", "12.000", "2.000"),
        mariadb_source("STOCK_BAL", pos=4242, row=3, ts_ms=1_700_000_001_000),
    )
    [level] = decode(ERP_STOCK, value).events
    assert level == StockLevel("TEE-1", "DC0001", 12, 2, (2, 4242, 3), level.provenance)
    assert level.provenance.source_ts_ms == 1_700_000_001_000
    assert level.provenance.cause_ref == "erp.erp.STOCK_BAL[1]@7 binlog=2:4242#3"


def test_snapshot_reads_and_creates_decode_like_updates():
    for op in ("r", "c"):
        value = envelope(
            op, None, stock_bal_row("TEE-1", "DC0001", "3.000"), mariadb_source("STOCK_BAL", 10, snapshot="true")
        )
        [level] = decode(ERP_STOCK, value).events
        assert level.on_hand == 3


def test_char_location_codes_arrive_padded_and_are_trimmed():
    value = envelope("u", None, stock_bal_row("TEE-1", "ST42  ", "1.000"), mariadb_source("STOCK_BAL", 10))
    assert decode(ERP_STOCK, value).events[0].location == "ST42"


def test_a_deleted_stock_row_is_a_level_of_zero():
    value = envelope("d", stock_bal_row("TEE-1", "DC0001", "9.000"), None, mariadb_source("STOCK_BAL", 11))
    [level] = decode(ERP_STOCK, value).events
    assert (level.on_hand, level.quality_hold) == (0, 0)


def test_a_tombstone_is_used_and_changes_nothing():
    result = decode(ERP_STOCK, None)
    assert result.events == [] and result.dead_letter is None


def test_a_quality_hold_above_on_hand_is_clamped_to_on_hand():
    value = envelope("u", None, stock_bal_row("TEE-1", "DC0001", "3.000", "8.000"), mariadb_source("STOCK_BAL", 10))
    assert decode(ERP_STOCK, value).events[0].quality_hold == 3


def test_a_store_stock_update_keeps_its_upc_and_lsn_and_microsecond_commit_time():
    value = envelope(
        "u",
        None,
        store_stock_row("ST0001", "000000000017", 4),
        postgres_source("store_stock", lsn=987654, ts_us=1_700_000_000_123_456),
    )
    [row] = decode(POS_STOCK, value).events
    assert row == StoreStockByUpc("000000000017", "ST0001", 4, (987654,), row.provenance)
    assert row.provenance.source_ts_ms == 1_700_000_000_123


def test_an_item_whose_upc_changed_releases_the_old_upc():
    value = envelope(
        "u", item_row("TEE-1", "000000000017"), item_row("TEE-1", "000000000024"), mariadb_source("ITEM_MASTER", 50)
    )
    released, changed = decode(ERP_ITEMS, value).events
    assert released == UpcReleased("000000000017", "TEE-1", (2, 50, 0))
    assert isinstance(changed, ItemChanged) and changed.upc == "000000000024"


def test_a_discontinued_item_is_flagged():
    value = envelope("u", None, item_row("TEE-1", "000000000017", status="D"), mariadb_source("ITEM_MASTER", 50))
    [changed] = decode(ERP_ITEMS, value).events
    assert isinstance(changed, ItemChanged) and changed.discontinued and not changed.deleted


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "unparsable_json"),
        (b"[1, 2]", "not_an_envelope"),
        (orjson.dumps({"op": "x", "source": {}}), "unknown_op"),
        (orjson.dumps({"op": "u", "after": {}, "before": None}), "missing_source"),
        (
            envelope("u", None, {"ITEM_NO": "A", "LOC_CD": "DC0001", "QTY_HOLD": "0"}, mariadb_source("STOCK_BAL", 1)),
            "missing_column",
        ),
        (
            envelope("u", None, stock_bal_row("A", "DC0001", "2.500"), mariadb_source("STOCK_BAL", 1)),
            "fractional_quantity",
        ),
        (envelope("u", None, stock_bal_row("A", "DC0001", "abc"), mariadb_source("STOCK_BAL", 1)), "wrong_type"),
        (
            envelope("u", None, stock_bal_row("A", "DC0001", "1e30"), mariadb_source("STOCK_BAL", 1)),
            "quantity_out_of_range",
        ),
        (envelope("t", None, None, mariadb_source("STOCK_BAL", 1)), "truncate"),
        (orjson.dumps({"schema": {}, "payload": {}}), "schemas_enabled"),
    ],
)
def test_unusable_change_events_are_dead_lettered_with_a_reason(value: bytes, reason: str):
    result = decode(ERP_STOCK, value)
    assert result.dead_letter is not None
    assert (result.dead_letter.reason, result.dead_letter.source_topic, result.dead_letter.offset) == (
        reason,
        ERP_STOCK,
        7,
    )


def test_a_negative_quantity_is_dead_lettered_and_zeroes_the_row_so_nothing_is_over_promised():
    value = envelope("u", None, stock_bal_row("TEE-1", "DC0001", "-4.000"), mariadb_source("STOCK_BAL", 77))
    result = decode(ERP_STOCK, value)
    assert result.dead_letter is not None and result.dead_letter.reason == "negative_quantity"
    [level] = result.events
    assert (level.sku, level.location, level.on_hand, level.position) == ("TEE-1", "DC0001", 0, (2, 77, 0))


def test_a_stock_row_whose_quality_hold_column_was_dropped_holds_everything_until_the_erp_says_again():
    row = stock_bal_row("TEE-1", "DC0001", "30.000")
    del row["QTY_HOLD"]
    result = decode(ERP_STOCK, envelope("u", None, row, mariadb_source("STOCK_BAL", 78)))
    assert result.dead_letter is not None and result.dead_letter.reason == "missing_column"
    [level] = result.events
    assert (level.on_hand, level.quality_hold) == (30, 30)


def test_an_unknown_topic_is_dead_lettered():
    assert decode("erp.erp.MYSTERY", b"{}").dead_letter.reason == "unknown_topic"


def test_dead_letter_payloads_never_carry_personal_data():
    value = orjson.dumps({"op": "x", "after": {"customer_email": "ann@example.com", "loyalty_id": "L-991"}})
    letter = decode(POS_STOCK, value).dead_letter
    assert "ann@example.com" not in letter.payload and "L-991" not in letter.payload


def test_personal_data_is_masked_even_in_payloads_that_do_not_parse():
    letter = decode(POS_STOCK, b'{"customer_email": "ann@example.com", "loyalty_id": "L-991", oops').dead_letter
    assert "ann@example.com" not in letter.payload and "L-991" not in letter.payload


# -- transaction metadata -----------------------------------------------------------------------


def _tx_record(status: str, tx_id: str, count: int | None = None, collections: list | None = None) -> bytes:
    return orjson.dumps(
        {"status": status, "id": tx_id, "event_count": count, "data_collections": collections, "ts_ms": 1_700_000_000}
    )


def test_a_transaction_end_counts_only_the_changes_of_tables_we_read():
    collections = [
        {"data_collection": "public.store_stock", "event_count": 2},
        {"data_collection": "public.store", "event_count": 1},  # captured, not read
    ]
    decoded = decode_boundary("pos.transaction", 0, 7, _tx_record("END", "734:26459648", 3, collections), 0)
    assert decoded.dead_letter is None and decoded.boundary is not None
    assert (decoded.boundary.tx_id, decoded.boundary.status, decoded.boundary.event_count) == ("734", "END", 2)


def test_postgres_begin_changes_and_end_name_one_transaction_despite_their_lsn_suffixes():
    begin = decode_boundary("pos.transaction", 0, 6, _tx_record("BEGIN", "734:26458816"), 0)
    change = decode_change(
        POS_STOCK,
        0,
        9,
        orjson.dumps(
            {
                **orjson.loads(
                    envelope(
                        "u",
                        None,
                        store_stock_row("ST0001", "000000000017", 3),
                        postgres_source("store_stock", 26459096),
                    )
                ),
                "transaction": {"id": "734:26459096", "total_order": 2, "data_collection_order": 2},
            }
        ),
        NOW,  # the flow's clock: a commit time more than a day ahead of it is implausible
    )
    assert begin.boundary is not None and begin.boundary.tx_id == "734"
    assert change.transaction == ("734", 2)
    assert "tx=734" in change.events[0].provenance.cause_ref


def test_a_change_that_cannot_be_used_still_counts_in_its_transaction():
    row = stock_bal_row("TEE-1", "DC0001", "-4.000")
    doc = orjson.loads(envelope("u", None, row, mariadb_source("STOCK_BAL", 77)))
    doc["transaction"] = {"id": "0-1-9", "total_order": 1, "data_collection_order": 1}
    decoded = decode_change(ERP_STOCK, 1, 3, orjson.dumps(doc), 0)
    assert decoded.dead_letter is not None and decoded.transaction == ("0-1-9", 1)


def test_a_malformed_transaction_record_is_dead_lettered():
    for value in (b"{nope", _tx_record("END", "0-1-9", None), _tx_record("COMMIT", "0-1-9", 1), None):
        decoded = decode_boundary("erp.transaction", 0, 1, value, 0)
        assert decoded.boundary is None and decoded.dead_letter is not None

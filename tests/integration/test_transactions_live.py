"""Source transactions through the real MariaDB, PostgreSQL and Debezium: never a record of half of one.

Each test makes an ordinary legacy write, one database transaction touching several rows
or tables, and watches what channels would see: no record may show a state between the
transaction's before and its after, and records name the transaction they came from.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid

from atp.pipeline import flow_pid_file
from atp.settings import Settings
from connectors import topics
from connectors.legacy_db import erp_connection, pos_connection
from connectors.output_watch import TopicWatcher
from tests.integration.legacy_writes import a_store, new_upc, put_on_shelf
from tests.integration.outputs import next_record

DC1, DC2 = "DC0001", "DC0002"


def new_items(settings: Settings, count: int, item_type: str = "S", listed: bool = False) -> list[tuple[str, str]]:
    """``count`` new items in one transaction (and their SHOPIFY listings): [(sku, upc)]."""
    made = [(f"TX-{uuid.uuid4().hex[:10].upper()}", new_upc()) for _ in range(count)]
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.executemany(
            "INSERT INTO ITEM_MASTER (ITEM_NO, STYLE_NO, DESCR, UPC, ITEM_TYPE, STATUS_FLG, UPD_TS) "
            "VALUES (%s, 'TX', 'transaction test item', %s, %s, 'A', NOW(3))",
            [(sku, upc, item_type) for sku, upc in made],
        )
        if listed:
            cur.executemany(
                "INSERT INTO CHANNEL_LISTING (CHANNEL_CD, CHANNEL_SKU, ITEM_NO, ACTIVE_FLG) "
                "VALUES ('SHOPIFY', %s, %s, 'Y')",
                [(f"SH-{sku}", sku) for sku, _ in made],
            )
        erp.commit()
    return made


def erp_transaction(settings: Settings, *statements: tuple[str, object]) -> None:
    """Several statements committed as one ERP transaction."""
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        for sql, params in statements:
            if isinstance(params, list):
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params)
        erp.commit()


def set_stock(rows: list[tuple[str, str, int]]) -> tuple[str, object]:
    return (
        "INSERT INTO STOCK_BAL (ITEM_NO, LOC_CD, QTY_OH, QTY_HOLD, UPD_TS) VALUES (%s, %s, %s, 0, NOW(3)) "
        "ON DUPLICATE KEY UPDATE QTY_OH = VALUES(QTY_OH), UPD_TS = NOW(3)",
        rows,
    )


def latest(watcher: TopicWatcher, wanted: dict[str, int], field: str, timeout_s: float = 120) -> dict[str, object]:
    """``field`` of each wanted key's newest record, once they all show what is wanted (or time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        newest: dict[str, tuple[int, object]] = {}
        for key, record in watcher.drain(quiet_s=1.0):
            if key in wanted and int(record["version"]) >= newest.get(key, (0, None))[0]:
                newest[key] = (int(record["version"]), record[field])
        shown = {key: value for key, (_, value) in newest.items()}
        if shown == wanted or time.monotonic() > deadline:
            return shown


def latest_on_hand(watcher: TopicWatcher, wanted: dict[str, int]) -> dict[str, object]:
    return latest(watcher, wanted, "on_hand")


def listed_with_ten_at_dc1(
    settings: Settings, channel: TopicWatcher, count: int
) -> tuple[list[tuple[str, str]], set[str]]:
    """``count`` new items listed on SHOPIFY with 10 units at DC1 and none at DC2, once the channel shows them."""
    items = new_items(settings, count, listed=True)
    erp_transaction(settings, set_stock([(sku, dc, 10 if dc == DC1 else 0) for sku, _ in items for dc in (DC1, DC2)]))
    listings = {f"SH-{sku}" for sku, _ in items}
    assert latest(channel, dict.fromkeys(listings, 10), "available") == dict.fromkeys(listings, 10)
    return items, listings


def records_for(watcher: TopicWatcher, key: str, quiet_s: float = 3.0) -> list[dict[str, object]]:
    """Every record of ``key`` the watcher has seen, once the topic has been quiet for ``quiet_s``."""
    return [r for k, r in watcher.drain(quiet_s=quiet_s) if k == key]


def test_a_kit_whose_bill_of_materials_is_inserted_in_one_statement_shows_only_the_whole_kit(
    pipeline: Settings, availability: TopicWatcher
):
    (part_a, _), (part_b, _) = new_items(pipeline, 2)
    [(kit, _)] = new_items(pipeline, 1, item_type="K")
    erp_transaction(pipeline, set_stock([(part_a, DC1, 10), (part_b, DC1, 5)]))
    next_record(availability, f"{part_b}@{DC1}", on_hand=5)

    erp_transaction(
        pipeline,
        ("INSERT INTO KIT_COMPONENT (KIT_ITEM_NO, COMP_ITEM_NO, COMP_QTY) VALUES (%s, %s, 1), (%s, %s, 2)",
         (kit, part_a, kit, part_b)),
    )  # fmt: skip
    first = next_record(availability, f"{kit}@{DC1}")
    seen = records_for(availability, f"{kit}@{DC1}")
    assert [r["available"] for r in seen] == [2]  # min(10 / 1, 5 / 2), never 10 (one part) or 5 // 2 alone
    assert "tx=" in str(first["cause_ref"])


def test_a_goods_receipt_with_an_expired_lot_never_shows_the_expired_units_available(
    pipeline: Settings, availability: TopicWatcher
):
    [(sku, _)] = new_items(pipeline, 1)
    key = f"{sku}@{DC1}"
    erp_transaction(pipeline, set_stock([(sku, DC1, 10)]))
    next_record(availability, key, on_hand=10)

    yesterday = dt.date.today() - dt.timedelta(days=1)
    erp_transaction(
        pipeline,
        ("UPDATE STOCK_BAL SET QTY_OH = 16, UPD_TS = NOW(3) WHERE ITEM_NO = %s AND LOC_CD = %s", (sku, DC1)),
        ("INSERT INTO STOCK_LOT (ITEM_NO, LOC_CD, LOT_NO, QTY, EXPIRY_DT) VALUES (%s, %s, 'L-OLD', 6, %s)",
         (sku, DC1, yesterday)),
    )  # fmt: skip
    after = next_record(availability, key, on_hand=16)
    assert (after["unsellable"], after["available"]) == (6, 10)
    assert all(r["available"] <= 10 for r in records_for(availability, key))


def test_safety_stock_committed_just_before_the_first_stock_is_in_the_first_record_with_that_stock(
    pipeline: Settings, availability: TopicWatcher
):
    [(sku, _)] = new_items(pipeline, 1)
    key = f"{sku}@{DC1}"
    erp_transaction(pipeline, ("INSERT INTO SAFETY_STK (ITEM_NO, LOC_CD, SS_QTY) VALUES (%s, %s, 3)", (sku, DC1)))
    erp_transaction(pipeline, set_stock([(sku, DC1, 10)]))
    final = next_record(availability, key, on_hand=10)
    seen = [r for k, r in availability.seen if k == key]
    assert all(r["safety_stock"] == 3 for r in seen)  # never full stock without the planner's safety stock
    assert final["available"] == 7


def test_a_transfer_between_two_dcs_in_one_transaction_leaves_the_channel_figure_alone(
    pipeline: Settings, availability: TopicWatcher
):
    channel = TopicWatcher(pipeline.kafka, topics.channel_topic("SHOPIFY"))
    try:
        [(sku, _)] = new_items(pipeline, 1, listed=True)
        erp_transaction(pipeline, set_stock([(sku, DC1, 10), (sku, DC2, 4)]))
        next_record(channel, f"SH-{sku}", available=14)
        channel.drain(quiet_s=2.0)
        before = len(channel.seen)

        erp_transaction(pipeline, set_stock([(sku, DC1, 5), (sku, DC2, 9)]))
        moved_to = {f"{sku}@{DC1}": 5, f"{sku}@{DC2}": 9}
        assert latest_on_hand(availability, moved_to) == moved_to
        moved = [r for k, r in channel.drain(quiet_s=3.0)[before:] if k == f"SH-{sku}"]
        assert moved == []  # 14 before, 14 after: nothing in between was ever a committed state
    finally:
        channel.close()


def test_a_till_sale_of_ticket_line_and_shelf_publishes_the_shelf_once(pipeline: Settings, availability: TopicWatcher):
    [(sku, upc)] = new_items(pipeline, 1)
    store = a_store(pipeline)
    key = f"{sku}@{store}"
    put_on_shelf(pipeline, store, upc, 7)
    next_record(availability, key, on_hand=7)

    ticket = int(time.time_ns() // 1000)
    with pos_connection(pipeline.stack) as pos, pos.cursor() as cur:
        cur.execute(
            "INSERT INTO sale_ticket (ticket_id, store_id, opened_at, status) VALUES (%s, %s, now(), 'PAID')",
            (ticket, store),
        )
        cur.execute(
            "INSERT INTO sale_line (ticket_id, line_no, upc, qty, unit_price) VALUES (%s, 1, %s, 2, 9.99)",
            (ticket, upc),
        )
        cur.execute(
            "UPDATE store_stock SET on_hand = on_hand - 2, updated_at = localtimestamp "
            "WHERE store_id = %s AND upc = %s",
            (store, upc),
        )
        pos.commit()
    sold = next_record(availability, key, on_hand=5)
    assert sold["cause"] == "sale" and "tx=" in str(sold["cause_ref"])
    assert [r["on_hand"] for r in records_for(availability, key)] == [7, 5]


def test_a_transaction_of_a_thousand_rows_moves_every_dc_figure_and_no_channel_figure(
    pipeline: Settings, availability: TopicWatcher
):
    channel = TopicWatcher(pipeline.kafka, topics.channel_topic("SHOPIFY"))
    try:
        items, listings = listed_with_ten_at_dc1(pipeline, channel, 500)
        before = len(channel.seen)

        # One transaction of 1,000 row changes: every SKU moves 6 of its 10 units from DC1 to DC2.
        erp_transaction(
            pipeline, set_stock([(sku, dc, 4 if dc == DC1 else 6) for sku, _ in items for dc in (DC1, DC2)])
        )
        wanted = {f"{sku}@{dc}": 4 if dc == DC1 else 6 for sku, _ in items for dc in (DC1, DC2)}
        assert latest_on_hand(availability, wanted) == wanted
        assert [k for k, _ in channel.drain(quiet_s=2.0)[before:] if k in listings] == []
    finally:
        channel.close()


def test_a_dataflow_killed_while_transactions_flow_neither_loses_nor_half_applies_one(
    pipeline: Settings, availability: TopicWatcher
):
    channel = TopicWatcher(pipeline.kafka, topics.channel_topic("SHOPIFY"))
    try:
        items, listings = listed_with_ten_at_dc1(pipeline, channel, 20)
        before = len(channel.seen)

        def transfers() -> None:  # ten transactions, each moving one unit of every SKU (40 rows each)
            for step in range(1, 11):
                rows = [(sku, dc, 10 - step if dc == DC1 else step) for sku, _ in items for dc in (DC1, DC2)]
                erp_transaction(pipeline, set_stock(rows))
                time.sleep(0.15)

        writer = threading.Thread(target=transfers)
        writer.start()
        time.sleep(0.6)
        os.kill(int(flow_pid_file(pipeline.stack).read_text()), signal.SIGKILL)
        writer.join()

        final = {f"{sku}@{dc}": (0 if dc == DC1 else 10) for sku, _ in items for dc in (DC1, DC2)}
        assert latest_on_hand(availability, final) == final  # nothing lost
        shown = [(k, r["available"]) for k, r in channel.drain(quiet_s=3.0)[before:] if k in listings]
        assert all(available == 10 for _, available in shown), shown  # every committed state sums to 10
    finally:
        channel.close()

"""The dataflow in-process: Debezium messages in, records and dead letters out (Bytewax testing I/O)."""

import pytest
from bytewax.testing import TestingSink, TestingSource, cluster_main, run_main

from atp.domain.records import AvailabilityRecord, DeadLetter
from atp.settings import settings_from_fields
from flows.process import availability_flow
from tests.debezium_events import (
    ERP_ITEMS,
    ERP_STOCK,
    POS_STOCK,
    envelope,
    item_row,
    mariadb_source,
    message,
    postgres_source,
    stock_bal_row,
    store_stock_row,
)

UPC = "000000000017"


def run(messages, workers: int = 1) -> list[AvailabilityRecord | DeadLetter]:
    out: list[AvailabilityRecord | DeadLetter] = []
    flow = availability_flow(
        settings_from_fields(low_stock_threshold=5, store_safety_stock=0), TestingSource(messages), TestingSink(out)
    )
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return out


def figures(out) -> list[tuple[str, int, int, str, int]]:
    return sorted(
        (r.key, r.on_hand, r.available, r.status, r.version) for r in out if isinstance(r, AvailabilityRecord)
    )


def item(offset: int, status: str = "A"):
    return message(
        ERP_ITEMS,
        envelope("r", None, item_row("TEE-1", UPC, status=status), mariadb_source("ITEM_MASTER", offset)),
        offset,
    )


def dc_stock(offset: int, qty: str, hold: str = "0.000"):
    return message(
        ERP_STOCK,
        envelope("u", None, stock_bal_row("TEE-1", "DC0001", qty, hold), mariadb_source("STOCK_BAL", 1000 + offset)),
        offset,
    )


def shelf(offset: int, on_hand: int):
    return message(
        POS_STOCK,
        envelope("u", None, store_stock_row("ST0001", UPC, on_hand), postgres_source("store_stock", 5000 + offset)),
        offset,
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_dc_and_store_stock_become_availability_records(workers: int):
    out = run([item(1), dc_stock(1, "12.000", "2.000"), shelf(1, 4), shelf(2, 2)], workers)
    # All of it arrives within one epoch: each key publishes once, its state at the epoch's close.
    assert figures(out) == [
        ("TEE-1@DC0001", 12, 10, "IN_STOCK", 1),
        ("TEE-1@ST0001", 2, 2, "LOW_STOCK", 1),
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_stock_that_arrives_before_its_item_is_published_once_the_item_is_known(workers: int):
    out = run([dc_stock(1, "12.000"), shelf(1, 4), item(9)], workers)
    assert figures(out) == [("TEE-1@DC0001", 12, 12, "IN_STOCK", 1), ("TEE-1@ST0001", 4, 4, "LOW_STOCK", 1)]


def test_duplicated_inputs_publish_nothing_twice():
    out = run([item(1), dc_stock(1, "12.000"), dc_stock(1, "12.000"), item(1)])
    assert figures(out) == [("TEE-1@DC0001", 12, 12, "IN_STOCK", 1)]


def test_an_older_stock_change_arriving_late_is_ignored():
    late = message(
        ERP_STOCK, envelope("u", None, stock_bal_row("TEE-1", "DC0001", "50.000"), mariadb_source("STOCK_BAL", 900)), 3
    )
    out = run([item(1), dc_stock(1, "12.000"), late])
    assert figures(out) == [("TEE-1@DC0001", 12, 12, "IN_STOCK", 1)]


def test_bad_input_is_dead_lettered_and_the_flow_keeps_going():
    out = run([item(1), message(ERP_STOCK, b"{garbage", 2), dc_stock(3, "7.000")])
    letters = [r for r in out if isinstance(r, DeadLetter)]
    assert [(d.source_topic, d.offset, d.reason) for d in letters] == [(ERP_STOCK, 2, "unparsable_json")]
    assert figures(out) == [("TEE-1@DC0001", 7, 7, "IN_STOCK", 1)]


def test_every_input_is_either_used_or_dead_lettered():
    inputs = [
        item(1),
        dc_stock(2, "3.000"),
        message(ERP_STOCK, b"", 3),
        message(POS_STOCK, b"[]", 4),
        message(ERP_STOCK, None, 5),
    ]
    out = run(inputs)
    dead = {d.offset for d in out if isinstance(d, DeadLetter)}
    assert dead == {3, 4}


def test_the_same_inputs_in_another_interleaving_publish_the_same_versions():
    """What a restart does: it may replay the topics in another interleaving, and must re-send the same records."""
    stock_changes = [dc_stock(1, "10.000"), dc_stock(2, "11.000"), shelf(1, 4), shelf(2, 3)]
    item_first = run([item(1), *stock_changes])
    item_last = run([*stock_changes, item(1)])
    assert figures(item_first) == figures(item_last)

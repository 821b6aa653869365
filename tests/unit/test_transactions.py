"""A source's transaction log: each transaction released whole, in commit order, and never silently in part."""

from __future__ import annotations

from atp.domain.events import Provenance, StockLevel
from atp.domain.records import DeadLetter
from atp.domain.transactions import (
    BEGIN,
    END,
    INCOMPLETE_TRANSACTION,
    OVERSIZED_TRANSACTION,
    Released,
    TransactionLog,
    TxBoundary,
    TxChange,
)

NOW = 1_800_000_000_000
WAIT = 60_000
LIMIT = 100


def level(sku: str, on_hand: int, pos: int) -> StockLevel:
    return StockLevel(sku, "DC0001", on_hand, 0, (1, pos, 0), Provenance(NOW, f"stock@{pos}"))


def change(tx: str, order: int, *events: StockLevel) -> TxChange:
    return TxChange(tx, order, events)


def end(tx: str, count: int, offset: int = 0) -> TxBoundary:
    return TxBoundary(tx, END, count, Provenance(NOW, f"end {tx}", "erp.transaction", 0, offset))


def begin(tx: str) -> TxBoundary:
    return TxBoundary(tx, BEGIN, 0, Provenance(NOW, f"begin {tx}", "erp.transaction", 0, 0))


def feed(log: TransactionLog, *inputs, now: int = NOW) -> list[Released | DeadLetter]:
    out: list[Released | DeadLetter] = []
    for value in inputs:
        out += log.receive(value, now, LIMIT)
    return out


def released(out) -> list[tuple[str, list[int]]]:
    return [(r.tx_id, [e.on_hand for e in r.events]) for r in out if isinstance(r, Released)]


def test_a_transaction_is_released_only_once_all_its_changes_and_its_end_are_in():
    log = TransactionLog("erp")
    assert feed(log, begin("0-1-5"), change("0-1-5", 2, level("KIT-A", 3, 12))) == []
    assert feed(log, end("0-1-5", 2)) == []
    out = feed(log, change("0-1-5", 1, level("KIT-B", 7, 11)))
    assert released(out) == [("0-1-5", [7, 3])]  # in the order of the transaction, whatever the arrival


def test_end_before_its_changes_and_changes_before_their_end_both_complete_it():
    before, after = TransactionLog("erp"), TransactionLog("erp")
    x, y = change("t1", 1, level("A", 1, 1)), change("t1", 2, level("B", 2, 2))
    assert released(feed(before, end("t1", 2), x, y)) == [("t1", [1, 2])]
    assert released(feed(after, y, x, end("t1", 2))) == [("t1", [1, 2])]


def test_a_later_transaction_waits_for_every_one_committed_before_it():
    log = TransactionLog("erp")
    out = feed(log, end("t1", 2), end("t2", 1), change("t2", 1, level("A", 9, 20)), change("t1", 1, level("A", 5, 10)))
    assert released(out) == []
    out = feed(log, change("t1", 2, level("B", 4, 11)))
    assert released(out) == [("t1", [5, 4]), ("t2", [9])]


def test_a_repeated_change_or_end_of_a_released_transaction_changes_nothing():
    log = TransactionLog("erp")
    feed(log, end("t1", 1), change("t1", 1, level("A", 5, 10)))
    assert feed(log, change("t1", 1, level("A", 5, 10)), end("t1", 1)) == []
    x = change("t2", 1, level("A", 6, 11))
    assert released(feed(log, x, x, end("t2", 2), change("t2", 2, level("B", 1, 12)))) == [("t2", [6, 1])]


def test_a_transaction_without_changes_we_capture_releases_nothing_and_blocks_nothing():
    log = TransactionLog("erp")
    out = feed(log, end("t1", 0), end("t2", 1), change("t2", 1, level("A", 3, 10)))
    assert released(out) == [("t2", [3])]


def test_an_incomplete_transaction_waits_its_bounded_time_then_is_applied_as_it_stands_and_dead_lettered():
    log = TransactionLog("erp")
    feed(
        log,
        end("t1", 2, offset=41),
        change("t1", 1, level("A", 5, 10)),
        end("t2", 1),
        change("t2", 1, level("B", 1, 20)),
    )
    assert log.deadline_ms(WAIT) == NOW + WAIT
    assert log.expire(NOW + WAIT - 1, WAIT) == []
    out = log.expire(NOW + WAIT, WAIT)
    [letter] = [o for o in out if isinstance(o, DeadLetter)]
    assert (letter.reason, letter.source_topic, letter.offset) == (INCOMPLETE_TRANSACTION, "erp.transaction", 41)
    assert "1 of 2 changes" in letter.error
    assert released(out) == [("t1", [5]), ("t2", [1])]  # then the next one in commit order
    assert released(log.receive(change("t1", 2, level("C", 8, 11)), NOW + WAIT + 5, LIMIT)) == [("t1", [8])]


def test_changes_whose_end_never_comes_are_applied_after_the_wait_and_dead_lettered():
    log = TransactionLog("pos")
    feed(log, change("734", 1, level("A", 5, 10)))
    out = log.expire(NOW + WAIT, WAIT)
    assert [o.reason for o in out if isinstance(o, DeadLetter)] == [INCOMPLETE_TRANSACTION]
    assert released(out) == [("734", [5])]
    assert log.is_empty


def test_a_transaction_over_the_limit_is_applied_as_it_arrives_and_said_so():
    log = TransactionLog("erp")
    changes = [change("big", n, level(f"S{n}", n, n)) for n in range(1, LIMIT + 3)]
    out = feed(log, *changes[: LIMIT + 1])
    assert [o.reason for o in out if isinstance(o, DeadLetter)] == [OVERSIZED_TRANSACTION]
    assert sum(len(r.events) for r in out if isinstance(r, Released)) == LIMIT + 1
    assert released(feed(log, changes[LIMIT + 1])) == [("big", [LIMIT + 2])]
    assert feed(log, end("big", LIMIT + 2)) == [] and log.is_empty

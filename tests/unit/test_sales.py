"""Sale lines learn their store from their ticket; corrections count as differences (atp/domain/sales.py)."""

from __future__ import annotations

from atp.domain.events import Provenance, SaleLineChanged, SaleTicketChanged
from atp.domain.sales import TicketState


def ticket(status: str, lsn: int, store: str = "ST0001") -> SaleTicketChanged:
    return SaleTicketChanged(77, store, status, False, (lsn,), Provenance(lsn, f"lsn={lsn}"))


def line(qty: int, lsn: int, upc: str = "000000000017", deleted: bool = False) -> SaleLineChanged:
    return SaleLineChanged(77, 1, upc, qty, deleted, (lsn,), Provenance(lsn, f"lsn={lsn}"))


def counted(out) -> list[tuple[str, str, int]]:
    return [(s.upc, s.store, s.qty) for s in out]


def test_a_line_seen_before_its_ticket_waits_for_the_store():
    state = TicketState(77)
    assert state.apply(line(2, 10)) == []
    assert counted(state.apply(ticket("OPEN", 11))) == [("000000000017", "ST0001", 2)]


def test_a_changed_line_counts_only_the_difference_and_a_voided_ticket_takes_it_back():
    state = TicketState(77)
    state.apply(ticket("OPEN", 10))
    state.apply(line(2, 11))
    assert counted(state.apply(line(3, 12))) == [("000000000017", "ST0001", 1)]
    assert state.apply(ticket("PAID", 13)) == []
    assert counted(state.apply(ticket("VOID", 14))) == [("000000000017", "ST0001", -3)]


def test_an_older_line_change_is_ignored_and_a_return_counts_negative():
    state = TicketState(77)
    state.apply(ticket("PAID", 10))
    assert counted(state.apply(line(-1, 12))) == [("000000000017", "ST0001", -1)]
    assert state.apply(line(5, 11)) == []

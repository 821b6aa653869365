"""Whether a shipment has left on-hand, read from the stock history in source order (atp/domain/shipments.py)."""

from __future__ import annotations

from atp.domain.shipments import booked_out, prune, record

T = 1_800_000_000_000


def history(*levels: tuple[int, int, int]) -> list:
    """(position, seconds after T, on_hand) -> observations in source order."""
    observed: list = []
    for position, seconds, on_hand in levels:
        record(observed, (), ((position,), T + seconds * 1000, on_hand))
    return observed


def test_a_fall_by_the_shipped_units_after_it_shipped_books_it_out():
    assert booked_out(history((1, 0, 10), (2, 5, 6)), [("order-1", T + 1000, 4)]) == {"order-1"}


def test_a_smaller_fall_does_not():
    assert booked_out(history((1, 0, 10), (2, 5, 7)), [("order-1", T + 1000, 4)]) == set()


def test_a_fall_from_before_the_shipment_is_not_its_decrement_even_when_it_arrives_late():
    late_sale_first = history((1, 0, 10), (3, 5, 7))
    assert booked_out(late_sale_first, [("order-1", T + 2000, 4)]) == set()
    # The level at position 2 (a sale at 1 s, before the shipment at 2 s) arrives after position 3:
    levels = history((1, 0, 10), (3, 5, 6))
    assert booked_out(levels, [("order-1", T + 2000, 4)]) == {"order-1"}
    record(levels, (), ((2,), T + 1000, 6))
    assert booked_out(levels, [("order-1", T + 2000, 4)]) == set()


def test_two_shipments_need_the_fall_of_both():
    levels = history((1, 0, 10), (2, 5, 7))
    shipped = [("a", T + 1000, 3), ("b", T + 2000, 2)]
    assert booked_out(levels, shipped) == {"a"}
    record(levels, (), ((3,), T + 6000, 5))
    assert booked_out(levels, shipped) == {"a", "b"}


def test_a_level_committed_in_the_same_second_as_the_shipment_never_counts_as_its_fall():
    assert booked_out(history((1, 0, 10), (2, 1, 6)), [("order-1", T + 1000, 4)]) == set()


def test_pruning_keeps_what_pending_shipments_need_and_forgets_older_levels_for_good():
    levels = history((1, 0, 10), (2, 1, 9), (3, 5, 6))
    assert prune(levels, T + 2000) == (1,)
    assert [o[0] for o in levels] == [(2,), (3,)]
    record(levels, (1,), ((1,), T, 50))  # a level older than one forgotten cannot come back as a baseline
    assert [o[0] for o in levels] == [(2,), (3,)]
    assert prune(levels, None) == (2,) and [o[0] for o in levels] == [(3,)]

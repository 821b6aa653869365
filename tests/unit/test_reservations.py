"""A reservation's phase depends on which events arrived, never on their order or repetition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from atp.domain.reservations import CONFIRM, FULFILL, HOLD, RELEASE, Phase, Reservation, ReservationEvent

GRACE = 60_000
T0 = 1_800_000_000_000


def event(n: int, op: str, at: int, qty: int = 2, expires: int | None = None) -> ReservationEvent:
    return ReservationEvent(f"e{n}", "r1", op, qty, expires, at)


def replay(events: list[ReservationEvent]) -> Reservation:
    reservation = Reservation("r1")
    for e in events:
        reservation.apply(e, e.occurred_at_ms)  # received as it happened
    return reservation


def test_a_hold_reserves_until_it_expires_then_nothing():
    r = replay([event(1, HOLD, T0, expires=T0 + 900_000)])
    assert r.reserved(T0 + 1, GRACE) == 2 and r.committed(T0 + 1, GRACE) == 0
    assert r.next_deadline_ms(T0 + 1, GRACE) == T0 + 900_000
    assert r.reserved(T0 + 900_000, GRACE) == 0 and r.phase(T0 + 900_000, GRACE) is Phase.NONE


def test_a_confirm_commits_without_expiry():
    r = replay([event(1, HOLD, T0, expires=T0 + 10), event(2, CONFIRM, T0 + 5)])
    assert r.committed(T0 + 10**9, GRACE) == 2 and r.reserved(T0 + 6, GRACE) == 0


def test_a_release_before_its_hold_leaves_nothing_held():
    r = replay([event(2, RELEASE, T0 + 5), event(1, HOLD, T0, expires=T0 + 900_000)])
    assert r.phase(T0 + 10, GRACE) is Phase.NONE


def test_a_duplicate_event_changes_nothing():
    r = Reservation("r1")
    assert r.apply(event(1, HOLD, T0, expires=T0 + 100), T0)
    assert not r.apply(event(1, HOLD, T0, expires=T0 + 100), T0)


def test_a_fulfilled_order_stays_deducted_until_the_decrement_or_the_grace_period():
    r = replay([event(1, HOLD, T0, expires=T0 + 100), event(2, CONFIRM, T0 + 1), event(3, FULFILL, T0 + 50)])
    assert r.committed(T0 + 51, GRACE) == 2 and r.next_deadline_ms(T0 + 51, GRACE) == T0 + 50 + GRACE
    assert r.committed(T0 + 50 + GRACE, GRACE) == 0
    r.decrement_seen = True
    assert r.committed(T0 + 51, GRACE) == 0


def test_a_release_after_shipment_does_not_free_units_that_have_left():
    r = replay([event(1, CONFIRM, T0), event(2, FULFILL, T0 + 1), event(3, RELEASE, T0 + 2)])
    assert r.phase(T0 + 3, GRACE) is Phase.SHIPPED


# -- properties -------------------------------------------------------------------------------

ENDINGS = ((), (RELEASE,), (CONFIRM,), (CONFIRM, RELEASE), (CONFIRM, FULFILL), (FULFILL,))


@st.composite
def lifecycles(draw: st.DrawFn) -> list[ReservationEvent]:
    """A lifecycle as a channel would send it, in true order: HOLD, then one of the endings."""
    expires = T0 + draw(st.integers(1, 1_000_000))
    ops = (HOLD, *draw(st.sampled_from(ENDINGS)))
    times = sorted(draw(st.lists(st.integers(0, 2_000_000), min_size=len(ops), max_size=len(ops))))
    return [
        event(n, op, T0 + at, expires=expires if op == HOLD else None)
        for n, (op, at) in enumerate(zip(ops, times, strict=True))
    ]


def oracle_phase(events: list[ReservationEvent], now: int) -> Phase:
    """The obvious in-order state machine, fed the events once each in true order."""
    phase, expires, shipped_at = Phase.NONE, 0, 0
    for e in sorted(events, key=lambda e: (e.occurred_at_ms, int(e.event_id[1:]))):  # ids number the true order
        if e.op == HOLD:
            phase, expires = Phase.HELD, e.expires_at_ms or 0
        elif e.op == CONFIRM:
            phase = Phase.COMMITTED
        elif e.op == RELEASE:
            phase = Phase.NONE
        elif e.op == FULFILL:
            phase, shipped_at = Phase.SHIPPED, e.occurred_at_ms
    if phase is Phase.HELD and now >= expires:
        return Phase.NONE
    if phase is Phase.SHIPPED and now >= shipped_at + GRACE:
        return Phase.NONE
    return phase


@settings(max_examples=300, deadline=None)
@given(
    lifecycle=lifecycles(),
    duplicates=st.lists(st.integers(0, 10), max_size=6),
    order=st.randoms(use_true_random=False),
    now_offset=st.integers(0, 3_000_000),
)
def test_any_interleaving_with_duplicates_ends_where_the_in_order_oracle_ends(lifecycle, duplicates, order, now_offset):
    arrived = lifecycle + [lifecycle[i % len(lifecycle)] for i in duplicates]
    order.shuffle(arrived)
    now = T0 + now_offset
    ours, oracle = replay(arrived).phase(now, GRACE), oracle_phase(lifecycle, now)
    assert ours == oracle


@settings(max_examples=300, deadline=None)
@given(
    lifecycle=lifecycles(),
    order=st.randoms(use_true_random=False),
    cut=st.integers(0, 4),
    now_offset=st.integers(0, 3_000_000),
)
def test_part_of_a_lifecycle_never_holds_back_less_than_the_oracle_holds_for_the_same_events(
    lifecycle, order, cut, now_offset
):
    """Mid-stream (only some events arrived, in any order) we never promise more than the in-order oracle would."""
    arrived = lifecycle[:]
    order.shuffle(arrived)
    arrived = arrived[: max(1, len(arrived) - cut)]
    now = T0 + now_offset
    ours = replay(arrived)
    held_back = ours.reserved(now, GRACE) + ours.committed(now, GRACE)
    oracle = oracle_phase(arrived, now)
    assert held_back >= (2 if oracle is not Phase.NONE else 0)

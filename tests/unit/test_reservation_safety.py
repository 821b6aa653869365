"""Reservations that would make the engine promise more than it should: holds beyond the horizon, a FULFILL
stamped long ago, an event id re-used with other content (atp/domain/reservations.py, atp/domain/sku_state.py)."""

from __future__ import annotations

from atp.domain.records import AvailabilityRecord, DeadLetter
from atp.domain.reservations import CONFIRM, FULFILL, HOLD
from atp.domain.sku_state import SkuState
from atp.rule_settings import rules_from
from atp.settings import settings_from_fields
from tests.engine_inputs import MINUTE, NOW, RULES, item, reservation, stock

DAY = 24 * 60 * MINUTE


def known_sku(on_hand: int) -> SkuState:
    state = SkuState("TEE-1")
    state.apply(item(), NOW, RULES)
    state.apply(stock(on_hand, 100), NOW, RULES)
    state.seal()
    return state


def records(out: list) -> list[AvailabilityRecord]:
    return [o for o in out if isinstance(o, AvailabilityRecord)]


def letters(out: list) -> list[DeadLetter]:
    return [o for o in out if isinstance(o, DeadLetter)]


# -- the hold horizon (ATP_MAX_HOLD_S) ---------------------------------------------------------------------------


def test_the_hold_horizon_is_a_setting_of_seven_days_by_default():
    assert rules_from(settings_from_fields().engine).max_hold_ms == 7 * DAY
    assert rules_from(settings_from_fields(max_hold_s=3600).engine).max_hold_ms == 3_600_000


def test_a_hold_beyond_the_horizon_holds_its_units_for_the_horizon_and_is_dead_lettered_as_hold_too_long():
    state = known_sku(10)
    out = state.apply(reservation(HOLD, qty=3, expires=NOW + 365 * DAY), NOW, RULES)
    [record] = records(out)
    assert (record.reserved, record.available) == (3, 7)
    [letter] = letters(out)
    assert (letter.reason, letter.error) == (
        "hold_too_long",
        f"expires_at is more than 604800s ahead; held until {NOW + 7 * DAY} ms only",
    )
    assert (letter.source_topic, letter.offset) == ("orders.reservations", 0)
    assert f'"expires_at_ms":{NOW + 365 * DAY}' in letter.payload
    assert state.next_deadline_ms(RULES) == NOW + 7 * DAY
    state.seal()
    [lapsed] = records(state.on_timer(NOW + 7 * DAY, RULES))
    assert (lapsed.reserved, lapsed.available, lapsed.cause) == (0, 10, "expiry")


def test_a_hold_within_the_horizon_is_not_dead_lettered_and_a_repeat_of_a_capped_one_says_nothing_again():
    state = known_sku(10)
    assert letters(state.apply(reservation(HOLD, expires=NOW + 7 * DAY), NOW, RULES)) == []
    long_hold = reservation(HOLD, rid="r2", expires=NOW + 30 * DAY)
    assert len(letters(state.apply(long_hold, NOW, RULES))) == 1
    assert state.apply(long_hold, NOW + MINUTE, RULES) == []


# -- fulfilment grace from receipt ------------------------------------------------------------------------------

GRACE = RULES.fulfil_grace_ms


def test_a_fulfill_older_than_the_grace_period_still_holds_its_units_until_the_grace_from_its_receipt_ends():
    state = known_sku(10)
    state.apply(reservation(CONFIRM, qty=3, at=NOW - 2 * 60 * MINUTE), NOW, RULES)
    state.seal()
    # Stamped an hour ago by the channel (the grace is 10 minutes), received now: the decrement may be on its way.
    assert state.apply(reservation(FULFILL, qty=3, at=NOW - 60 * MINUTE), NOW, RULES) == []
    assert state.figures("DC0001", NOW + GRACE - 1, RULES).committed == 3
    assert state.next_deadline_ms(RULES) == NOW + GRACE
    [freed] = records(state.on_timer(NOW + GRACE, RULES))
    assert (freed.committed, freed.available, freed.cause, freed.cause_ref) == (
        0,
        10,
        "expiry",
        "timer: fulfil grace r1",
    )


def test_a_late_fulfill_frees_its_units_as_soon_as_the_decrement_is_seen():
    state = known_sku(10)
    state.apply(reservation(CONFIRM, qty=3, at=NOW - 2 * 60 * MINUTE), NOW, RULES)
    state.apply(reservation(FULFILL, qty=3, at=NOW - 60 * MINUTE), NOW, RULES)
    state.seal()
    [record] = records(state.apply(stock(7, 101, at=NOW + 1), NOW + 1, RULES))
    assert (record.on_hand, record.committed, record.available) == (7, 0, 7)


# -- conflicting duplicates -------------------------------------------------------------------------------------


def test_an_exact_repeat_of_an_event_is_a_silent_no_op():
    state = known_sku(10)
    hold = reservation(HOLD, qty=2, expires=NOW + 15 * MINUTE)
    assert len(records(state.apply(hold, NOW, RULES))) == 1
    state.seal()
    assert state.apply(hold, NOW + 1, RULES) == []


def test_an_event_id_re_used_with_a_larger_quantity_is_dead_lettered_and_the_larger_hold_stays():
    state = known_sku(10)
    state.apply(reservation(HOLD, qty=2, expires=NOW + 15 * MINUTE, event_id="e-1"), NOW, RULES)
    state.seal()
    out = state.apply(reservation(HOLD, qty=5, expires=NOW + 15 * MINUTE, event_id="e-1"), NOW + 1, RULES)
    [record] = records(out)
    assert (record.reserved, record.available) == (5, 5)
    [letter] = letters(out)
    assert (letter.reason, letter.error) == (
        "conflicting_duplicate",
        "event e-1 was seen before with other content (op, qty or location); kept whichever holds back more",
    )
    assert '"qty":5' in letter.payload and "customer" not in letter.payload
    state.seal()
    assert state.apply(reservation(HOLD, qty=5, expires=NOW + 15 * MINUTE, event_id="e-1"), NOW + 2, RULES) == []


def test_an_event_id_re_used_with_a_smaller_quantity_is_dead_lettered_and_changes_nothing():
    state = known_sku(10)
    state.apply(reservation(HOLD, qty=5, expires=NOW + 15 * MINUTE, event_id="e-1"), NOW, RULES)
    state.seal()
    out = state.apply(reservation(HOLD, qty=1, expires=NOW + 15 * MINUTE, event_id="e-1"), NOW + 1, RULES)
    assert records(out) == [] and [letter.reason for letter in letters(out)] == ["conflicting_duplicate"]
    assert state.figures("DC0001", NOW + 1, RULES).reserved == 5


def test_an_event_id_re_used_as_a_release_is_dead_lettered_and_does_not_free_the_hold():
    state = known_sku(10)
    state.apply(reservation(HOLD, qty=3, expires=NOW + 15 * MINUTE, event_id="e-1"), NOW, RULES)
    state.seal()
    out = state.apply(reservation("RELEASE", qty=3, event_id="e-1"), NOW + 1, RULES)
    assert records(out) == [] and [letter.reason for letter in letters(out)] == ["conflicting_duplicate"]
    assert state.figures("DC0001", NOW + 1, RULES).reserved == 3


def test_an_event_id_re_used_at_another_location_is_dead_lettered_and_holds_there_too_but_never_releases():
    state = known_sku(10)
    state.apply(stock(8, 101, location="DC0002"), NOW, RULES)
    state.apply(reservation(HOLD, qty=3, expires=NOW + 15 * MINUTE, event_id="e-1"), NOW, RULES)
    state.seal()
    moved = reservation(HOLD, qty=3, expires=NOW + 15 * MINUTE, event_id="e-1", location="DC0002")
    out = state.apply(moved, NOW + 1, RULES)
    assert [(r.location, r.reserved) for r in records(out)] == [("DC0002", 3)]
    assert [letter.reason for letter in letters(out)] == ["conflicting_duplicate"]
    state.seal()
    assert state.apply(moved, NOW + 2, RULES) == []  # its exact repeat: silent
    released = reservation("RELEASE", qty=3, event_id="e-1", location="DC0003")
    out = state.apply(released, NOW + 3, RULES)
    assert records(out) == [] and [letter.reason for letter in letters(out)] == ["conflicting_duplicate"]
    assert state.figures("DC0001", NOW + 3, RULES).reserved == 3

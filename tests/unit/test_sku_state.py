"""The rules of one SKU across its locations, input by input (atp/domain/sku_state.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from atp.domain.events import ALL_LOCATIONS, STORE
from atp.domain.kits import ComponentSupply
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter, Withdrawn
from atp.domain.reservations import CONFIRM, FULFILL, HOLD, RELEASE
from atp.domain.sku_state import SkuState
from tests.engine_inputs import MINUTE, NOW, RULES, component, inbound, item, lot, reservation, safety, sale, stock


def records(out: list) -> list[AvailabilityRecord]:
    return [o for o in out if isinstance(o, AvailabilityRecord)]


def only(out: list) -> AvailabilityRecord:
    [record] = records(out)
    return record


def each_in_its_epoch(state: SkuState, events: list, now: int = NOW, rules=RULES) -> list[list]:
    """What each event publishes when the epoch closes after it (the engine publishes at every epoch's close)."""
    outs = []
    for event in events:
        outs.append(state.apply(event, now, rules))
        state.seal()
    return outs


def known_sku(on_hand: int | None = None, rules=RULES) -> SkuState:
    state = SkuState("TEE-1")
    state.apply(item(), NOW, rules)
    if on_hand is not None:
        state.apply(stock(on_hand, 100), NOW, rules)
    return state


def day_of(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


# -- stock and items ----------------------------------------------------------------------------


def test_nothing_is_published_before_the_item_is_known():
    assert SkuState("TEE-1").apply(stock(10, 100), NOW, RULES) == []


def test_learning_the_item_publishes_the_stock_that_was_waiting_as_the_stock_change_it_is():
    state = SkuState("TEE-1")
    state.apply(stock(10, 100), NOW, RULES)
    record = only(state.apply(item(), NOW, RULES))
    assert (record.location, record.on_hand, record.available, record.version) == ("DC0001", 10, 10, 1)
    assert (record.cause, record.cause_ref) == ("stock", "stock@100")


def test_a_stock_change_publishes_a_record_with_its_source_time_and_position():
    record = only(known_sku().apply(stock(10, 100, hold=3), NOW, RULES))
    assert record.on_hand == 10 and record.unsellable == 3 and record.available == 7
    assert record.source_ts_ms == 1100 and record.cause == "stock" and record.cause_ref == "stock@100"
    assert record.computed_ts_ms == NOW and record.key == "TEE-1@DC0001"


def test_an_unchanged_level_publishes_nothing():
    state = known_sku(10)
    assert state.apply(stock(10, 101), NOW, RULES) == []


def test_a_change_older_than_the_applied_one_is_ignored():
    state = known_sku()
    state.apply(stock(10, 200), NOW, RULES)
    assert state.apply(stock(99, 150), NOW, RULES) == []
    assert state.locations["DC0001"].on_hand == 10


def test_versions_increase_per_location_one_per_epoch():
    state = known_sku()
    versions = [only(out).version for out in each_in_its_epoch(state, [stock(q, 100 + q) for q in (5, 6, 7)])]
    other = only(state.apply(stock(3, 104, location="DC0002"), NOW, RULES))
    assert versions == [1, 2, 3] and other.version == 1


def test_changes_within_one_epoch_share_its_version_and_the_last_one_says_where_it_ended():
    state = known_sku(10)
    state.seal()
    first = only(state.apply(stock(4, 101), NOW, RULES))
    last = only(state.apply(stock(6, 102), NOW, RULES))
    assert (first.version, first.on_hand) == (2, 4)
    assert (last.version, last.on_hand) == (2, 6)
    state.seal()
    assert only(state.apply(stock(7, 103), NOW, RULES)).version == 3


def test_a_location_back_where_its_epoch_began_withdraws_the_version_it_opened():
    state = known_sku(10)
    state.seal()
    state.apply(stock(4, 101), NOW, RULES)
    back, withdrawn = state.apply(stock(10, 102), NOW, RULES)
    assert (back.on_hand, back.version) == (10, 1)  # what the channel steps see: where it is back to
    assert withdrawn == Withdrawn("availability", "TEE-1@DC0001")  # what the publisher sees: nothing to send
    state.seal()
    assert only(state.apply(stock(9, 103), NOW, RULES)).version == 2


def test_discontinuing_an_item_stops_promises_everywhere():
    state = known_sku(10)
    state.apply(stock(4, 101, location="ST0001", location_type=STORE), NOW, RULES)
    out = records(state.apply(item(position=300, discontinued=True), NOW, RULES))
    assert [(r.location, r.available, r.status, r.cause) for r in out] == [
        ("DC0001", 0, "DISCONTINUED", "item"),
        ("ST0001", 0, "DISCONTINUED", "item"),
    ]


def test_a_store_stock_fall_is_published_as_a_sale():
    state = known_sku()
    state.apply(stock(4, 100, location="ST0001", location_type=STORE), NOW, RULES)
    assert only(state.apply(stock(3, 101, location="ST0001", location_type=STORE), NOW, RULES)).cause == "sale"


def test_stock_changes_seen_before_the_item_publish_one_by_one_as_if_the_item_had_come_first():
    item_first = known_sku()
    in_order = [only(item_first.apply(stock(q, p), NOW, RULES)) for q, p in [(10, 100), (11, 101), (12, 102)]]

    item_last = SkuState("TEE-1")
    for q, p in [(12, 102), (10, 100), (11, 101), (11, 101)]:  # reordered and duplicated
        item_last.apply(stock(q, p), NOW, RULES)
    replayed = records(item_last.apply(item(), NOW, RULES))

    assert [(r.version, r.on_hand, r.cause_ref) for r in replayed] == [
        (r.version, r.on_hand, r.cause_ref) for r in in_order
    ]


def test_stock_for_a_sku_the_erp_never_describes_is_dead_lettered_after_the_wait():
    state = SkuState("GHOST-1")
    state.apply(stock(10, 100, sku="GHOST-1"), NOW, RULES)
    assert state.next_deadline_ms(RULES) == NOW + RULES.unresolved_wait_ms
    [letter] = state.on_timer(NOW + RULES.unresolved_wait_ms, RULES)
    assert isinstance(letter, DeadLetter) and letter.reason == "unknown_sku"
    assert (letter.source_topic, letter.offset) == ("erp.erp.STOCK_BAL", 100)
    assert state.waiting == {} and state.next_deadline_ms(RULES) is None


# -- reservations -------------------------------------------------------------------------------


def test_a_cart_hold_reserves_its_units_until_it_expires():
    state = known_sku(10)
    record = only(state.apply(reservation(HOLD, expires=NOW + 15 * MINUTE), NOW, RULES))
    assert (record.reserved, record.available, record.cause, record.cause_ref) == (2, 8, "reservation", "r1-HOLD")
    assert state.next_deadline_ms(RULES) == NOW + 15 * MINUTE


def test_a_hold_that_is_not_confirmed_is_released_at_its_deadline_with_no_further_input():
    state = known_sku(10)
    state.apply(reservation(HOLD, expires=NOW + 15 * MINUTE), NOW, RULES)
    assert state.on_timer(NOW + 15 * MINUTE - 1, RULES) == []
    released = only(state.on_timer(NOW + 15 * MINUTE, RULES))
    assert (released.reserved, released.available, released.cause) == (0, 10, "expiry")
    assert released.source_ts_ms == NOW + 15 * MINUTE and released.cause_ref == "timer: hold r1"
    assert state.next_deadline_ms(RULES) is None


def test_a_lapse_missed_by_the_timer_is_still_its_own_record_before_the_next_input():
    state = known_sku(10)
    state.apply(reservation(HOLD, expires=NOW + MINUTE), NOW, RULES)
    out = records(state.apply(stock(9, 101), NOW + 2 * MINUTE, RULES))
    assert [(r.cause, r.reserved, r.on_hand) for r in out] == [("expiry", 0, 10), ("stock", 0, 9)]


def test_a_confirmed_order_is_committed_and_never_expires():
    state = known_sku(10)
    state.apply(reservation(HOLD, expires=NOW + MINUTE), NOW, RULES)
    record = only(state.apply(reservation(CONFIRM, at=NOW + 1), NOW + 1, RULES))
    assert (record.reserved, record.committed, record.available) == (0, 2, 8)
    assert state.on_timer(NOW + 10 * MINUTE, RULES) == []


def test_a_release_frees_the_units():
    state = known_sku(10)
    state.apply(reservation(HOLD, expires=NOW + MINUTE), NOW, RULES)
    assert only(state.apply(reservation(RELEASE, at=NOW + 1), NOW + 1, RULES)).available == 10


def test_a_release_before_its_hold_leaves_nothing_held():
    state = known_sku(10)
    state.apply(reservation(RELEASE, at=NOW + 1), NOW + 2, RULES)
    assert state.apply(reservation(HOLD, expires=NOW + MINUTE), NOW + 2, RULES) == []
    assert state.locations["DC0001"].published_figures.available == 10


def test_a_duplicated_event_changes_nothing():
    state = known_sku(10)
    state.apply(reservation(HOLD, expires=NOW + MINUTE), NOW, RULES)
    assert state.apply(reservation(HOLD, expires=NOW + MINUTE), NOW, RULES) == []


def test_a_shipment_stays_deducted_until_on_hand_is_seen_to_fall_by_it():
    state = known_sku(10)
    ordered = only(state.apply(reservation(CONFIRM, qty=3), NOW, RULES))
    assert (ordered.committed, ordered.available) == (3, 7)
    # Shipped, but the ERP has not decremented yet: nothing changes, the units stay committed.
    assert state.apply(reservation(FULFILL, qty=3, at=NOW + 1), NOW + 1, RULES) == []
    decremented = only(state.apply(stock(7, 101, at=NOW + 2), NOW + 2, RULES))
    assert (decremented.on_hand, decremented.committed, decremented.available) == (7, 0, 7)


def test_a_fall_committed_before_the_shipment_is_not_its_decrement():
    state = known_sku(10)
    state.apply(reservation(CONFIRM, qty=3), NOW, RULES)
    state.apply(reservation(FULFILL, qty=3, at=NOW + 5), NOW + 5, RULES)
    late = only(state.apply(stock(7, 101, at=NOW + 1), NOW + 6, RULES))  # a sale from before, delivered late
    assert (late.committed, late.available) == (3, 4)


def test_a_fall_smaller_than_the_shipment_does_not_end_it():
    state = known_sku(10)
    state.apply(reservation(CONFIRM, qty=3), NOW, RULES)
    state.apply(reservation(FULFILL, qty=3, at=NOW + 1), NOW + 1, RULES)
    record = only(state.apply(stock(9, 101, at=NOW + 2), NOW + 2, RULES))  # one unit sold elsewhere
    assert (record.committed, record.available) == (3, 6)


def test_a_shipment_whose_decrement_never_comes_stops_counting_after_the_grace_period():
    state = known_sku(10)
    state.apply(reservation(CONFIRM, qty=3), NOW, RULES)
    state.apply(reservation(FULFILL, qty=3, at=NOW + 1), NOW + 1, RULES)
    assert state.next_deadline_ms(RULES) == NOW + 1 + RULES.fulfil_grace_ms
    record = only(state.on_timer(NOW + 1 + RULES.fulfil_grace_ms, RULES))
    assert (record.committed, record.available, record.cause) == (0, 10, "expiry")


def test_a_release_after_shipment_keeps_the_units_deducted():
    state = known_sku(10)
    state.apply(reservation(CONFIRM, qty=3), NOW, RULES)
    state.apply(reservation(FULFILL, qty=3, at=NOW + 1), NOW + 1, RULES)
    assert state.apply(reservation(RELEASE, qty=3, at=NOW + 2), NOW + 2, RULES) == []


def test_available_never_goes_negative_when_holds_exceed_stock():
    state = known_sku(1)
    record = only(state.apply(reservation(HOLD, qty=5, expires=NOW + MINUTE), NOW, RULES))
    assert (record.reserved, record.available, record.status) == (5, 0, "OUT_OF_STOCK")


# -- unsellable stock ---------------------------------------------------------------------------


def test_units_of_a_lot_are_unsellable_from_the_start_of_its_expiry_day_in_the_location_zone():
    paris = dataclasses.replace(RULES, location_timezones={"DC0001": "Europe/Paris"})
    expiry = dt.date(2027, 3, 10)
    midnight_paris = int(dt.datetime(2027, 3, 9, 23, 0, tzinfo=dt.UTC).timestamp() * 1000)
    state = known_sku(10, rules=paris)
    state.apply(lot("L1", 4, day_of(expiry), 150), midnight_paris - MINUTE, paris)
    assert state.next_deadline_ms(paris) == midnight_paris
    record = only(state.on_timer(midnight_paris, paris))
    assert (record.unsellable, record.available, record.cause) == (4, 6, "lot expiry")
    assert record.cause_ref == "timer: lot L1 expires 2027-03-10 Europe/Paris"


def test_an_already_expired_lot_is_unsellable_at_once_and_a_lot_without_date_never_expires():
    state = known_sku(10)
    assert only(state.apply(lot("OLD", 3, day_of(dt.date(2020, 1, 1)), 150), NOW, RULES)).unsellable == 3
    assert state.apply(lot("FOREVER", 5, None, 151), NOW, RULES) == []
    assert state.next_deadline_ms(RULES) is None


def test_quality_hold_and_expired_lots_never_make_more_unsellable_than_on_hand():
    state = known_sku()
    state.apply(stock(4, 100, hold=3), NOW, RULES)
    record = only(state.apply(lot("OLD", 3, 0, 150), NOW, RULES))
    assert (record.unsellable, record.available) == (4, 0)


# -- safety stock -------------------------------------------------------------------------------


def test_the_default_safety_stock_depends_on_the_location_type():
    rules = dataclasses.replace(RULES, dc_safety_stock=2, store_safety_stock=1)
    state = known_sku(rules=rules)
    assert only(state.apply(stock(10, 100), NOW, rules)).safety_stock == 2
    store = only(state.apply(stock(10, 101, location="ST0001", location_type=STORE), NOW, rules))
    assert (store.safety_stock, store.available) == (1, 9)


def test_a_planner_override_at_the_location_beats_one_for_every_location():
    state = known_sku(10)
    state.apply(stock(10, 101, location="DC0002"), NOW, RULES)
    everywhere = records(state.apply(safety(ALL_LOCATIONS, 3, 200), NOW, RULES))
    assert [(r.location, r.safety_stock) for r in everywhere] == [("DC0001", 3), ("DC0002", 3)]
    here = only(state.apply(safety("DC0002", 1, 201), NOW, RULES))
    assert (here.location, here.safety_stock, here.available, here.cause) == ("DC0002", 1, 9, "safety stock")


def test_deleting_an_override_brings_back_the_default():
    state = known_sku(10)
    state.apply(safety("DC0001", 4, 200), NOW, RULES)
    assert only(state.apply(safety("DC0001", None, 201), NOW, RULES)).safety_stock == 0


def test_the_dynamic_rule_raises_safety_stock_where_daily_sales_swing():
    rules = dataclasses.replace(RULES, dynamic_safety_factor=1.0, sales_window_days=4)
    state = known_sku(rules=rules)
    state.apply(stock(50, 100, location="ST0001", location_type=STORE), NOW, rules)
    for qty, day in [(1, 100), (9, 101), (1, 102)]:
        state.apply(sale(qty, day), NOW, rules)
    # daily sales over the 4-day window: [0, 1, 9, 1] -> population std-dev 3.63 -> 4
    assert state.locations["ST0001"].published_figures.safety_stock == 4


def test_steady_sales_keep_the_dynamic_rule_low_and_it_is_off_by_default():
    rules = dataclasses.replace(RULES, dynamic_safety_factor=1.0, sales_window_days=3)
    state = known_sku(rules=rules)
    state.apply(stock(50, 100, location="ST0001", location_type=STORE), NOW, rules)
    for day in (100, 101, 102):
        state.apply(sale(2, day), NOW, rules)
    assert state.locations["ST0001"].published_figures.safety_stock == 0
    assert known_sku(10).apply(sale(9, 100, store="DC0001"), NOW, RULES) == []


# -- inbound and status -------------------------------------------------------------------------


def test_open_purchase_orders_give_incoming_and_the_earliest_due_date():
    state = known_sku(0)
    state.apply(inbound("PO1/1", 5, day_of(dt.date(2027, 5, 20)), 200), NOW, RULES)
    record = only(state.apply(inbound("PO2/1", 7, day_of(dt.date(2027, 5, 3)), 201), NOW, RULES))
    assert (record.incoming, record.next_inbound_date, record.status) == (12, dt.date(2027, 5, 3), "BACKORDER")
    closed = only(state.apply(inbound("PO2/1", 0, day_of(dt.date(2027, 5, 3)), 202), NOW, RULES))
    assert (closed.incoming, closed.next_inbound_date, closed.cause) == (5, dt.date(2027, 5, 20), "inbound")


def test_a_preorder_item_promises_from_inbound_supply():
    state = SkuState("TEE-1")
    state.apply(item(item_type="P"), NOW, RULES)
    record = only(state.apply(inbound("PO1/1", 20, 21_000, 200), NOW, RULES))
    assert (record.available, record.status) == (20, "PREORDER")


def test_statuses_follow_available_and_the_low_stock_threshold():
    state = known_sku(20)
    assert only(state.apply(stock(5, 101), NOW, RULES)).status == "LOW_STOCK"
    assert only(state.apply(stock(0, 102), NOW, RULES)).status == "OUT_OF_STOCK"


# -- alerts -------------------------------------------------------------------------------------


def alerts(out: list) -> list[tuple[str, int]]:
    return [(a.kind, a.available) for a in out if isinstance(a, AlertRecord)]


def test_alerts_on_crossing_into_low_stock_out_of_stock_and_back_in_stock():
    state = known_sku(20)
    state.seal()
    levels = [stock(15, 101), stock(4, 102), stock(3, 103), stock(0, 104), stock(12, 105)]
    assert [alerts(out) for out in each_in_its_epoch(state, levels)] == [
        [],
        [("LOW_STOCK", 4)],
        [],
        [("OUT_OF_STOCK", 0)],
        [("BACK_IN_STOCK", 12)],
    ]


def test_an_alert_compares_with_where_the_epoch_began_not_with_a_state_inside_it():
    state = known_sku(20)
    state.seal()
    assert alerts(state.apply(stock(0, 101), NOW, RULES)) == [("OUT_OF_STOCK", 0)]
    assert alerts(state.apply(stock(12, 102), NOW, RULES)) == []  # 20 -> 12 over the epoch: nothing crossed


def test_an_alert_carries_the_source_time_and_version_that_crossed():
    state = known_sku(20)
    state.seal()
    [alert] = [a for a in state.apply(stock(0, 101), NOW, RULES) if isinstance(a, AlertRecord)]
    assert (alert.at_ms, alert.version, alert.threshold) == (1101, 2, 5)


# -- kits, seen from a component ----------------------------------------------------------------


def test_a_component_tells_each_kit_using_it_what_it_has_at_every_location():
    state = known_sku(10)
    [supply] = state.apply(component("GIFT-1", "TEE-1", 2, 300), NOW, RULES)
    assert isinstance(supply, ComponentSupply)
    assert (supply.kit_sku, supply.location, supply.available) == ("GIFT-1", "DC0001", 10)
    out = state.apply(stock(7, 101), NOW, RULES)
    assert [(type(o).__name__, o.available) for o in out] == [("AvailabilityRecord", 7), ("ComponentSupply", 7)]


def test_the_timer_s_deadline_times_are_those_of_the_deadlines_published_when_they_fire():
    from atp.domain.deadlines import location_deadline_times, location_deadlines

    paris = dataclasses.replace(RULES, location_timezones={"DC0001": "Europe/Paris"})
    state = known_sku(10, rules=paris)
    state.apply(reservation(HOLD, expires=NOW + 15 * MINUTE), NOW, paris)
    state.apply(reservation(CONFIRM, qty=1, rid="r2"), NOW, paris)
    state.apply(reservation(FULFILL, qty=1, at=NOW + 1, rid="r2"), NOW + 1, paris)
    state.apply(lot("L1", 4, day_of(dt.date(2027, 3, 10)), 150), NOW, paris)
    state.apply(lot("FOREVER", 5, None, 151), NOW, paris)
    for code, location in state.locations.items():
        assert location_deadline_times(code, location, paris) == [
            d.at_ms for d in location_deadlines(code, location, paris)
        ]
    assert len(location_deadline_times("DC0001", state.locations["DC0001"], paris)) == 3

"""Reconciliation: expected figures from a fresh source read, drifts, and how the engine takes a repair."""

from __future__ import annotations

import orjson

from atp.domain.engine_rules import EngineRules
from atp.domain.events import DC, STORE, Provenance, StockCorrected
from atp.domain.reconcile import (
    Figures,
    Lot,
    PublishedFigures,
    ReservationLogEvent,
    SourceRead,
    StockRow,
    comparable_skus,
    expected_figures,
    find_drifts,
)
from atp.domain.records import CAUSE_RECONCILE, AvailabilityRecord
from atp.domain.reservations import ReservationEvent
from atp.domain.sku_state import SkuState
from connectors.repairs import RepairMessage, decode_repair, encode_repair
from tests.engine_inputs import MINUTE, NOW, RULES, item, lot, stock

DAY = 86_400_000
TODAY = NOW // DAY


def read(**overrides) -> SourceRead:  # type: ignore[no-untyped-def]
    base = {
        "items": {"TEE-1": ("S", False), "KIT-1": ("K", False)},
        "location_types": {"DC0001": DC, "ST0001": STORE},
        "stock": {("TEE-1", "DC0001"): StockRow(DC, 10, 1, NOW - MINUTE)},
    }
    return SourceRead(**(base | overrides))


def hold(rid: str, qty: int, expires: int, op: str = "HOLD", sku: str = "TEE-1") -> ReservationLogEvent:
    return ReservationLogEvent(sku, "DC0001", ReservationEvent(f"{rid}-{op}", rid, op, qty, expires, NOW - MINUTE))


def published(on_hand: int, unsellable: int = 1, reserved: int = 0, committed: int = 0, version: int = 3):
    available = max(0, on_hand - unsellable - reserved - committed)
    return PublishedFigures(Figures(on_hand, unsellable, reserved, committed, 0, available), version, NOW - 2 * MINUTE)


def drifts_of(pipeline, source: SourceRead, rules: EngineRules = RULES):  # type: ignore[no-untyped-def]
    return find_drifts(pipeline, expected_figures(source, NOW, rules), comparable_skus(source))


# -- what the sources say ---------------------------------------------------------------------------


def test_expected_figures_apply_the_engine_rules_to_the_rows_read():
    source = read(
        stock={("TEE-1", "DC0001"): StockRow(DC, 10, 1, NOW, (Lot("L1", 2, TODAY), Lot("L2", 3, TODAY + 9)))},
        reservations=(hold("r1", 2, NOW + MINUTE), hold("r2", 5, NOW - MINUTE), hold("r3", 1, None, "CONFIRM")),
    )
    figures = expected_figures(source, NOW, RULES)[("TEE-1", "DC0001")].figures
    # 1 on hold + 2 of a lot expiring today; r2 lapsed; r3 is an order.
    assert figures == Figures(on_hand=10, unsellable=3, reserved=2, committed=1, safety_stock=0, available=4)


def test_a_hold_on_a_kit_counts_on_its_components():
    source = read(kit_components={"KIT-1": {"TEE-1": 2}}, reservations=(hold("k1", 3, NOW + MINUTE, sku="KIT-1"),))
    assert expected_figures(source, NOW, RULES)[("TEE-1", "DC0001")].figures.reserved == 6
    assert ("KIT-1", "DC0001") not in expected_figures(source, NOW, RULES)  # kits derive from their parts


# -- drift ------------------------------------------------------------------------------------------


def test_a_pipeline_that_agrees_with_the_sources_has_no_drift():
    assert drifts_of({("TEE-1", "DC0001"): published(10)}, read()) == []


def test_a_missed_stock_change_is_a_drift_in_on_hand_and_available_since_the_later_of_both_sides():
    [on_hand, available] = drifts_of({("TEE-1", "DC0001"): published(12)}, read())
    assert (on_hand.field, on_hand.pipeline_value, on_hand.source_value) == ("on_hand", 12, 10)
    assert (available.field, available.pipeline_value, available.source_value) == ("available", 11, 9)
    assert on_hand.since_ms == NOW - MINUTE and on_hand.pipeline_version == 3


def test_a_row_deleted_or_truncated_at_the_source_is_a_drift_to_zero():
    drifts = drifts_of({("TEE-1", "DC0001"): published(10)}, read(stock={}))
    assert {(d.field, d.source_value) for d in drifts} == {("on_hand", 0), ("unsellable", 0), ("available", 0)}


def test_a_shipment_inside_its_grace_makes_committed_a_range_not_a_drift():
    shipped = (hold("r1", 2, None, "CONFIRM"), hold("r1", 2, None, "FULFILL"))
    source = read(reservations=shipped)
    # The pipeline may or may not have seen the decrement yet: 0 and 2 are both right.
    assert drifts_of({("TEE-1", "DC0001"): published(10, committed=2)}, source) == []
    assert drifts_of({("TEE-1", "DC0001"): published(10, committed=0)}, source) == []
    assert [d.field for d in drifts_of({("TEE-1", "DC0001"): published(10, committed=5)}, source)] == ["committed"]


def test_unknown_skus_and_kits_are_not_compared():
    pipeline = {("GHOST", "DC0001"): published(4), ("KIT-1", "DC0001"): published(4)}
    assert drifts_of(pipeline | {("TEE-1", "DC0001"): published(10)}, read()) == []


def test_nothing_published_and_nothing_to_publish_is_no_drift():
    source = read(stock={("TEE-1", "ST0001"): StockRow(STORE, 0, 0, NOW)})
    assert drifts_of({}, source) == []


# -- the engine takes a repair -------------------------------------------------------------------


def correction(on_hand: int, observed_version: int, lots=(), location_type: str = DC) -> StockCorrected:  # type: ignore[no-untyped-def]
    return StockCorrected(
        "TEE-1", "DC0001", location_type, on_hand, 0, lots, observed_version, Provenance(NOW, "reconcile run 1")
    )


def known_with_stock(on_hand: int) -> SkuState:
    state = SkuState("TEE-1")
    state.apply(item(), NOW, RULES)
    state.apply(stock(on_hand, 100), NOW, RULES)
    state.seal()  # version 1 is published
    return state


def test_a_repair_sets_the_stock_and_is_published_with_cause_reconcile():
    state = known_with_stock(12)
    out = state.apply(correction(10, observed_version=1), NOW, RULES)
    [record] = [o for o in out if isinstance(o, AvailabilityRecord)]
    assert (record.on_hand, record.cause, record.version) == (10, CAUSE_RECONCILE, 2)


def test_a_repair_computed_against_an_older_record_is_moot():
    state = known_with_stock(12)
    state.apply(stock(11, 101), NOW, RULES)  # version 2 now
    state.seal()
    assert state.apply(correction(10, observed_version=1), NOW, RULES) == []
    assert state.locations["DC0001"].on_hand == 11


def test_a_repair_is_moot_while_a_change_since_the_last_published_version_waits_for_its_epoch():
    state = known_with_stock(12)
    state.apply(stock(11, 101), NOW, RULES)  # version 2 opened, not yet published
    assert state.apply(correction(10, observed_version=1), NOW, RULES) == []
    assert state.locations["DC0001"].on_hand == 11


def test_after_a_repair_a_later_change_of_the_row_still_wins_and_an_older_one_is_still_ignored():
    state = known_with_stock(12)
    state.apply(correction(10, observed_version=1), NOW, RULES)
    state.apply(stock(12, 100), NOW, RULES)  # the change the repair replaced, re-delivered
    assert state.locations["DC0001"].on_hand == 10
    state.apply(stock(7, 101), NOW, RULES)
    assert state.locations["DC0001"].on_hand == 7


def test_a_repair_replaces_the_lots_and_a_vanished_lot_cannot_come_back_from_an_old_change():
    state = known_with_stock(12)
    state.apply(lot("L1", 4, TODAY, 100), NOW, RULES)
    state.seal()
    version = state.locations["DC0001"].version
    state.apply(correction(12, version, lots=(("L2", 1, TODAY),)), NOW, RULES)
    state.apply(lot("L1", 4, TODAY, 100), NOW, RULES)  # re-delivered
    assert state.figures("DC0001", NOW, RULES).unsellable == 1  # only L2's unit is unsellable


def test_the_same_repair_twice_publishes_once():
    state = known_with_stock(12)
    first = state.apply(correction(10, observed_version=1), NOW, RULES)
    assert first and state.apply(correction(10, observed_version=1), NOW, RULES) == []


# -- the repair message ---------------------------------------------------------------------------


def test_a_repair_message_round_trips_to_a_stock_correction():
    message = RepairMessage(
        run_id="r1", sku="TEE-1", location="DC0001", location_type="D", on_hand=10, quality_hold=1,
        observed_version=3, read_at_ms=NOW, fields=["on_hand"],
    )  # fmt: skip
    key, value = encode_repair(message)
    [event] = decode_repair("atp.reconcile", 0, 7, value, NOW).events
    assert key == b"TEE-1@DC0001"
    assert isinstance(event, StockCorrected) and (event.on_hand, event.observed_version) == (10, 3)
    assert event.provenance.cause_ref.endswith("reconcile run r1: on_hand")


def test_a_malformed_repair_is_dead_lettered_with_a_reason():
    bad = orjson.dumps({"run_id": "r1", "sku": "TEE-1", "location": "DC0001", "location_type": "D", "on_hand": -4})
    decoded = decode_repair("atp.reconcile", 0, 8, bad, NOW)
    assert decoded.events == [] and decoded.dead_letter is not None
    assert decoded.dead_letter.reason == "invalid_repair" and "on_hand" in decoded.dead_letter.error
    assert decode_repair("atp.reconcile", 0, 9, b"{truncated", NOW).dead_letter.reason == "unparsable_json"

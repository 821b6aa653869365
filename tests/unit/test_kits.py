"""Kits promise what their scarcest component allows (atp/domain/kits.py)."""

from __future__ import annotations

from atp.domain.events import Provenance
from atp.domain.kits import ComponentSupply, KitBom, KitState, KitTerms
from atp.domain.records import AlertRecord, AvailabilityRecord
from atp.domain.reservations import HOLD
from tests.engine_inputs import NOW, component, reservation

KIT = "GIFT-1"


def supply(part: str, available: int, location: str = "DC0001", on_hand: int | None = None) -> ComponentSupply:
    on_hand = available if on_hand is None else on_hand
    return ComponentSupply(
        KIT, part, location, available, on_hand, 0, None, Provenance(7, f"{part}@{available}"), "stock"
    )


def terms(discontinued: bool = False, planner=(), reserved=()) -> KitTerms:
    return KitTerms(KIT, discontinued, tuple(planner), tuple(reserved), (), Provenance(5, "kit"), "item")


def kit_with_bom() -> KitState:
    kit = KitState(KIT)
    kit.apply(component(KIT, "TEE-1", 1, 10), NOW, 5)
    kit.apply(component(KIT, "MUG-1", 2, 11), NOW, 5)
    kit.apply(terms(), NOW, 5)
    return kit


def records(out) -> list[AvailabilityRecord]:
    return [o for o in out if isinstance(o, AvailabilityRecord)]


def test_a_kit_offers_the_minimum_over_components_of_floor_available_over_units_per_kit():
    kit = kit_with_bom()
    kit.apply(supply("TEE-1", 9), NOW, 5)
    kit.seal()  # the epoch closes: the next change opens version 2
    [record] = records(kit.apply(supply("MUG-1", 7), NOW, 5))
    assert (record.sku, record.location, record.available, record.version) == (KIT, "DC0001", 3, 2)
    assert (record.cause, record.cause_ref) == ("stock", "MUG-1@7")


def test_a_kit_drops_when_a_component_sells():
    kit = kit_with_bom()
    kit.apply(supply("TEE-1", 9), NOW, 5)
    kit.apply(supply("MUG-1", 20), NOW, 5)
    [record] = records(kit.apply(supply("TEE-1", 4), NOW, 5))
    assert record.available == 4


def test_components_changed_in_one_epoch_publish_one_kit_version_from_all_of_them():
    kit = kit_with_bom()
    kit.apply(supply("TEE-1", 9), NOW, 5)
    kit.apply(supply("MUG-1", 20), NOW, 5)
    kit.seal()
    first = records(kit.apply(supply("TEE-1", 30), NOW, 5))  # one component of a transaction moved
    [last] = records(kit.apply(supply("MUG-1", 4), NOW, 5))  # and the other
    assert [r.version for r in first] == [2] and (last.version, last.available) == (2, 2)


def test_a_missing_component_at_a_location_means_no_kit_there():
    kit = kit_with_bom()
    [record] = records(kit.apply(supply("TEE-1", 9, location="ST0001"), NOW, 5))
    assert (record.location, record.available, record.status) == ("ST0001", 0, "OUT_OF_STOCK")


def test_nothing_is_published_before_the_kit_item_is_known():
    kit = KitState(KIT)
    kit.apply(component(KIT, "TEE-1", 1, 10), NOW, 5)
    assert kit.apply(supply("TEE-1", 9), NOW, 5) == []


def test_a_discontinued_kit_promises_nothing_and_planner_safety_stock_is_kept_back():
    kit = kit_with_bom()
    kit.apply(supply("TEE-1", 9), NOW, 5)
    kit.apply(supply("MUG-1", 20), NOW, 5)
    [kept] = records(kit.apply(terms(planner=[("*", 2)]), NOW, 5))
    assert (kept.safety_stock, kept.available) == (2, 7)
    [stopped] = records(kit.apply(terms(discontinued=True), NOW, 5))
    assert (stopped.available, stopped.status) == (0, "DISCONTINUED")


def test_an_older_bom_change_is_ignored_and_alerts_follow_the_kit():
    kit = kit_with_bom()
    kit.apply(supply("TEE-1", 9), NOW, 5)
    kit.apply(supply("MUG-1", 20), NOW, 5)
    kit.seal()
    assert kit.apply(component(KIT, "MUG-1", 5, 3), NOW, 5) == []
    out = kit.apply(supply("TEE-1", 0), NOW, 5)
    assert [(a.kind, a.available) for a in out if isinstance(a, AlertRecord)] == [("OUT_OF_STOCK", 0)]


def test_a_hold_on_a_kit_also_holds_its_components():
    bom = KitBom(KIT)
    bom.apply_component(component(KIT, "TEE-1", 1, 10))
    bom.apply_component(component(KIT, "MUG-1", 2, 11))
    held = bom.explode(reservation(HOLD, rid="cart-9", qty=3, expires=NOW + 1, sku=KIT))
    assert [(r.sku, r.qty, r.reservation_id, r.event_id) for r in held] == [
        (KIT, 3, "cart-9", "cart-9-HOLD"),
        ("MUG-1", 6, "cart-9>kit GIFT-1", "cart-9-HOLD>MUG-1x2"),
        ("TEE-1", 3, "cart-9>kit GIFT-1", "cart-9-HOLD>TEE-1x1"),
    ]


def test_a_hold_that_arrived_before_the_kit_bill_of_materials_is_exploded_when_it_arrives():
    bom = KitBom(KIT)
    bom.apply_item("K")
    early = reservation(HOLD, rid="cart-9", qty=3, expires=NOW + 1, sku=KIT)
    assert bom.explode(early) == [early]
    [late] = bom.apply_component(component(KIT, "MUG-1", 2, 11))
    assert (late.sku, late.qty, late.event_id) == ("MUG-1", 6, "cart-9-HOLD>MUG-1x2")


def test_a_larger_quantity_per_kit_re_explodes_as_a_new_event_that_can_only_hold_more():
    bom = KitBom(KIT)
    bom.apply_component(component(KIT, "MUG-1", 2, 11))
    bom.explode(reservation(HOLD, rid="cart-9", qty=3, expires=NOW + 1, sku=KIT))
    [again] = bom.apply_component(component(KIT, "MUG-1", 3, 12))
    assert (again.qty, again.event_id) == (9, "cart-9-HOLD>MUG-1x3")


def test_a_sku_without_components_passes_its_reservations_through():
    bom = KitBom("TEE-1")
    event = reservation(HOLD, expires=NOW + 1)
    assert bom.explode(event) == [event] and bom.is_empty

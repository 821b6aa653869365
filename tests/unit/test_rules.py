from atp.domain.rules import (
    BACKORDER,
    DISCONTINUED,
    IN_STOCK,
    LOW_STOCK,
    OUT_OF_STOCK,
    PREORDER,
    alert_kind,
    available_units,
    kits_allowed,
    promisable_units,
    safety_stock_in_force,
    stock_status,
)


def test_available_is_on_hand_less_everything_held_back():
    assert available_units(on_hand=20, unsellable=2, reserved=3, committed=4, safety_stock=1) == 10


def test_available_is_never_negative():
    assert available_units(on_hand=2, unsellable=0, reserved=5, committed=0, safety_stock=0) == 0


def test_a_discontinued_item_promises_nothing_whatever_is_on_hand():
    assert promisable_units("S", True, 50, 0, 0, 0, 0) == 0


def test_a_kit_never_promises_from_its_own_stock_only_from_its_components():
    assert promisable_units("K", False, 50, 0, 0, 0, 0) == 0


def test_a_preorder_item_promises_from_stock_and_inbound_supply():
    assert promisable_units("P", False, 0, 0, 2, 0, 0, incoming=20) == 18


def test_kits_allowed_is_decided_by_the_scarcest_component():
    assert kits_allowed([(9, 1), (7, 2)]) == 3
    assert kits_allowed([]) == 0


def test_safety_stock_planner_beats_default_and_dynamic_only_raises():
    assert safety_stock_in_force(2, 5, 1, 0) == 2
    assert safety_stock_in_force(None, 5, 1, 0) == 5
    assert safety_stock_in_force(None, None, 1, 3) == 3


def test_alerts_are_transitions_not_levels():
    assert alert_kind(None, 0, 5) is None
    assert alert_kind(10, 5, 5) == "LOW_STOCK"
    assert alert_kind(5, 4, 5) is None
    assert alert_kind(4, 0, 5) == "OUT_OF_STOCK"
    assert alert_kind(0, 2, 5) == "BACK_IN_STOCK"


def test_status_follows_available_and_the_low_stock_threshold():
    assert stock_status("S", False, available=6, incoming=0, low_stock_threshold=5) == IN_STOCK
    assert stock_status("S", False, available=5, incoming=0, low_stock_threshold=5) == LOW_STOCK
    assert stock_status("S", False, available=0, incoming=0, low_stock_threshold=5) == OUT_OF_STOCK
    assert stock_status("S", False, available=0, incoming=10, low_stock_threshold=5) == BACKORDER


def test_discontinued_and_preorder_statuses_win():
    assert stock_status("S", True, available=0, incoming=0, low_stock_threshold=5) == DISCONTINUED
    assert stock_status("P", False, available=0, incoming=0, low_stock_threshold=5) == PREORDER

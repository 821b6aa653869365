from atp.domain.rules import (
    BACKORDER,
    DISCONTINUED,
    IN_STOCK,
    LOW_STOCK,
    OUT_OF_STOCK,
    PREORDER,
    available_units,
    promisable_units,
    stock_status,
)


def test_available_is_on_hand_less_everything_held_back():
    assert available_units(on_hand=20, unsellable=2, reserved=3, committed=4, safety_stock=1) == 10


def test_available_is_never_negative():
    assert available_units(on_hand=2, unsellable=0, reserved=5, committed=0, safety_stock=0) == 0


def test_a_discontinued_item_promises_nothing_whatever_is_on_hand():
    assert promisable_units("S", True, 50, 0, 0, 0, 0) == 0


def test_kits_and_preorder_items_promise_nothing_until_their_own_rules_feed_them():
    assert promisable_units("K", False, 50, 0, 0, 0, 0) == 0
    assert promisable_units("P", False, 50, 0, 0, 0, 0) == 0


def test_status_follows_available_and_the_low_stock_threshold():
    assert stock_status("S", False, available=6, incoming=0, low_stock_threshold=5) == IN_STOCK
    assert stock_status("S", False, available=5, incoming=0, low_stock_threshold=5) == LOW_STOCK
    assert stock_status("S", False, available=0, incoming=0, low_stock_threshold=5) == OUT_OF_STOCK
    assert stock_status("S", False, available=0, incoming=10, low_stock_threshold=5) == BACKORDER


def test_discontinued_and_preorder_statuses_win():
    assert stock_status("S", True, available=0, incoming=0, low_stock_threshold=5) == DISCONTINUED
    assert stock_status("P", False, available=0, incoming=0, low_stock_threshold=5) == PREORDER

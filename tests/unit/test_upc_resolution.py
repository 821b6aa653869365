from atp.domain.events import ItemChanged, Provenance, StoreStockByUpc, UpcReleased
from atp.domain.upc_resolution import UpcState

UPC = "000000000017"


def shelf(store: str, on_hand: int, lsn: int) -> StoreStockByUpc:
    return StoreStockByUpc(UPC, store, on_hand, (lsn,), Provenance(lsn, f"lsn={lsn}"))


def item(sku: str, position: int, deleted: bool = False) -> ItemChanged:
    return ItemChanged(sku, UPC, None, "S", False, deleted, (2, position, 0), Provenance(1, "item"))


def test_store_stock_waits_for_its_item_then_is_released_under_its_sku():
    state = UpcState(UPC)
    assert state.apply_store_stock(shelf("ST0001", 4, 10)) == []
    assert state.apply_store_stock(shelf("ST0002", 7, 11)) == []
    released = state.apply_item(item("TEE-1", 5))
    assert [(r.sku, r.location, r.on_hand) for r in released] == [("TEE-1", "ST0001", 4), ("TEE-1", "ST0002", 7)]
    assert state.waiting == {}


def test_every_waiting_row_is_released_in_source_order_and_duplicates_once():
    state = UpcState(UPC)
    state.apply_store_stock(shelf("ST0001", 4, 20))
    state.apply_store_stock(shelf("ST0001", 9, 10))  # older, arrived late
    state.apply_store_stock(shelf("ST0001", 4, 20))  # re-delivered
    released = state.apply_item(item("TEE-1", 5))
    assert [(r.on_hand, r.position) for r in released] == [(9, (10,)), (4, (20,))]


def test_once_known_store_stock_passes_straight_through():
    state = UpcState(UPC)
    state.apply_item(item("TEE-1", 5))
    [level] = state.apply_store_stock(shelf("ST0001", 3, 30))
    assert (level.sku, level.location, level.on_hand, level.quality_hold) == ("TEE-1", "ST0001", 3, 0)


def test_a_released_upc_no_longer_resolves():
    state = UpcState(UPC)
    state.apply_item(item("TEE-1", 5))
    state.apply_release(UpcReleased(UPC, "TEE-1", (2, 9, 0)))
    assert state.apply_store_stock(shelf("ST0001", 3, 30)) == []
    assert state.sku is None

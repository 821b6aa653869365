from atp.domain.events import ItemChanged, Provenance, SaleRecorded, StoreStockByUpc, UpcReleased
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


def test_stock_passing_straight_through_leaves_the_state_as_it_was_and_says_so_beforehand():
    import pickle

    state = UpcState(UPC)
    assert not state.passes_through(shelf("ST0001", 3, 30))  # it will wait: the state changes
    state.apply(item("TEE-1", 5), 0)
    before = pickle.dumps(state)
    assert state.passes_through(shelf("ST0001", 3, 30)) and not state.passes_through(item("TEE-2", 6))
    state.apply(shelf("ST0001", 3, 30), 0)
    assert pickle.dumps(state) == before


def test_a_released_upc_no_longer_resolves():
    state = UpcState(UPC)
    state.apply_item(item("TEE-1", 5))
    state.apply_release(UpcReleased(UPC, "TEE-1", (2, 9, 0)))
    assert state.apply_store_stock(shelf("ST0001", 3, 30)) == []
    assert state.sku is None


WAIT = 60_000
NOW = 1_800_000_000_000


def sale(store: str, qty: int, lsn: int) -> SaleRecorded:
    return SaleRecorded(UPC, store, qty, lsn, Provenance(lsn, f"lsn={lsn}", "pos.public.sale_line", 0, lsn))


def test_store_stock_and_sales_for_a_upc_the_erp_never_names_wait_the_unresolved_wait_then_are_dead_lettered():
    state = UpcState(UPC)
    row = StoreStockByUpc(UPC, "ST0001", 4, (10,), Provenance(10, "lsn=10", "pos.public.store_stock", 1, 77))
    assert state.apply(row, NOW) == []
    assert state.apply(sale("ST0001", 2, 11), NOW + 5) == []
    assert state.deadline_ms(WAIT) == NOW + WAIT
    assert state.give_up(NOW + WAIT - 1, WAIT) == []
    stock_letter, sale_letter = state.give_up(NOW + WAIT, WAIT)
    error = f"UPC {UPC} is not known to the ERP after 60s"
    assert (stock_letter.source_topic, stock_letter.partition, stock_letter.offset) == ("pos.public.store_stock", 1, 77)
    assert (stock_letter.reason, stock_letter.error, stock_letter.payload) == (
        "unknown_upc",
        error,
        f'{{"upc":"{UPC}","store":"ST0001","on_hand":4,"cause_ref":"lsn=10"}}',
    )
    assert (sale_letter.source_topic, sale_letter.reason, sale_letter.payload) == (
        "pos.public.sale_line",
        "unknown_upc",
        f'{{"upc":"{UPC}","store":"ST0001","qty":2,"cause_ref":"lsn=11"}}',
    )
    assert state.is_empty and state.deadline_ms(WAIT) is None


def test_a_upc_named_in_time_releases_its_rows_and_stops_the_wait():
    state = UpcState(UPC)
    state.apply(shelf("ST0001", 4, 10), NOW)
    [level] = state.apply(item("TEE-1", 5), NOW + 1)
    assert (level.sku, level.on_hand) == ("TEE-1", 4)
    assert state.deadline_ms(WAIT) is None and state.give_up(NOW + WAIT, WAIT) == []

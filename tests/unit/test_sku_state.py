from atp.domain.events import ItemChanged, Provenance, StockLevel
from atp.domain.sku_state import SkuState

NOW = 1_800_000_000_000


def stock(on_hand: int, position: int, location: str = "DC0001", hold: int = 0) -> StockLevel:
    return StockLevel(
        "TEE-1", location, on_hand, hold, (2, position, 0), Provenance(1000 + position, f"stock@{position}")
    )


def item(position: int = 1, discontinued: bool = False, item_type: str = "S", deleted: bool = False) -> ItemChanged:
    return ItemChanged(
        "TEE-1", "000000000017", None, item_type, discontinued, deleted, (2, position, 0), Provenance(1, "item")
    )


def known_sku() -> SkuState:
    state = SkuState("TEE-1")
    state.apply_item(item(), NOW, 5)
    return state


def test_nothing_is_published_before_the_item_is_known():
    state = SkuState("TEE-1")
    assert state.apply_stock(stock(10, 100), NOW, 5) == []


def test_learning_the_item_publishes_the_stock_that_was_waiting_as_the_stock_change_it_is():
    state = SkuState("TEE-1")
    state.apply_stock(stock(10, 100), NOW, 5)
    [record] = state.apply_item(item(), NOW, 5)
    assert (record.location, record.on_hand, record.available, record.version) == ("DC0001", 10, 10, 1)
    assert (record.cause, record.cause_ref) == ("stock", "stock@100")


def test_a_stock_change_publishes_a_record_with_its_source_time_and_position():
    [record] = known_sku().apply_stock(stock(10, 100, hold=3), NOW, 5)
    assert record.on_hand == 10 and record.unsellable == 3 and record.available == 7
    assert record.source_ts_ms == 1100 and record.cause == "stock" and record.cause_ref == "stock@100"
    assert record.computed_ts_ms == NOW and record.key == "TEE-1@DC0001"


def test_an_unchanged_level_publishes_nothing():
    state = known_sku()
    state.apply_stock(stock(10, 100), NOW, 5)
    assert state.apply_stock(stock(10, 101), NOW, 5) == []


def test_a_change_older_than_the_applied_one_is_ignored():
    state = known_sku()
    state.apply_stock(stock(10, 200), NOW, 5)
    assert state.apply_stock(stock(99, 150), NOW, 5) == []
    assert state.locations["DC0001"].on_hand == 10


def test_a_redelivered_change_publishes_nothing_new():
    state = known_sku()
    state.apply_stock(stock(10, 200), NOW, 5)
    assert state.apply_stock(stock(10, 200), NOW, 5) == []


def test_versions_increase_per_location():
    state = known_sku()
    versions = [r.version for p, q in [(1, 5), (2, 6), (3, 7)] for r in state.apply_stock(stock(q, 100 + p), NOW, 5)]
    other = state.apply_stock(stock(3, 104, location="DC0002"), NOW, 5)
    assert versions == [1, 2, 3] and other[0].version == 1


def test_discontinuing_an_item_stops_promises_everywhere():
    state = known_sku()
    state.apply_stock(stock(10, 100), NOW, 5)
    state.apply_stock(stock(4, 101, location="ST0001"), NOW, 5)
    records = state.apply_item(item(position=300, discontinued=True), NOW, 5)
    assert [(r.location, r.available, r.status, r.cause) for r in records] == [
        ("DC0001", 0, "DISCONTINUED", "item"),
        ("ST0001", 0, "DISCONTINUED", "item"),
    ]


def test_a_deleted_item_promises_nothing():
    state = known_sku()
    state.apply_stock(stock(10, 100), NOW, 5)
    [record] = state.apply_item(item(position=300, deleted=True), NOW, 5)
    assert record.available == 0


def test_stock_changes_seen_before_the_item_publish_one_by_one_as_if_the_item_had_come_first():
    item_first = known_sku()
    in_order = [r for q, p in [(10, 100), (11, 101), (12, 102)] for r in item_first.apply_stock(stock(q, p), NOW, 5)]

    item_last = SkuState("TEE-1")
    for q, p in [(12, 102), (10, 100), (11, 101), (11, 101)]:  # reordered and duplicated
        item_last.apply_stock(stock(q, p), NOW, 5)
    replayed = item_last.apply_item(item(), NOW, 5)

    assert [(r.version, r.on_hand, r.cause_ref) for r in replayed] == [
        (r.version, r.on_hand, r.cause_ref) for r in in_order
    ]

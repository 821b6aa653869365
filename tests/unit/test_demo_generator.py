"""The demo retailer is deterministic, consistent with itself, and shaped like the legacy spec."""

import datetime as dt
import re

from atp.demo.generator import DemoSize, generate, upc_check_digit
from atp.settings import PROJECT_ROOT

TODAY = dt.date(2026, 11, 22)


def test_the_same_seed_gives_the_same_retailer_and_another_seed_another():
    assert generate(DemoSize(items=300, today=TODAY)) == generate(DemoSize(items=300, today=TODAY))
    assert generate(DemoSize(items=300, today=TODAY)) != generate(DemoSize(items=300, seed=7, today=TODAY))


def test_item_numbers_and_upcs_are_unique_and_upcs_carry_a_valid_check_digit():
    data = generate(DemoSize(today=TODAY))
    skus = [i[0] for i in data.items]
    upcs = [i[5] for i in data.items]
    assert len(data.items) == 2000 and len(set(skus)) == len(skus) and len(set(upcs)) == len(upcs)
    assert all(len(u) == 12 and u[-1] == upc_check_digit(u[:11]) for u in upcs)
    assert all(len(s) <= 24 for s in skus)


def test_kits_are_made_of_stocked_items_and_lots_add_up_to_on_hand():
    data = generate(DemoSize(today=TODAY))
    item_type = {i[0]: i[6] for i in data.items}
    assert data.kit_components and all(item_type[c[1]] == "S" and item_type[c[0]] == "K" for c in data.kit_components)
    on_hand = {(s[0], s[1]): s[2] for s in data.stock_bal}
    lot_sums: dict[tuple[object, object], int] = {}
    for item_no, loc, _lot, qty, _expiry in data.stock_lots:
        lot_sums[(item_no, loc)] = lot_sums.get((item_no, loc), 0) + qty
    assert lot_sums and all(on_hand[key] == total for key, total in lot_sums.items())
    assert any(lot[4] < TODAY for lot in data.stock_lots)


def test_every_store_stock_upc_is_an_item_and_kits_have_no_shelf_stock():
    data = generate(DemoSize(today=TODAY))
    type_by_upc = {i[5]: i[6] for i in data.items}
    assert all(type_by_upc[row[1]] == "S" for row in data.store_stock)


def test_listings_cover_the_big_channels_and_list_some_item_twice_on_one_channel():
    data = generate(DemoSize(today=TODAY))
    assert {"SHOPIFY", "AMAZON", "EBAY"} <= {row[0] for row in data.listings}
    per_channel_item: dict[tuple[object, object], int] = {}
    for channel, _channel_sku, item_no, _active in data.listings:
        per_channel_item[(channel, item_no)] = per_channel_item.get((channel, item_no), 0) + 1
    assert max(per_channel_item.values()) >= 2


def test_a_big_size_stays_sparse_at_the_stores():
    data = generate(DemoSize(items=5000, stores=200, store_assortment=0.02, today=TODAY))
    assert len(data.store_stock) < 5000 * 200 * 0.03


def test_the_source_ddl_has_every_table_and_column_of_the_legacy_spec():
    spec_path = PROJECT_ROOT.parent / "shared" / "spec" / "legacy-sources.md"
    assert spec_path.is_file(), f"the legacy spec is expected beside the checkout, at {spec_path}"
    spec = spec_path.read_text()
    ddl = (PROJECT_ROOT / "schemas" / "sources" / "erp.sql").read_text() + (
        PROJECT_ROOT / "schemas" / "sources" / "pos.sql"
    ).read_text()
    for table, body in re.findall(r"^(\w+)\n((?:  .+\n)+)", spec, flags=re.M):
        assert f"CREATE TABLE IF NOT EXISTS {table} (" in ddl, table
        for column, column_type in re.findall(r"^  (\w+)\s+(\w+(?:\(\d+(?:,\d+)?\))?)", body, flags=re.M):
            if column == "PRIMARY":
                continue
            assert re.search(rf"^  {column}\s+{re.escape(column_type)}", ddl, flags=re.M | re.I), f"{table}.{column}"

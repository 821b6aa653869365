"""The demo retailer is deterministic, consistent with itself, and shaped like the legacy spec."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from atp.demo.catalogue import upc_check_digit
from atp.demo.generator import DemoSize, generate
from atp.demo.legacy_rows import (
    ITEM_COLUMNS,
    KIT_COLUMNS,
    LISTING_COLUMNS,
    LOCATION_COLUMNS,
    PO_LINE_COLUMNS,
    SAFETY_STK_COLUMNS,
    SALE_LINE_COLUMNS,
    STOCK_BAL_COLUMNS,
    STOCK_LOT_COLUMNS,
    STORE_COLUMNS,
    STORE_STOCK_COLUMNS,
    TICKET_COLUMNS,
    DemoData,
    ItemRow,
    KitComponentRow,
    StoreStockRow,
)
from atp.settings import PROJECT_ROOT

TODAY = dt.date(2026, 11, 22)
SHARED_SPEC = PROJECT_ROOT.parent / "shared" / "spec" / "legacy-sources.md"
SOURCES = PROJECT_ROOT / "schemas" / "sources"
# A copy of the spec kept in the repo, so that a checkout anywhere (CI included) checks the DDL against it.
SPEC_COPY = SOURCES / "legacy-sources.md"


@cache
def default_retailer() -> DemoData:
    return generate(DemoSize(today=TODAY))


# -- the generator ------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_retailer_and_another_seed_another() -> None:
    assert generate(DemoSize(items=300, today=TODAY)) == generate(DemoSize(items=300, today=TODAY))
    assert generate(DemoSize(items=300, today=TODAY)) != generate(DemoSize(items=300, seed=7, today=TODAY))


def test_the_default_size_is_2000_items_2_dcs_and_20_stores_with_the_full_range_everywhere() -> None:
    data = default_retailer()
    stocked = [i for i in data.items if i.item_type == "S"]
    assert len(data.items) == 2000
    assert len({i.style_no for i in data.items}) >= 200
    assert Counter(loc.loc_type for loc in data.locations) == {"D": 2, "S": 20}
    assert len(data.stock_bal) == 2 * len(stocked)
    assert len(data.store_stock) == 20 * len(stocked)


def test_item_numbers_and_upcs_are_unique_and_upcs_carry_a_valid_check_digit() -> None:
    data = default_retailer()
    skus = [i.item_no for i in data.items]
    upcs = [i.upc for i in data.items if i.upc is not None]
    assert len(set(skus)) == len(skus) and len(set(upcs)) == len(upcs) == len(skus)
    assert all(len(u) == 12 and u.isdigit() and u[-1] == upc_check_digit(u[:11]) for u in upcs)
    assert upc_check_digit("03600029145") == "2"  # the textbook UPC-A example, 036000291452


def test_values_fit_the_legacy_column_widths() -> None:
    data = default_retailer()
    big = generate(DemoSize(items=100_000, stores=2, dcs=1, today=TODAY))
    for items in (data.items, big.items):
        assert all(len(i.item_no) <= 24 and len(i.style_no) <= 16 and len(i.descr or "") <= 80 for i in items)
        assert all(len(i.color_cd or "") <= 8 and len(i.size_cd or "") <= 8 for i in items)
    assert all(len(listing.channel_sku) <= 40 and len(listing.channel_cd) <= 12 for listing in data.listings)
    assert all(len(lot.lot_no) <= 20 for lot in data.stock_lots)
    assert all(len(po.po_no) <= 12 for po in data.po_lines)
    assert all(len(loc.loc_cd) == 6 and len(loc.loc_name) <= 60 for loc in data.locations)


def test_item_numbers_read_style_colour_size() -> None:
    items = {i.item_no: i for i in default_retailer().items}
    tee = items["TEE-1001-BLK-M"]
    assert (tee.style_no, tee.color_cd, tee.size_cd, tee.item_type) == ("TEE-1001", "BLK", "M", "S")


def test_the_catalogue_has_stocked_items_kits_preorders_and_discontinued_items() -> None:
    data = default_retailer()
    assert Counter(i.item_type for i in data.items).keys() == {"S", "K", "P"}
    assert Counter(i.item_type for i in data.items)["S"] > 0.9 * len(data.items)
    assert any(i.status_flg == "D" for i in data.items)


def test_kits_are_made_of_2_or_3_stocked_items_and_have_no_stock_of_their_own() -> None:
    data = default_retailer()
    item_type = {i.item_no: i.item_type for i in data.items}
    kits = [i.item_no for i in data.items if i.item_type == "K"]
    components: dict[str, list[KitComponentRow]] = {}
    for row in data.kit_components:
        components.setdefault(row.kit_item_no, []).append(row)
    assert sorted(components) == sorted(kits)
    assert all(2 <= len(rows) <= 3 for rows in components.values())
    assert all(item_type[row.comp_item_no] == "S" and row.comp_qty in (1, 2) for row in data.kit_components)
    stocked_skus = {row.item_no for row in data.stock_bal}
    assert {row.comp_item_no for row in data.kit_components} <= stocked_skus
    assert not stocked_skus & set(kits)


def test_preorder_items_have_no_stock_and_open_supply_due_after_today() -> None:
    data = default_retailer()
    preorder = {i.item_no: i.upc for i in data.items if i.item_type == "P"}
    assert preorder
    assert not {row.item_no for row in data.stock_bal} & preorder.keys()
    assert not {row.upc for row in data.store_stock} & set(preorder.values())
    open_supply = {po.item_no for po in data.po_lines if po.status == "O" and po.due_dt > TODAY}
    assert preorder.keys() <= open_supply


def test_purchase_orders_are_open_closed_or_cancelled_and_received_quantities_fit() -> None:
    data = default_retailer()
    assert {po.status for po in data.po_lines} == {"O", "C", "X"}
    assert len({(po.po_no, po.line_no) for po in data.po_lines}) == len(data.po_lines)
    assert all(Decimal(0) <= po.qty_rcv <= po.qty_ord for po in data.po_lines)
    assert all(po.qty_rcv == po.qty_ord for po in data.po_lines if po.status == "C")
    assert all(po.due_dt > TODAY for po in data.po_lines if po.status == "O")


def test_lots_add_up_to_on_hand_and_some_are_expired_or_expiring_soon() -> None:
    data = default_retailer()
    on_hand = {(s.item_no, s.loc_cd): s.qty_oh for s in data.stock_bal}
    lot_sums: Counter[tuple[str, str]] = Counter()
    for lot in data.stock_lots:
        lot_sums[(lot.item_no, lot.loc_cd)] += int(lot.qty)
    assert lot_sums and all(on_hand[key] == total for key, total in lot_sums.items())
    assert all(lot.qty > 0 for lot in data.stock_lots)
    expiries = [lot.expiry_dt for lot in data.stock_lots if lot.expiry_dt is not None]
    assert any(e < TODAY for e in expiries) and any(TODAY <= e <= TODAY + dt.timedelta(days=7) for e in expiries)
    lot_items = {lot.item_no for lot in data.stock_lots}
    assert all(item.startswith(("LIPS-", "CREM-")) for item in lot_items)


def test_dc_stock_is_in_whole_units_and_some_of_it_is_on_quality_hold() -> None:
    data = default_retailer()
    assert all(s.qty_oh == int(s.qty_oh) >= 0 and 0 <= s.qty_hold <= s.qty_oh for s in data.stock_bal)
    assert any(s.qty_hold > 0 for s in data.stock_bal)
    assert {s.loc_cd for s in data.stock_bal} == {"DC0001", "DC0002"}


def test_every_store_stock_upc_is_a_stocked_item_at_a_known_store() -> None:
    data = default_retailer()
    type_by_upc = {i.upc: i.item_type for i in data.items}
    stores = {s.store_id for s in data.stores}
    assert all(type_by_upc[row.upc] == "S" and row.store_id in stores for row in data.store_stock)
    assert len({(row.store_id, row.upc) for row in data.store_stock}) == len(data.store_stock)


def test_locations_are_dcs_that_ship_and_stores_of_the_pos_in_real_time_zones() -> None:
    data = default_retailer()
    dcs = [loc for loc in data.locations if loc.loc_type == "D"]
    stores = [loc for loc in data.locations if loc.loc_type == "S"]
    assert [d.loc_cd for d in dcs] == ["DC0001", "DC0002"] and all(d.ship_from_flg == "Y" for d in dcs)
    assert {s.ship_from_flg for s in stores} == {"Y", "N"}
    assert [s.loc_cd for s in stores] == [s.store_id for s in data.stores]
    assert all(ZoneInfo(s.timezone) for s in data.stores)
    assert {"Europe/Paris", "Europe/London", "America/New_York"} <= {s.timezone for s in data.stores}
    assert all(loc.latitude is not None and abs(loc.latitude) <= 90 for loc in data.locations)


def test_safety_stock_has_overrides_for_every_location_and_for_one() -> None:
    data = default_retailer()
    assert {"*", "DC0001"} <= {row.loc_cd for row in data.safety_stock}
    assert len({(row.item_no, row.loc_cd) for row in data.safety_stock}) == len(data.safety_stock)
    assert all(row.ss_qty > 0 for row in data.safety_stock)


def test_listings_cover_the_big_channels_and_list_some_item_twice_on_one_channel() -> None:
    data = default_retailer()
    assert {"SHOPIFY", "AMAZON", "EBAY", "TIKTOK"} == {row.channel_cd for row in data.listings}
    assert len({(row.channel_cd, row.channel_sku) for row in data.listings}) == len(data.listings)
    per_channel_item = Counter((row.channel_cd, row.item_no) for row in data.listings)
    assert max(per_channel_item.values()) >= 2
    assert any(row.active_flg == "N" for row in data.listings)
    listed = {row.item_no for row in data.listings}
    assert len(listed) > 0.9 * len(data.items)


def test_sales_history_has_fake_personal_data_and_only_known_upcs() -> None:
    data = default_retailer()
    upcs = {i.upc for i in data.items}
    assert data.tickets and all(line.upc in upcs for line in data.sale_lines)
    assert {line.ticket_id for line in data.sale_lines} == {t.ticket_id for t in data.tickets}
    emails = [t.customer_email for t in data.tickets if t.customer_email]
    assert emails and all(e.endswith("@example.com") for e in emails)
    assert any(t.loyalty_id for t in data.tickets) and any(line.qty < 0 for line in data.sale_lines)
    assert all(t.opened_at.tzinfo is not None for t in data.tickets)


def test_a_big_size_stays_sparse_at_the_stores_but_keeps_every_item_at_every_dc() -> None:
    size = DemoSize(items=20_000, dcs=2, stores=200, today=TODAY)
    data = generate(size)
    stocked = sum(1 for i in data.items if i.item_type == "S")
    assert len(data.stock_bal) == 2 * stocked
    assert len(data.store_stock) <= 400_000 < 200 * stocked
    per_store = Counter(row.store_id for row in data.store_stock)
    assert len(per_store) == 200 and min(per_store.values()) > 0.05 * stocked


def test_an_explicit_store_assortment_is_honoured() -> None:
    data = generate(DemoSize(items=1000, stores=10, store_assortment=0.25, today=TODAY))
    stocked = sum(1 for i in data.items if i.item_type == "S")
    assert len(data.store_stock) == 10 * round(0.25 * stocked)


def test_rows_are_in_the_column_order_of_their_column_constants() -> None:
    data = default_retailer()
    pairs = (
        (data.items, ITEM_COLUMNS),
        (data.kit_components, KIT_COLUMNS),
        (data.locations, LOCATION_COLUMNS),
        (data.stock_bal, STOCK_BAL_COLUMNS),
        (data.stock_lots, STOCK_LOT_COLUMNS),
        (data.po_lines, PO_LINE_COLUMNS),
        (data.safety_stock, SAFETY_STK_COLUMNS),
        (data.listings, LISTING_COLUMNS),
        (data.stores, STORE_COLUMNS),
        (data.store_stock, STORE_STOCK_COLUMNS),
        (data.tickets, TICKET_COLUMNS),
        (data.sale_lines, SALE_LINE_COLUMNS),
    )
    for rows, columns in pairs:
        assert rows, columns
        assert tuple(f.upper() for f in type(rows[0])._fields) == tuple(c.upper() for c in columns)
    assert isinstance(data.items[0], ItemRow) and isinstance(data.store_stock[0], StoreStockRow)


# -- the DDL against the legacy spec ------------------------------------------------------

_TYPE = r"timestamp without time zone|\w+(?:\(\d+(?:,\d+)?\))?"


@dataclass(frozen=True)
class Column:
    type: str
    not_null: bool
    default: str | None
    unique: bool


@dataclass(frozen=True)
class Table:
    columns: dict[str, Column]
    primary_key: tuple[str, ...]


def _column(name: str, text: str, primary_key: list[str]) -> Column:
    """``text`` is what follows the column name; constraint keywords are upper case in spec and DDL alike."""
    match = re.match(rf"\s*({_TYPE})", text, flags=re.I)
    assert match, f"{name}: no type in {text!r}"
    if "PRIMARY KEY" in text:
        primary_key.append(name)
    default = re.search(r"DEFAULT (\S+?),?(?:\s|$)", text)
    return Column(
        type=re.sub(r"\s+", " ", match.group(1)).lower(),
        not_null="NOT NULL" in text or "PRIMARY KEY" in text,
        default=default.group(1) if default else None,
        unique=re.search(r"\bUNIQUE\b", text) is not None,
    )


def _composite_key(line: str) -> tuple[str, ...] | None:
    match = re.match(r"\s*PRIMARY KEY \(([^)]*)\)", line)
    return tuple(c.strip() for c in match.group(1).split(",")) if match else None


def _table(body: str) -> Table:
    """Column lines (spec or DDL alike) to a table; a composite key line sets the primary key."""
    columns: dict[str, Column] = {}
    primary_key: list[str] = []
    for line in body.splitlines():
        composite = _composite_key(line)
        if composite:
            primary_key = list(composite)
            continue
        column, rest = line.split(None, 1)
        columns[column] = _column(column, rest, primary_key)
    return Table(columns, tuple(primary_key))


def _spec_text() -> str:
    """The legacy spec: the shared one when the checkout sits beside it (and then the copy must match it)."""
    copy = SPEC_COPY.read_text()
    if SHARED_SPEC.is_file():
        assert SHARED_SPEC.read_text() == copy, f"{SPEC_COPY} is out of step with {SHARED_SPEC}: copy it again"
    return copy


def _spec_tables() -> dict[str, Table]:
    tables = {}
    # A table is a name at the start of a line (maybe followed by a note), then its indented column lines.
    for name, body in re.findall(r"^(\w+)(?: {2,}.*)?\n((?:  .+\n)+)", _spec_text(), flags=re.M):
        tables[name] = _table(body)
    return tables


def _ddl_tables(ddl: str) -> dict[str, Table]:
    tables = {}
    for name, body in re.findall(r"^CREATE TABLE IF NOT EXISTS (\w+) \(\n(.*?)\n\)", ddl, flags=re.M | re.S):
        tables[name] = _table(body)
    return tables


def _ddl(file: str) -> str:
    return (SOURCES / file).read_text()


def test_the_spec_parser_finds_every_legacy_table() -> None:
    # Guards the test below: a table whose heading carries a note must not slip through.
    assert set(_spec_tables()) == {
        "ITEM_MASTER",
        "KIT_COMPONENT",
        "LOCATION",
        "STOCK_BAL",
        "STOCK_LOT",
        "PO_LINE",
        "SAFETY_STK",
        "CHANNEL_LISTING",
        "store",
        "store_stock",
        "sale_ticket",
        "sale_line",
    }


def test_the_source_ddl_creates_exactly_the_tables_and_columns_of_the_legacy_spec() -> None:
    ddl = {**_ddl_tables(_ddl("erp.sql")), **_ddl_tables(_ddl("pos.sql"))}
    for name, spec in _spec_tables().items():
        assert name in ddl, f"{name} is not created"
        table = ddl[name]
        assert list(table.columns) == list(spec.columns), f"{name}: columns differ from the spec"
        assert table.primary_key == spec.primary_key, f"{name}: primary key"
        for column, expected in spec.columns.items():
            assert table.columns[column] == expected, f"{name}.{column}"


def test_the_erp_tables_are_innodb_and_the_pos_tables_give_full_before_images() -> None:
    erp, pos = _ddl("erp.sql"), _ddl("pos.sql")
    assert erp.count("CREATE TABLE IF NOT EXISTS") == erp.count(") ENGINE=InnoDB;") == 8
    for table in ("store_stock", "sale_ticket", "sale_line"):
        assert f"ALTER TABLE {table} REPLICA IDENTITY FULL;" in pos
    # The infra splits ERP statements on ';' without a parser: no ';' may hide inside a statement.
    statements = [s for s in erp.split(";\n") if s.strip() and not s.strip().startswith("--")]
    assert all(";" not in s for s in statements)

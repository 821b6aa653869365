"""A seeded, deterministic demo retailer: catalogue, locations, stock, supply, listings, store history.

Pure Python, no database: :mod:`atp.demo.seed` loads what this produces. The
same :class:`DemoSize` always gives the same rows. Each row is a NamedTuple
whose fields are in the column order of the ``*_COLUMNS`` constant beside it
(the legacy column names of ``schemas/sources``), so a row can go straight to
``executemany`` or ``COPY``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

# -- rows, one type per legacy table ------------------------------------------------------


class ItemRow(NamedTuple):
    item_no: str
    style_no: str
    descr: str | None
    color_cd: str | None
    size_cd: str | None
    upc: str | None
    item_type: str  # 'S' stocked, 'K' kit, 'P' preorder-only
    status_flg: str  # 'A' active, 'D' discontinued
    upd_ts: dt.datetime  # ERP server local time, naive


class KitComponentRow(NamedTuple):
    kit_item_no: str
    comp_item_no: str
    comp_qty: int


class LocationRow(NamedTuple):
    loc_cd: str
    loc_type: str  # 'D' distribution centre, 'S' store
    loc_name: str
    latitude: Decimal | None
    longitude: Decimal | None
    ship_from_flg: str


class StockBalRow(NamedTuple):
    item_no: str
    loc_cd: str
    qty_oh: Decimal
    qty_hold: Decimal
    upd_ts: dt.datetime


class StockLotRow(NamedTuple):
    item_no: str
    loc_cd: str
    lot_no: str
    qty: Decimal
    expiry_dt: dt.date | None


class PoLineRow(NamedTuple):
    po_no: str
    line_no: int
    item_no: str
    loc_cd: str
    qty_ord: Decimal
    qty_rcv: Decimal
    due_dt: dt.date
    status: str  # 'O' open, 'C' closed, 'X' cancelled


class SafetyStockRow(NamedTuple):
    item_no: str
    loc_cd: str  # '*' means every location
    ss_qty: int


class ChannelListingRow(NamedTuple):
    channel_cd: str
    channel_sku: str
    item_no: str
    active_flg: str


class StoreRow(NamedTuple):
    store_id: str
    name: str
    timezone: str


class StoreStockRow(NamedTuple):
    store_id: str
    upc: str
    on_hand: int
    updated_at: dt.datetime  # store local time, naive


class SaleTicketRow(NamedTuple):
    ticket_id: int
    store_id: str
    opened_at: dt.datetime  # aware
    status: str
    customer_email: str | None  # personal data (fake here)
    loyalty_id: str | None  # personal data (fake here)


class SaleLineRow(NamedTuple):
    ticket_id: int
    line_no: int
    upc: str
    qty: int  # negative for a return
    unit_price: Decimal


ITEM_COLUMNS = ("ITEM_NO", "STYLE_NO", "DESCR", "COLOR_CD", "SIZE_CD", "UPC", "ITEM_TYPE", "STATUS_FLG", "UPD_TS")
KIT_COLUMNS = ("KIT_ITEM_NO", "COMP_ITEM_NO", "COMP_QTY")
LOCATION_COLUMNS = ("LOC_CD", "LOC_TYPE", "LOC_NAME", "LATITUDE", "LONGITUDE", "SHIP_FROM_FLG")
STOCK_BAL_COLUMNS = ("ITEM_NO", "LOC_CD", "QTY_OH", "QTY_HOLD", "UPD_TS")
STOCK_LOT_COLUMNS = ("ITEM_NO", "LOC_CD", "LOT_NO", "QTY", "EXPIRY_DT")
PO_LINE_COLUMNS = ("PO_NO", "LINE_NO", "ITEM_NO", "LOC_CD", "QTY_ORD", "QTY_RCV", "DUE_DT", "STATUS")
SAFETY_STK_COLUMNS = ("ITEM_NO", "LOC_CD", "SS_QTY")
LISTING_COLUMNS = ("CHANNEL_CD", "CHANNEL_SKU", "ITEM_NO", "ACTIVE_FLG")
STORE_COLUMNS = ("store_id", "name", "timezone")
STORE_STOCK_COLUMNS = ("store_id", "upc", "on_hand", "updated_at")
TICKET_COLUMNS = ("ticket_id", "store_id", "opened_at", "status", "customer_email", "loyalty_id")
SALE_LINE_COLUMNS = ("ticket_id", "line_no", "upc", "qty", "unit_price")

# -- the shape of the retailer ------------------------------------------------------------

# (style prefix, description, colours, sizes, lot-tracked cosmetics?)
_CATEGORIES = (
    ("TEE", "Cotton tee", ("BLK", "WHT", "NVY", "RED"), ("S", "M", "L", "XL"), False),
    ("HOOD", "Hoodie", ("BLK", "GRY", "GRN"), ("S", "M", "L", "XL"), False),
    ("JEAN", "Denim jeans", ("IND", "BLK"), ("28", "30", "32", "34", "36"), False),
    ("SOCK", "Sport socks", ("WHT", "BLK"), ("39-42", "43-46"), False),
    ("CAP", "Baseball cap", ("BLK", "NVY", "BEI"), ("OS",), False),
    ("LIPS", "Lipstick", ("RUBY", "NUDE", "CORL", "PLUM"), ("STD",), True),
    ("CREM", "Face cream", ("NONE",), ("50ML", "100ML"), True),
)
# (city, IANA zone of the POS, latitude, longitude)
_STORE_CITIES = (
    ("Paris", "Europe/Paris", 48.8566, 2.3522),
    ("London", "Europe/London", 51.5072, -0.1276),
    ("New York", "America/New_York", 40.7128, -74.0060),
    ("Berlin", "Europe/Berlin", 52.5200, 13.4050),
    ("Madrid", "Europe/Madrid", 40.4168, -3.7038),
)
_DC_SITES = (("Frankfurt", 50.1109, 8.6821), ("Lyon", 45.7640, 4.8357), ("Newark", 40.7357, -74.1724))
CHANNELS = ("SHOPIFY", "AMAZON", "EBAY", "TIKTOK")
_UPC_BASE = 10_000_000_000  # 11-digit UPC body (number system 1); the 12th digit is the check digit
# Above this many store-stock rows the default assortment thins out, so that 100k items x 200 stores
# gives about this many rows rather than 20 M.
_STORE_STOCK_BUDGET = 400_000


@dataclass(frozen=True)
class DemoSize:
    """How big the demo retailer is. ``store_assortment`` is the share of stocked items each store carries.

    ``None`` (the default) means: the full range at every store while that stays under
    ``_STORE_STOCK_BUDGET`` rows, a thinner deterministic subset per store beyond.
    Every stocked item is always at every DC.
    """

    items: int = 2000
    dcs: int = 2
    stores: int = 20
    seed: int = 42
    store_assortment: float | None = None
    today: dt.date = field(default_factory=dt.date.today)

    def assortment(self, stocked_items: int) -> float:
        if self.store_assortment is not None:
            return min(1.0, max(0.0, self.store_assortment))
        full = stocked_items * self.stores
        return 1.0 if full <= _STORE_STOCK_BUDGET else _STORE_STOCK_BUDGET / full


@dataclass
class DemoData:
    items: list[ItemRow] = field(default_factory=list)
    kit_components: list[KitComponentRow] = field(default_factory=list)
    locations: list[LocationRow] = field(default_factory=list)
    stock_bal: list[StockBalRow] = field(default_factory=list)
    stock_lots: list[StockLotRow] = field(default_factory=list)
    po_lines: list[PoLineRow] = field(default_factory=list)
    safety_stock: list[SafetyStockRow] = field(default_factory=list)
    listings: list[ChannelListingRow] = field(default_factory=list)
    stores: list[StoreRow] = field(default_factory=list)
    store_stock: list[StoreStockRow] = field(default_factory=list)
    tickets: list[SaleTicketRow] = field(default_factory=list)
    sale_lines: list[SaleLineRow] = field(default_factory=list)

    def row_counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in vars(self).items()}


@dataclass
class _Catalogue:
    """What the later steps need to know about the items they place, supply and list."""

    stocked: list[str] = field(default_factory=list)  # 'S' items, incl. discontinued and lot-tracked
    preorder: list[str] = field(default_factory=list)
    lot_tracked: set[str] = field(default_factory=set)
    upc_of: dict[str, str] = field(default_factory=dict)


# -- UPC-A -----------------------------------------------------------------------------


def upc_check_digit(body: str) -> str:
    """UPC-A: 3 x the digits in odd positions plus the even ones; the check digit rounds up to 10."""
    digits = [int(d) for d in body]
    total = 3 * sum(digits[0::2]) + sum(digits[1::2])
    return str((10 - total % 10) % 10)


def upc(n: int) -> str:
    body = f"{_UPC_BASE + n:011d}"
    return body + upc_check_digit(body)


# -- the generator -----------------------------------------------------------------------


def generate(size: DemoSize) -> DemoData:
    """The whole retailer for ``size``; the same size (seed included) always gives equal data."""
    rng = random.Random(size.seed)
    # ERP and POS rows were last touched early this morning (server / store local time).
    morning = dt.datetime.combine(size.today, dt.time(6, 0))
    data = DemoData()
    dcs, stores = _locations(rng, size, data)
    catalogue = _items(rng, size, morning, data)
    _dc_stock(rng, size, morning, dcs, catalogue, data)
    _store_stock(rng, size, morning, stores, catalogue, data)
    _purchase_orders(rng, size, dcs, catalogue, data)
    _safety_stock(rng, dcs, stores, catalogue, data)
    _listings(data)
    _sales_history(rng, size, stores, catalogue, data)
    return data


def _locations(rng: random.Random, size: DemoSize, data: DemoData) -> tuple[list[str], list[str]]:
    dcs = [f"DC{n:04d}" for n in range(1, size.dcs + 1)]
    stores = [f"ST{n:04d}" for n in range(1, size.stores + 1)]
    for n, dc in enumerate(dcs):
        site, lat, lon = _DC_SITES[n % len(_DC_SITES)]
        data.locations.append(LocationRow(dc, "D", f"{site} DC {n + 1}", _coord(lat, rng), _coord(lon, rng), "Y"))
    for n, store in enumerate(stores):
        city, timezone, lat, lon = _STORE_CITIES[n % len(_STORE_CITIES)]
        name = f"{city} store {n + 1}"
        # Every fourth store also ships online orders (ship-from-store).
        ship_from = "Y" if n % 4 == 0 else "N"
        data.locations.append(LocationRow(store, "S", name, _coord(lat, rng), _coord(lon, rng), ship_from))
        data.stores.append(StoreRow(store, name, timezone))
    return dcs, stores


def _coord(centre: float, rng: random.Random) -> Decimal:
    """A point a few km around ``centre``, as the DECIMAL(9,6) the ERP stores."""
    return Decimal(f"{centre + rng.uniform(-0.05, 0.05):.6f}")


def _variants(count: int) -> Iterator[tuple[str, str, str, str | None, str, bool]]:
    """(item_no, style_no, descr, colour, size, lot_tracked) for ``count`` variants over as many styles as needed."""
    style = 0
    while True:
        for prefix, descr, colours, sizes, lots in _CATEGORIES:
            style_no = f"{prefix}-{1001 + style}"
            for colour in colours:
                for size in sizes:
                    if count <= 0:
                        return
                    count -= 1
                    if colour == "NONE":  # one shade only: the SKU is style + size
                        yield f"{style_no}-{size}", style_no, f"{descr} {size}", None, size, lots
                    else:
                        yield f"{style_no}-{colour}-{size}", style_no, f"{descr} {colour} {size}", colour, size, lots
            style += 1


def _items(rng: random.Random, size: DemoSize, morning: dt.datetime, data: DemoData) -> _Catalogue:
    catalogue = _Catalogue()
    kit_count = max(1, size.items // 40)
    variants = list(_variants(max(0, size.items - kit_count)))
    for n, (item_no, style_no, descr, colour, size_cd, lots) in enumerate(variants):
        # Fixed strides rather than dice: a reader can find the preorder and discontinued items quickly.
        item_type = "P" if n % 97 == 50 else "S"
        status = "D" if n % 53 == 20 else "A"
        code = catalogue.upc_of[item_no] = upc(n)
        data.items.append(ItemRow(item_no, style_no, descr, colour, size_cd, code, item_type, status, morning))
        if item_type == "P":
            catalogue.preorder.append(item_no)
        else:
            catalogue.stocked.append(item_no)
            if lots:
                catalogue.lot_tracked.add(item_no)

    for k in range(kit_count if catalogue.stocked else 0):
        kit_no = f"KIT-{5001 + k}"
        catalogue.upc_of[kit_no] = upc(len(variants) + k)
        data.items.append(ItemRow(kit_no, kit_no, "Gift bundle", None, None, upc(len(variants) + k), "K", "A", morning))
        components = rng.sample(catalogue.stocked, k=min(len(catalogue.stocked), rng.choice((2, 3))))
        for component in sorted(components):
            data.kit_components.append(KitComponentRow(kit_no, component, rng.choice((1, 1, 2))))
    return catalogue


def _dc_stock(
    rng: random.Random, size: DemoSize, morning: dt.datetime, dcs: list[str], catalogue: _Catalogue, data: DemoData
) -> None:
    """Every stocked item at every DC (kits and preorder items have no physical stock)."""
    for item_no in catalogue.stocked:
        for dc in dcs:
            on_hand = rng.randint(0, 200)
            hold = rng.randint(1, 5) if on_hand > 5 and rng.random() < 0.05 else 0
            data.stock_bal.append(StockBalRow(item_no, dc, Decimal(on_hand), Decimal(hold), morning))
            if item_no in catalogue.lot_tracked and on_hand > 0:
                data.stock_lots.extend(_lots(rng, item_no, dc, on_hand, size.today))


_EXPIRY_DAYS = (-3, 2, 30, 180, 365)  # relative to today: expired, expiring this week, fine


def _lots(rng: random.Random, item_no: str, dc: str, on_hand: int, today: dt.date) -> list[StockLotRow]:
    """Split ``on_hand`` into 1-3 lots that add up to it; some already expired, some expiring within days."""
    count = min(on_hand, rng.randint(1, 3))
    cuts = sorted(rng.sample(range(1, on_hand), count - 1)) if count > 1 else []
    quantities = [b - a for a, b in zip([0, *cuts], [*cuts, on_hand], strict=True)]
    return [
        StockLotRow(
            item_no, dc, f"L{today:%y%m}-{n + 1:03d}", Decimal(qty), today + dt.timedelta(days=rng.choice(_EXPIRY_DAYS))
        )
        for n, qty in enumerate(quantities)
    ]


def _store_stock(
    rng: random.Random, size: DemoSize, morning: dt.datetime, stores: list[str], catalogue: _Catalogue, data: DemoData
) -> None:
    """Each store carries all stocked items, or a deterministic subset of them when the size asks to be sparse."""
    share = size.assortment(len(catalogue.stocked))
    for store in stores:
        if share >= 1.0:
            carried = catalogue.stocked
        else:
            # sample() draws k numbers, not one per item: 100k items x 200 stores stays fast.
            carried = sorted(rng.sample(catalogue.stocked, k=round(share * len(catalogue.stocked))))
        for item_no in carried:
            data.store_stock.append(StoreStockRow(store, catalogue.upc_of[item_no], rng.randint(0, 20), morning))


def _purchase_orders(rng: random.Random, size: DemoSize, dcs: list[str], catalogue: _Catalogue, data: DemoData) -> None:
    """Open POs for every preorder item and ~10% of stocked ones; some older POs closed or cancelled.

    POs carry up to 4 lines, all for one DC, as a supplier delivery would.
    """
    supplied = catalogue.preorder + [item for item in catalogue.stocked if rng.random() < 0.1]
    rng.shuffle(supplied)
    po_number = 100000
    for start in range(0, len(supplied), 4):
        po_number += 1
        status = rng.choices(("O", "C", "X"), weights=(8, 1, 1))[0]
        dc = dcs[po_number % len(dcs)] if dcs else "DC0001"
        for line_no, item_no in enumerate(supplied[start : start + 4], start=1):
            # A preorder item must have somewhere to come from: its lines stay open whatever the PO.
            line_status = "O" if item_no in catalogue.preorder else status
            ordered = rng.choice((24, 48, 96, 144))
            data.po_lines.append(
                _po_line(rng, size.today, f"PO{po_number}", line_no, item_no, dc, ordered, line_status)
            )


def _po_line(
    rng: random.Random, today: dt.date, po_no: str, line_no: int, item_no: str, dc: str, ordered: int, status: str
) -> PoLineRow:
    if status == "C":  # delivered in full, in the past
        received, due = ordered, today - dt.timedelta(days=rng.randint(3, 40))
    elif status == "X":
        received, due = 0, today + dt.timedelta(days=rng.randint(-20, 30))
    else:  # open: due after today; a few already partly received
        received = ordered // 2 if rng.random() < 0.15 else 0
        due = today + dt.timedelta(days=rng.randint(3, 60))
    return PoLineRow(po_no, line_no, item_no, dc, Decimal(ordered), Decimal(received), due, status)


def _safety_stock(rng: random.Random, dcs: list[str], stores: list[str], catalogue: _Catalogue, data: DemoData) -> None:
    """A few planner overrides: everywhere ('*'), at one DC, at one store, and '*' plus a specific one."""
    for n, item_no in enumerate(catalogue.stocked):
        slot = n % 80
        if slot in (3, 23):
            data.safety_stock.append(SafetyStockRow(item_no, "*", rng.randint(1, 3)))
        if slot in (23, 43) and dcs:
            data.safety_stock.append(SafetyStockRow(item_no, dcs[(n // 80) % len(dcs)], rng.randint(2, 10)))
        if slot == 63 and stores:
            data.safety_stock.append(SafetyStockRow(item_no, stores[(n // 80) % len(stores)], rng.randint(1, 2)))


def _listings(data: DemoData) -> None:
    """Channel SKUs in each platform's habits; most items listed, a few twice on one channel, a few inactive."""
    for n, item in enumerate(data.items):
        sku = item.item_no
        data.listings.append(ChannelListingRow("SHOPIFY", sku.lower(), sku, "N" if n % 61 == 7 else "Y"))
        if n % 5:  # Amazon seller SKUs; FBA stock is often listed under a second SKU
            data.listings.append(ChannelListingRow("AMAZON", f"AMZ-{sku}", sku, "N" if n % 67 == 11 else "Y"))
            if n % 70 == 1:
                data.listings.append(ChannelListingRow("AMAZON", f"AMZ-{sku}-FBA", sku, "Y"))
        if n % 3 == 0:  # eBay custom labels are free-form numbers
            data.listings.append(ChannelListingRow("EBAY", f"eb-{n:06d}", sku, "Y"))
        if n % 10 == 1:
            data.listings.append(ChannelListingRow("TIKTOK", f"tt_{sku.replace('-', '_').lower()}", sku, "Y"))
        if n % 50 == 9:  # the same item under a second SKU on one channel (e.g. a campaign page)
            data.listings.append(ChannelListingRow("SHOPIFY", f"{sku.lower()}-alt", sku, "Y"))


def _sales_history(
    rng: random.Random, size: DemoSize, stores: list[str], catalogue: _Catalogue, data: DemoData
) -> None:
    """Yesterday's tickets: paid ones with 1-3 lines, a void one, a return. Already reflected in store_stock."""
    if not stores or not catalogue.stocked:
        return
    yesterday = dt.datetime.combine(size.today, dt.time(9, 0), tzinfo=dt.UTC) - dt.timedelta(days=1)
    for ticket_id in range(1, min(50, len(stores) * 5) + 1):
        store = stores[ticket_id % len(stores)]
        status = "VOID" if ticket_id % 17 == 0 else "PAID"
        # Obviously fake personal data: the pipeline must never let it through.
        email = f"customer{ticket_id}@example.com" if ticket_id % 3 else None
        loyalty = f"LOY-{ticket_id:06d}" if ticket_id % 2 else None
        opened = yesterday + dt.timedelta(minutes=7 * ticket_id)
        data.tickets.append(SaleTicketRow(ticket_id, store, opened, status, email, loyalty))
        bought = rng.sample(catalogue.stocked, k=min(len(catalogue.stocked), 1 + ticket_id % 3))
        for line_no, item_no in enumerate(bought, start=1):
            qty = -1 if ticket_id % 11 == 0 and line_no == 1 else rng.randint(1, 2)
            price = Decimal(rng.choice(("9.90", "19.90", "24.50", "49.00")))
            data.sale_lines.append(SaleLineRow(ticket_id, line_no, catalogue.upc_of[item_no], qty, price))

"""A seeded, deterministic demo retailer: catalogue, locations, stock, supply, listings.

Pure Python, no database: :mod:`atp.demo.seed` loads what this produces. The
same :class:`DemoSize` always gives the same rows. Rows are plain tuples in the
column order of the constants beside them (the order of ``schemas/sources``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

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
_STORE_CITIES = (
    ("Paris", "Europe/Paris", 48.8566, 2.3522),
    ("London", "Europe/London", 51.5072, -0.1276),
    ("New York", "America/New_York", 40.7128, -74.0060),
    ("Berlin", "Europe/Berlin", 52.52, 13.405),
    ("Madrid", "Europe/Madrid", 40.4168, -3.7038),
)
CHANNELS = ("SHOPIFY", "AMAZON", "EBAY", "TIKTOK")
_FIRST_UPC = 10_000_000_000  # 11-digit UPC body; the 12th digit is the check digit


@dataclass(frozen=True)
class DemoSize:
    items: int = 2000
    dcs: int = 2
    stores: int = 20
    seed: int = 42
    # Share of stocked items each store carries; below 1 keeps big sizes (100k x 200) sparse.
    store_assortment: float = 1.0
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class DemoData:
    items: list[tuple[object, ...]] = field(default_factory=list)
    kit_components: list[tuple[object, ...]] = field(default_factory=list)
    locations: list[tuple[object, ...]] = field(default_factory=list)
    stock_bal: list[tuple[object, ...]] = field(default_factory=list)
    stock_lots: list[tuple[object, ...]] = field(default_factory=list)
    po_lines: list[tuple[object, ...]] = field(default_factory=list)
    safety_stock: list[tuple[object, ...]] = field(default_factory=list)
    listings: list[tuple[object, ...]] = field(default_factory=list)
    stores: list[tuple[object, ...]] = field(default_factory=list)
    store_stock: list[tuple[object, ...]] = field(default_factory=list)
    tickets: list[tuple[object, ...]] = field(default_factory=list)
    sale_lines: list[tuple[object, ...]] = field(default_factory=list)


def upc_check_digit(body: str) -> str:
    """UPC-A: 3 x the digits in odd positions plus the even ones; the check digit rounds up to 10."""
    digits = [int(d) for d in body]
    total = 3 * sum(digits[0::2]) + sum(digits[1::2])
    return str((10 - total % 10) % 10)


def upc(n: int) -> str:
    body = f"{_FIRST_UPC + n:011d}"
    return body + upc_check_digit(body)


def _variants(count: int) -> Iterator[tuple[str, str, str, str, str, bool]]:
    """(item_no, style_no, descr, colour, size, lot_tracked) for ``count`` variants over many styles."""
    style = 0
    while True:
        for prefix, descr, colours, sizes, lots in _CATEGORIES:
            style_no = f"{prefix}-{1001 + style}"
            for colour in colours:
                for size in sizes:
                    if count <= 0:
                        return
                    count -= 1
                    item_no = f"{style_no}-{colour}-{size}" if colour != "NONE" else f"{style_no}-{size}"
                    yield item_no, style_no, descr, colour, size, lots
            style += 1


def generate(size: DemoSize) -> DemoData:
    rng = random.Random(size.seed)
    data = DemoData()
    updated = dt.datetime.combine(size.today, dt.time(6, 0))

    dcs = [f"DC{n:04d}" for n in range(1, size.dcs + 1)]
    stores = [f"ST{n:04d}" for n in range(1, size.stores + 1)]
    for n, dc in enumerate(dcs):
        data.locations.append((dc, "D", f"Distribution centre {n + 1}", Decimal("50.100000"), Decimal("8.600000"), "Y"))
    for n, store in enumerate(stores):
        city, timezone, lat, lon = _STORE_CITIES[n % len(_STORE_CITIES)]
        ship_from = "Y" if n % 4 == 0 else "N"
        data.locations.append(
            (store, "S", f"{city} store {n + 1}", Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}"), ship_from)
        )
        data.stores.append((store, f"{city} store {n + 1}", timezone))

    kit_count = max(1, size.items // 40)
    variants = list(_variants(size.items - kit_count))
    stocked: list[str] = []
    lot_tracked: set[str] = set()
    preorder: list[str] = []
    upc_of: dict[str, str] = {}
    for n, (item_no, style_no, descr, colour, size_cd, lots) in enumerate(variants):
        item_type = "P" if n % 97 == 50 else "S"
        status = "D" if n % 53 == 20 else "A"
        upc_of[item_no] = upc(n)
        data.items.append((item_no, style_no, descr, colour, size_cd, upc_of[item_no], item_type, status, updated))
        if item_type == "P":
            preorder.append(item_no)
        else:
            stocked.append(item_no)
            if lots:
                lot_tracked.add(item_no)

    for k in range(kit_count):
        kit_no = f"KIT-{5001 + k}"
        upc_of[kit_no] = upc(len(variants) + k)
        data.items.append((kit_no, f"KIT-{5001 + k}", "Gift bundle", None, None, upc_of[kit_no], "K", "A", updated))
        for component in rng.sample(stocked, k=rng.choice((2, 3))):
            data.kit_components.append((kit_no, component, rng.choice((1, 1, 2))))

    for item_no in stocked:
        for dc in dcs:
            on_hand = rng.randint(0, 200)
            hold = rng.randint(1, 5) if rng.random() < 0.05 and on_hand > 5 else 0
            data.stock_bal.append((item_no, dc, Decimal(on_hand), Decimal(hold), updated))
            if item_no in lot_tracked and on_hand > 0:
                data.stock_lots.extend(_lots(rng, item_no, dc, on_hand, size.today))

    for store in stores:
        for item_no in stocked:
            if size.store_assortment >= 1.0 or rng.random() < size.store_assortment:
                data.store_stock.append((store, upc_of[item_no], rng.randint(0, 20), updated))

    supplied = preorder + [i for i in stocked if rng.random() < 0.1]
    for po, item_no in enumerate(supplied, start=1):
        status = "O" if item_no in preorder or po % 10 else rng.choice(("C", "X"))
        due = size.today + dt.timedelta(days=rng.randint(5, 60))
        data.po_lines.append(
            (f"PO{100000 + po}", 1, item_no, dcs[0], Decimal(rng.choice((24, 48, 96))), Decimal(0), due, status)
        )

    for n, item_no in enumerate(stocked):
        if n % 80 == 3:
            data.safety_stock.append((item_no, "*", rng.randint(1, 3)))
        elif n % 80 == 43:
            data.safety_stock.append((item_no, dcs[0], rng.randint(2, 10)))

    for n, item in enumerate(data.items):
        sku = str(item[0])
        data.listings.append(("SHOPIFY", sku.lower(), sku, "N" if n % 61 == 7 else "Y"))
        if n % 5:
            data.listings.append(("AMAZON", f"AMZ-{sku}", sku, "Y"))
        if n % 3 == 0:
            data.listings.append(("EBAY", f"eb-{n:06d}", sku, "Y"))
        if n % 10 == 1:
            data.listings.append(("TIKTOK", f"tt_{sku.replace('-', '_').lower()}", sku, "Y"))
        if n % 50 == 9:  # the same item under a second SKU on one channel (e.g. a multipack page)
            data.listings.append(("SHOPIFY", f"{sku.lower()}-alt", sku, "Y"))

    for ticket in range(1, min(50, len(stores) * 5) + 1):
        store = stores[ticket % len(stores)]
        opened = dt.datetime.combine(size.today, dt.time(9, 0), tzinfo=dt.UTC) - dt.timedelta(days=1, minutes=ticket)
        email = f"customer{ticket}@example.com" if ticket % 3 else None
        loyalty = f"LOY-{ticket:06d}" if ticket % 2 else None
        data.tickets.append((ticket, store, opened, "PAID", email, loyalty))
        data.sale_lines.append((ticket, 1, upc_of[stocked[ticket % len(stocked)]], 1, Decimal("19.90")))
    return data


def _lots(rng: random.Random, item_no: str, dc: str, on_hand: int, today: dt.date) -> list[tuple[object, ...]]:
    """Split ``on_hand`` into 1-3 lots whose quantities add up to it; some expired, some expiring soon."""
    count = min(on_hand, rng.randint(1, 3))
    cuts = sorted(rng.sample(range(1, on_hand), count - 1)) if count > 1 else []
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, on_hand], strict=True)]
    lots: list[tuple[object, ...]] = []
    for n, qty in enumerate(sizes):
        expiry = today + dt.timedelta(days=rng.choice((-3, 2, 30, 180, 365)))
        lots.append((item_no, dc, f"L{today:%y%m}-{n + 1:03d}", Decimal(qty), expiry))
    return lots

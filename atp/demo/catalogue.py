"""The demo retailer's locations and catalogue: DCs and stores, styles in colours and sizes, kits, UPC-A codes."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from atp.demo.legacy_rows import DemoData, ItemRow, KitComponentRow, LocationRow, StoreRow

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
_UPC_BASE = 10_000_000_000  # 11-digit UPC body (number system 1); the 12th digit is the check digit


@dataclass
class Catalogue:
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


# -- locations and items ------------------------------------------------------------------


def locations(rng: random.Random, dc_count: int, store_count: int, data: DemoData) -> tuple[list[str], list[str]]:
    """``dc_count`` DCs and ``store_count`` stores, each a few km around a real city; (DC codes, store codes)."""
    dcs = [f"DC{n:04d}" for n in range(1, dc_count + 1)]
    stores = [f"ST{n:04d}" for n in range(1, store_count + 1)]
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


def items(rng: random.Random, item_count: int, morning: dt.datetime, data: DemoData) -> Catalogue:
    """``item_count`` items: style variants (a few preorder-only or discontinued) and one kit per 40 items."""
    catalogue = Catalogue()
    kit_count = max(1, item_count // 40)
    variants = list(_variants(max(0, item_count - kit_count)))
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

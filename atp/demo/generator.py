"""A seeded, deterministic demo retailer: catalogue, locations, stock, supply, listings, store history.

Pure Python, no database: :mod:`atp.demo.seed` loads what this produces. The
same :class:`DemoSize` always gives the same rows (:mod:`atp.demo.legacy_rows`, in the
column order of the legacy tables). The locations and the catalogue come from
:mod:`atp.demo.catalogue`; the stock, supply, listings and store history on
them are made here.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from atp.demo.catalogue import Catalogue, items, locations
from atp.demo.legacy_rows import (
    ChannelListingRow,
    DemoData,
    PoLineRow,
    SafetyStockRow,
    SaleLineRow,
    SaleTicketRow,
    StockBalRow,
    StockLotRow,
    StoreStockRow,
)

# -- the shape of the retailer ------------------------------------------------------------

CHANNELS = ("SHOPIFY", "AMAZON", "EBAY", "TIKTOK")
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


# -- the generator -----------------------------------------------------------------------


def generate(size: DemoSize) -> DemoData:
    """The whole retailer for ``size``; the same size (seed included) always gives equal data."""
    rng = random.Random(size.seed)
    # ERP and POS rows were last touched early this morning (server / store local time).
    morning = dt.datetime.combine(size.today, dt.time(6, 0))
    data = DemoData()
    dcs, stores = locations(rng, size.dcs, size.stores, data)
    catalogue = items(rng, size.items, morning, data)
    _dc_stock(rng, size, morning, dcs, catalogue, data)
    _store_stock(rng, size, morning, stores, catalogue, data)
    _purchase_orders(rng, size, dcs, catalogue, data)
    _safety_stock(rng, dcs, stores, catalogue, data)
    _listings(data)
    _sales_history(rng, size, stores, catalogue, data)
    return data


def _dc_stock(
    rng: random.Random, size: DemoSize, morning: dt.datetime, dcs: list[str], catalogue: Catalogue, data: DemoData
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
    rng: random.Random, size: DemoSize, morning: dt.datetime, stores: list[str], catalogue: Catalogue, data: DemoData
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


def _purchase_orders(rng: random.Random, size: DemoSize, dcs: list[str], catalogue: Catalogue, data: DemoData) -> None:
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


def _safety_stock(rng: random.Random, dcs: list[str], stores: list[str], catalogue: Catalogue, data: DemoData) -> None:
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


def _sales_history(rng: random.Random, size: DemoSize, stores: list[str], catalogue: Catalogue, data: DemoData) -> None:
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

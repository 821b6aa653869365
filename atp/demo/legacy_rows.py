"""The demo retailer's rows: one NamedTuple per legacy table, its column order, and :class:`DemoData` holding them.

Each row's fields are in the column order of the ``*_COLUMNS`` constant beside it
(the legacy column names of ``schemas/sources``), so a row can go straight to
``executemany`` or ``COPY``.
"""

from __future__ import annotations

import datetime as dt
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


@dataclass
class DemoData:
    """Every row of the demo retailer, one list per legacy table."""

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

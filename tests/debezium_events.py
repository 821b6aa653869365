"""Builders of Debezium change events exactly as our connectors emit them (JSON, schemas disabled).

Shapes checked against the real connectors (see tests/integration); the
builders keep unit tests readable: ``stock_bal_update("TEE-1", "DC0001", qty_oh="12.000")``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
from bytewax.connectors.kafka import KafkaSourceMessage

ERP_STOCK = "erp.erp.STOCK_BAL"
ERP_ITEMS = "erp.erp.ITEM_MASTER"
POS_STOCK = "pos.public.store_stock"


def mariadb_source(
    table: str, pos: int, row: int = 0, ts_ms: int = 1_700_000_000_000, snapshot: str = "false"
) -> dict[str, Any]:
    return {
        "version": "3.5.0.Final",
        "connector": "mariadb",
        "name": "erp",
        "ts_ms": ts_ms,
        "snapshot": snapshot,
        "db": "erp",
        "table": table,
        "server_id": 1,
        "gtid": None,
        "file": "mysql-bin.000002",
        "pos": pos,
        "row": row,
        "thread": 7,
        "query": None,
    }


def postgres_source(table: str, lsn: int, ts_us: int = 1_700_000_000_000_123) -> dict[str, Any]:
    return {
        "version": "3.5.0.Final",
        "connector": "postgresql",
        "name": "pos",
        "ts_ms": ts_us // 1000,
        "ts_us": ts_us,
        "snapshot": "false",
        "db": "pos",
        "schema": "public",
        "table": table,
        "txId": 800,
        "lsn": lsn,
        "xmin": None,
    }


def envelope(op: str, before: dict[str, Any] | None, after: dict[str, Any] | None, source: dict[str, Any]) -> bytes:
    return orjson.dumps({"before": before, "after": after, "source": source, "op": op, "ts_ms": source["ts_ms"] + 5})


def message(
    topic: str, value: bytes | None, offset: int, partition: int = 0, key: bytes | None = None
) -> KafkaSourceMessage[bytes | None, bytes | None]:
    return KafkaSourceMessage(key=key, value=value, topic=topic, offset=offset, partition=partition)


def item_row(sku: str, upc: str | None = None, item_type: str = "S", status: str = "A") -> dict[str, Any]:
    return {
        "ITEM_NO": sku,
        "STYLE_NO": sku.split("-")[0],
        "DESCR": "Tee",
        "COLOR_CD": "BLK",
        "SIZE_CD": "M",
        "UPC": upc,
        "ITEM_TYPE": item_type,
        "STATUS_FLG": status,
        "UPD_TS": 1_700_000_000_000,
    }


def stock_bal_row(sku: str, loc: str, qty_oh: str, qty_hold: str = "0.000") -> dict[str, Any]:
    return {"ITEM_NO": sku, "LOC_CD": loc, "QTY_OH": qty_oh, "QTY_HOLD": qty_hold, "UPD_TS": 1_700_000_000_000}


def store_stock_row(store: str, upc: str, on_hand: int) -> dict[str, Any]:
    return {"store_id": store, "upc": upc, "on_hand": on_hand, "updated_at": 1_700_000_000_000_000}


ERP_LOCATIONS = "erp.erp.LOCATION"
ERP_LISTINGS = "erp.erp.CHANNEL_LISTING"
ERP_KITS = "erp.erp.KIT_COMPONENT"
ERP_LOTS = "erp.erp.STOCK_LOT"
ERP_POS = "erp.erp.PO_LINE"
ERP_SAFETY = "erp.erp.SAFETY_STK"
RESERVATIONS = "orders.reservations"
WISHLIST = "orders.wishlist"


def location_row(loc: str, loc_type: str = "D", ship_from: str = "Y") -> dict[str, Any]:
    return {
        "LOC_CD": loc.ljust(6),
        "LOC_TYPE": loc_type,
        "LOC_NAME": f"Location {loc}",
        "LATITUDE": "48.850000",
        "LONGITUDE": "2.350000",
        "SHIP_FROM_FLG": ship_from,
    }


def listing_row(channel: str, channel_sku: str, sku: str, active: str = "Y") -> dict[str, Any]:
    return {"CHANNEL_CD": channel, "CHANNEL_SKU": channel_sku, "ITEM_NO": sku, "ACTIVE_FLG": active}


def kit_row(kit: str, part: str, qty: int) -> dict[str, Any]:
    return {"KIT_ITEM_NO": kit, "COMP_ITEM_NO": part, "COMP_QTY": qty}


def lot_row(sku: str, loc: str, lot: str, qty: str, expiry_day: int | None) -> dict[str, Any]:
    return {"ITEM_NO": sku, "LOC_CD": loc, "LOT_NO": lot, "QTY": qty, "EXPIRY_DT": expiry_day}


def po_row(po: str, line: int, sku: str, loc: str, ordered: str, received: str, due_day: int, status: str = "O"):
    return {
        "PO_NO": po,
        "LINE_NO": line,
        "ITEM_NO": sku,
        "LOC_CD": loc,
        "QTY_ORD": ordered,
        "QTY_RCV": received,
        "DUE_DT": due_day,
        "STATUS": status,
    }


def safety_row(sku: str, loc: str, units: int) -> dict[str, Any]:
    return {"ITEM_NO": sku, "LOC_CD": loc, "SS_QTY": units}


A_DAY_FROM_NOW = "a day from now"


def reservation_value(
    op: str,
    reservation_id: str = "cart-1",
    qty: Any = 2,
    channel_sku: str = "SH-TEE-1",
    location: str = "DC0001",
    expires_at: str | None = A_DAY_FROM_NOW,
    occurred_at: str = "2026-11-22T10:00:00Z",
    event_id: str | None = None,
    customer_ref: str | None = "cust-4711",
) -> bytes:
    if expires_at == A_DAY_FROM_NOW:  # within the engine's longest hold (ATP_MAX_HOLD_S), and not lapsing in a test
        expires_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {
        "event_id": event_id or f"{reservation_id}-{op}",
        "reservation_id": reservation_id,
        "channel": "SHOPIFY",
        "channel_sku": channel_sku,
        "location": location,
        "qty": qty,
        "op": op,
        "expires_at": expires_at if op == "HOLD" else None,
        "occurred_at": occurred_at,
        "customer_ref": customer_ref,
    }
    return orjson.dumps(doc)


def wish_value(
    op: str,
    wish_id: str = "wish-1",
    consent: Any = True,
    channel_sku: str = "SH-TEE-1",
    customer_ref: str = "cust-4711",
    occurred_at: str = "2026-11-22T10:00:00Z",
    event_id: str | None = None,
    channel: str = "SHOPIFY",
) -> bytes:
    """An ``orders.wishlist`` event; a FORGET names only the customer, by the SHA-256 of their ref."""
    doc: dict[str, Any] = {"event_id": event_id or f"{wish_id}-{op}", "op": op, "occurred_at": occurred_at}
    if op == "FORGET":
        doc["customer_ref_sha256"] = hashlib.sha256(customer_ref.encode()).hexdigest()
    else:
        doc |= {"wish_id": wish_id, "channel": channel, "channel_sku": channel_sku, "customer_ref": customer_ref}
    if op == "WISH":
        doc["consent"] = consent
    return orjson.dumps(doc)

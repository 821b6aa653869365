"""Builders of Debezium change events exactly as our connectors emit them (JSON, schemas disabled).

Shapes checked against the real connectors (see tests/integration); the
builders keep unit tests readable: ``stock_bal_update("TEE-1", "DC0001", qty_oh="12.000")``.
"""

from __future__ import annotations

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

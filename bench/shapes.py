"""Debezium change events (JSON, schemas disabled) and reservation events, shaped as our connectors emit them.

The column encodings follow ``connectors/cdc/values.py``: MariaDB DECIMAL as a string, DATETIME(3) as
epoch ms, DATE as epoch days; PostgreSQL ``timestamp`` as epoch us, ``timestamptz`` as ISO-8601.
Positions start low (binlog file 0, LSN from 1) so that any real change captured later is newer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from atp.demo import legacy_rows
from atp.demo.legacy_rows import DemoData
from connectors.cdc.decode import ERP_TOPIC_PREFIX, POS_TOPIC_PREFIX
from connectors.topics import RESERVATIONS

_EPOCH = dt.date(1970, 1, 1)


class Message(NamedTuple):
    topic: str
    key: bytes
    value: bytes


def _plain(value: object) -> object:
    """One column value as Debezium's JSON converter writes it."""
    if isinstance(value, Decimal):
        return f"{value:.3f}" if value == value.to_integral_value() else str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.isoformat()
        return int(value.replace(tzinfo=dt.UTC).timestamp() * 1000)
    if isinstance(value, dt.date):
        return (value - _EPOCH).days
    return value


@dataclass
class ChangeLog:
    """Hands out increasing source positions, as a binlog and a WAL do."""

    binlog_pos: int = 4
    lsn: int = 1
    transactions: int = 0
    ts_ms: int = field(default_factory=lambda: int(dt.datetime.now(dt.UTC).timestamp() * 1000))

    def begin(self, source: str) -> Transaction:
        """A new transaction: a GTID on the ERP, a txId on the POS."""
        self.transactions += 1
        return Transaction(source, f"0-1-{self.transactions}" if source == "erp" else str(self.transactions))

    def erp_source(self, table: str, snapshot: bool) -> dict[str, Any]:
        self.binlog_pos += 1
        return {
            "version": "3.5.0.Final", "connector": "mariadb", "name": "erp", "ts_ms": self.ts_ms,
            "snapshot": "true" if snapshot else "false", "db": "erp", "table": table, "server_id": 1,
            "gtid": None, "file": "mysql-bin.000000", "pos": self.binlog_pos, "row": 0, "thread": 7, "query": None,
        }  # fmt: skip

    def pos_source(self, table: str, snapshot: bool) -> dict[str, Any]:
        self.lsn += 1
        return {
            "version": "3.5.0.Final", "connector": "postgresql", "name": "pos", "ts_ms": self.ts_ms,
            "ts_us": self.ts_ms * 1000, "snapshot": "true" if snapshot else "false", "db": "pos",
            "schema": "public", "table": table, "txId": self.lsn, "lsn": self.lsn, "xmin": None,
        }  # fmt: skip


@dataclass
class Transaction:
    """One source transaction being written: its changes carry its id and place, and its END counts them."""

    source: str  # erp or pos
    tx_id: str
    tables: dict[str, int] = field(default_factory=dict)  # data collection -> changes

    def mark(self, collection: str) -> dict[str, Any]:
        self.tables[collection] = self.tables.get(collection, 0) + 1
        order = sum(self.tables.values())
        return {"id": self.tx_id, "total_order": order, "data_collection_order": self.tables[collection]}

    def end(self) -> Message:
        """The END record on ``<source>.transaction``, as Debezium writes it."""
        collections = [{"data_collection": name, "event_count": count} for name, count in self.tables.items()]
        value = {
            "status": "END", "id": self.tx_id, "event_count": sum(self.tables.values()),
            "data_collections": collections, "ts_ms": 0,
        }  # fmt: skip
        return Message(f"{self.source}.transaction", orjson.dumps({"id": self.tx_id}), orjson.dumps(value))


def _envelope(
    op: str, before: dict[str, Any] | None, after: dict[str, Any], source: dict[str, Any], tx: dict[str, Any] | None
) -> bytes:
    doc = {"before": before, "after": after, "source": source, "op": op, "ts_ms": source["ts_ms"]}
    if tx is not None:
        doc["transaction"] = tx
    return orjson.dumps(doc)


def row_dict(columns: tuple[str, ...], row: tuple[object, ...]) -> dict[str, Any]:
    return {column: _plain(value) for column, value in zip(columns, row, strict=True)}


def erp_change(
    log: ChangeLog,
    table: str,
    keys: tuple[str, ...],
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
    tx: Transaction | None = None,
) -> Message:
    """A snapshot read (no transaction), or an insert (no ``before``) or update of transaction ``tx``."""
    mark = tx.mark(f"erp.{table}") if tx is not None else None
    return _change(ERP_TOPIC_PREFIX + table, keys, after, before, log.erp_source(table, tx is None), mark)


def pos_change(
    log: ChangeLog,
    table: str,
    keys: tuple[str, ...],
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
    tx: Transaction | None = None,
) -> Message:
    """A snapshot read (no transaction), or an insert (no ``before``) or update of transaction ``tx``."""
    mark = tx.mark(f"public.{table}") if tx is not None else None
    return _change(POS_TOPIC_PREFIX + table, keys, after, before, log.pos_source(table, tx is None), mark)


def _change(
    topic: str,
    keys: tuple[str, ...],
    after: dict[str, Any],
    before: dict[str, Any] | None,
    source: dict[str, Any],
    mark: dict[str, Any] | None,
) -> Message:
    op = "r" if mark is None else ("c" if before is None else "u")
    key = orjson.dumps({k: after[k] for k in keys})
    return Message(topic, key, _envelope(op, before, after, source, mark))


# (table, key columns, columns, rows) of the ERP reference data: what must be known before stock is.
def reference_messages(log: ChangeLog, data: DemoData) -> Iterator[Message]:
    """Locations, items, kits, listings, safety stock, lots and POs: the ERP's snapshot without STOCK_BAL."""
    tables: tuple[tuple[str, tuple[str, ...], tuple[str, ...], list[Any]], ...] = (
        ("LOCATION", ("LOC_CD",), legacy_rows.LOCATION_COLUMNS, data.locations),
        ("ITEM_MASTER", ("ITEM_NO",), legacy_rows.ITEM_COLUMNS, data.items),
        ("KIT_COMPONENT", ("KIT_ITEM_NO", "COMP_ITEM_NO"), legacy_rows.KIT_COLUMNS, data.kit_components),
        ("CHANNEL_LISTING", ("CHANNEL_CD", "CHANNEL_SKU"), legacy_rows.LISTING_COLUMNS, data.listings),
        ("SAFETY_STK", ("ITEM_NO", "LOC_CD"), legacy_rows.SAFETY_STK_COLUMNS, data.safety_stock),
        ("STOCK_LOT", ("ITEM_NO", "LOC_CD", "LOT_NO"), legacy_rows.STOCK_LOT_COLUMNS, data.stock_lots),
        ("PO_LINE", ("PO_NO", "LINE_NO"), legacy_rows.PO_LINE_COLUMNS, data.po_lines),
    )
    for table, keys, columns, rows in tables:
        for row in rows:
            yield erp_change(log, table, keys, row_dict(columns, row))


def stock_messages(log: ChangeLog, data: DemoData) -> Iterator[Message]:
    """Every stock balance: ERP STOCK_BAL at the DCs and POS store_stock at the stores (one state key each)."""
    for row in data.stock_bal:
        yield erp_change(log, "STOCK_BAL", ("ITEM_NO", "LOC_CD"), row_dict(legacy_rows.STOCK_BAL_COLUMNS, row))
    for shelf in data.store_stock:
        yield pos_change(log, "store_stock", ("store_id", "upc"), row_dict(legacy_rows.STORE_STOCK_COLUMNS, shelf))


def snapshot_messages(log: ChangeLog, data: DemoData) -> Iterator[Message]:
    """The whole seeded retailer as Debezium's initial snapshot would read it (sales history aside)."""
    yield from reference_messages(log, data)
    yield from stock_messages(log, data)


def reservation_message(
    reservation_id: str, channel: str, channel_sku: str, location: str, qty: int, op: str, now: dt.datetime
) -> Message:
    """One ``orders.reservations`` event (contracts.md), key = reservation_id."""
    event = {
        "event_id": f"{reservation_id}-{op.lower()}",
        "reservation_id": reservation_id,
        "channel": channel,
        "channel_sku": channel_sku,
        "location": location,
        "qty": qty,
        "op": op,
        "expires_at": (now + dt.timedelta(hours=2)).isoformat(timespec="milliseconds") if op == "HOLD" else None,
        "occurred_at": now.isoformat(timespec="milliseconds"),
        "customer_ref": None,
    }
    return Message(RESERVATIONS, reservation_id.encode(), orjson.dumps(event))

"""Live changes, made the way the retailer's own systems make them, one transaction each.

Each function commits its own transaction and returns the wall-clock time (epoch ms)
right after COMMIT returned: the start of the commit-to-output latency that the demo
and the benchmarks measure. The connection must not be in autocommit mode.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import psycopg

from atp.errors import AtpError
from atp.settings import KafkaSettings

# pymysql ships no type information: its connection is Any to mypy.
ErpConnection = Any
DEFAULT_UNIT_PRICE = Decimal("19.90")


class LiveChangeError(AtpError):
    """A live change named a row that the legacy database does not have."""


def _committed(connection: ErpConnection | psycopg.Connection[Any]) -> int:
    connection.commit()
    return time.time_ns() // 1_000_000


# -- ERP (MariaDB) ------------------------------------------------------------------------


def receive_stock(
    erp: ErpConnection,
    item_no: str,
    loc_cd: str,
    qty: int,
    lot_no: str | None = None,
    expiry: dt.date | None = None,
) -> int:
    """A goods receipt at a DC: QTY_OH goes up by ``qty`` (a first receipt creates the balance row).

    For a lot-tracked item pass ``lot_no`` (and ``expiry``): the lot is booked in the same
    transaction, so the lots keep adding up to the on-hand, as the ERP's receiving screen does.
    """
    with erp.cursor() as cur:
        # NOW(3) is the ERP's own clock: UPD_TS is server local time without a zone.
        cur.execute(
            "INSERT INTO STOCK_BAL (ITEM_NO, LOC_CD, QTY_OH, QTY_HOLD, UPD_TS) VALUES (%s, %s, %s, 0, NOW(3)) "
            "ON DUPLICATE KEY UPDATE QTY_OH = QTY_OH + VALUES(QTY_OH), UPD_TS = VALUES(UPD_TS)",
            (item_no, loc_cd, qty),
        )
        if lot_no is not None:
            cur.execute(
                "INSERT INTO STOCK_LOT (ITEM_NO, LOC_CD, LOT_NO, QTY, EXPIRY_DT) VALUES (%s, %s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE QTY = QTY + VALUES(QTY)",
                (item_no, loc_cd, lot_no, qty, expiry),
            )
    return _committed(erp)


def set_quality_hold(erp: ErpConnection, item_no: str, loc_cd: str, qty_hold: int) -> int:
    """Quality puts ``qty_hold`` units of an existing DC balance on hold (0 lifts the hold)."""
    with erp.cursor() as cur:
        # A changed row or not, MariaDB reports matched rows only with CLIENT.FOUND_ROWS; check existence instead.
        cur.execute("SELECT 1 FROM STOCK_BAL WHERE ITEM_NO = %s AND LOC_CD = %s FOR UPDATE", (item_no, loc_cd))
        if cur.fetchone() is None:
            erp.rollback()
            raise LiveChangeError(f"no STOCK_BAL row for {item_no} at {loc_cd}")
        cur.execute(
            "UPDATE STOCK_BAL SET QTY_HOLD = %s, UPD_TS = NOW(3) WHERE ITEM_NO = %s AND LOC_CD = %s",
            (qty_hold, item_no, loc_cd),
        )
    return _committed(erp)


# -- POS (PostgreSQL) ---------------------------------------------------------------------

# Key of the transaction-scoped advisory lock that serialises our ticket numbering
# (max + 1 is only safe while no other writer of ours picks a number at the same time).
_TICKET_LOCK = 0x41_54_50_54  # "ATPT"


def _next_ticket_id(cur: psycopg.Cursor[Any]) -> int:
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_TICKET_LOCK,))
    cur.execute("SELECT COALESCE(MAX(ticket_id), 0) + 1 FROM sale_ticket")
    row = cur.fetchone()
    assert row is not None  # an aggregate always returns one row
    return int(row[0])


def _ring_up(
    pos: psycopg.Connection[Any], store_id: str, upc: str, qty: int, ticket_id: int | None, unit_price: Decimal
) -> int:
    """One paid ticket with one line; the shelf moves by ``-qty`` in the same transaction, as the POS does."""
    with pos.cursor() as cur:
        ticket = ticket_id if ticket_id is not None else _next_ticket_id(cur)
        cur.execute(
            "INSERT INTO sale_ticket (ticket_id, store_id, opened_at, status) VALUES (%s, %s, now(), 'PAID')",
            (ticket, store_id),
        )
        cur.execute(
            "INSERT INTO sale_line (ticket_id, line_no, upc, qty, unit_price) VALUES (%s, 1, %s, %s, %s)",
            (ticket, upc, qty, unit_price),
        )
        # updated_at is the store's wall clock (its IANA zone), not the database server's.
        # A UPC the store has no row for gets one: the legacy POS lets the shelf count go negative.
        cur.execute(
            "INSERT INTO store_stock AS s (store_id, upc, on_hand, updated_at) "
            "VALUES (%(store)s, %(upc)s, %(shelf_change)s, "
            "  COALESCE(now() AT TIME ZONE (SELECT timezone FROM store WHERE store_id = %(store)s), localtimestamp)) "
            "ON CONFLICT (store_id, upc) DO UPDATE "
            "SET on_hand = s.on_hand + EXCLUDED.on_hand, updated_at = EXCLUDED.updated_at",
            {"store": store_id, "upc": upc, "shelf_change": -qty},
        )
    return _committed(pos)


def pos_sale(
    pos: psycopg.Connection[Any],
    store_id: str,
    upc: str,
    qty: int,
    ticket_id: int | None = None,
    unit_price: Decimal = DEFAULT_UNIT_PRICE,
) -> int:
    """A customer buys ``qty`` units at a store. Without ``ticket_id`` the next free ticket number is used."""
    if qty <= 0:
        raise ValueError(f"a sale sells at least one unit, not {qty}")
    return _ring_up(pos, store_id, upc, qty, ticket_id, unit_price)


def pos_return(
    pos: psycopg.Connection[Any],
    store_id: str,
    upc: str,
    qty: int,
    ticket_id: int | None = None,
    unit_price: Decimal = DEFAULT_UNIT_PRICE,
) -> int:
    """A customer brings ``qty`` units back: a negative sale line, and the shelf goes up by ``qty``."""
    if qty <= 0:
        raise ValueError(f"a return takes back at least one unit, not {qty}")
    return _ring_up(pos, store_id, upc, -qty, ticket_id, unit_price)


def ship_from_dc(erp: ErpConnection, item_no: str, loc_cd: str, qty: int) -> int:
    """A DC picks and ships ``qty`` units: QTY_OH goes down (never below zero)."""
    with erp.cursor() as cur:
        cur.execute(
            "UPDATE STOCK_BAL SET QTY_OH = GREATEST(QTY_OH - %s, 0), UPD_TS = NOW(3) "
            "WHERE ITEM_NO = %s AND LOC_CD = %s",
            (qty, item_no, loc_cd),
        )
        if cur.rowcount != 1:
            raise LiveChangeError(f"no STOCK_BAL row for {item_no} at {loc_cd}")
    return _committed(erp)


# -- channels (Kafka topic orders.reservations) --------------------------------------------


def hold_in_cart(
    kafka: KafkaSettings, channel: str, channel_sku: str, location: str, qty: int, expires_in_s: float
) -> tuple[int, int]:
    """A shopper puts ``qty`` units in a cart: a HOLD that lapses after ``expires_in_s`` unless confirmed.

    Returns (epoch ms when Kafka acknowledged the event, epoch ms of the hold's deadline).
    """
    import uuid

    import orjson
    from confluent_kafka import Producer

    from connectors.kafka_config import client_config
    from connectors.topics import RESERVATIONS

    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(seconds=expires_in_s)
    cart = f"cart-{uuid.uuid4().hex[:10]}"
    event = {
        "event_id": f"{cart}-hold",
        "reservation_id": cart,
        "channel": channel,
        "channel_sku": channel_sku,
        "location": location,
        "qty": qty,
        "op": "HOLD",
        "expires_at": expires.isoformat(timespec="milliseconds"),
        "occurred_at": now.isoformat(timespec="milliseconds"),
        "customer_ref": None,
    }
    producer = Producer(client_config(kafka) | {"enable.idempotence": True})
    producer.produce(RESERVATIONS, key=cart.encode(), value=orjson.dumps(event))
    if producer.flush(30) != 0:
        raise LiveChangeError("Kafka did not acknowledge the cart hold")
    return time.time_ns() // 1_000_000, int(expires.timestamp() * 1000)

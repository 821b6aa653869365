"""Live changes, made the way the retailer's own systems make them, one transaction each.

Each returns the wall-clock time (epoch ms) right after COMMIT returned: the
start of the commit-to-output latency the demo and the benchmarks measure.
"""

from __future__ import annotations

import time
from typing import Any


def _committed(connection: Any) -> int:
    connection.commit()
    return time.time_ns() // 1_000_000


def receive_stock(erp: Any, item_no: str, loc_cd: str, qty: int) -> int:
    """An ERP goods receipt at a DC: on-hand goes up by ``qty``."""
    with erp.cursor() as cur:
        cur.execute(
            "INSERT INTO STOCK_BAL (ITEM_NO, LOC_CD, QTY_OH, QTY_HOLD, UPD_TS) VALUES (%s, %s, %s, 0, NOW(3)) "
            "ON DUPLICATE KEY UPDATE QTY_OH = QTY_OH + VALUES(QTY_OH), UPD_TS = NOW(3)",
            (item_no, loc_cd, qty),
        )
    return _committed(erp)


def set_quality_hold(erp: Any, item_no: str, loc_cd: str, qty_hold: int) -> int:
    with erp.cursor() as cur:
        cur.execute(
            "UPDATE STOCK_BAL SET QTY_HOLD = %s, UPD_TS = NOW(3) WHERE ITEM_NO = %s AND LOC_CD = %s",
            (qty_hold, item_no, loc_cd),
        )
    return _committed(erp)


def _next_ticket(cur: Any) -> int:
    # The legacy POS numbers tickets itself; we serialise ticket creation the simple way.
    cur.execute("LOCK TABLE sale_ticket IN SHARE ROW EXCLUSIVE MODE")
    cur.execute("SELECT COALESCE(MAX(ticket_id), 0) + 1 FROM sale_ticket")
    return int(cur.fetchone()[0])


def _ring_up(pos: Any, store_id: str, upc: str, qty: int) -> int:
    """One ticket with one line; the shelf moves by -qty in the same transaction, as the POS does."""
    with pos.cursor() as cur:
        ticket = _next_ticket(cur)
        cur.execute(
            "INSERT INTO sale_ticket (ticket_id, store_id, opened_at, status) VALUES (%s, %s, now(), 'PAID')",
            (ticket, store_id),
        )
        cur.execute(
            "INSERT INTO sale_line (ticket_id, line_no, upc, qty, unit_price) VALUES (%s, 1, %s, %s, 19.90)",
            (ticket, upc, qty),
        )
        cur.execute(
            "UPDATE store_stock SET on_hand = on_hand - %s, updated_at = localtimestamp "
            "WHERE store_id = %s AND upc = %s",
            (qty, store_id, upc),
        )
    return _committed(pos)


def pos_sale(pos: Any, store_id: str, upc: str, qty: int) -> int:
    """A customer buys ``qty`` units at a store."""
    return _ring_up(pos, store_id, upc, qty)


def pos_return(pos: Any, store_id: str, upc: str, qty: int) -> int:
    """A customer brings ``qty`` units back: a negative sale line, the shelf goes up."""
    return _ring_up(pos, store_id, upc, -qty)

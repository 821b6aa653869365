"""POS (PostgreSQL) tables as domain events."""

from __future__ import annotations

from atp.domain.events import Event, Provenance, SaleLineChanged, SaleTicketChanged, SourcePosition, StoreStockByUpc
from connectors.cdc.envelope import ChangeEvent
from connectors.cdc.values import code, flag, units_or_zero_the_row, whole_number

TICKET_STATUSES = frozenset({"OPEN", "PAID", "VOID"})


def store_stock(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``store_stock``: a store's on-hand by UPC, updated in the same transaction as the sale."""
    row = change.row
    store, upc = code(row, "store_id"), code(row, "upc")
    zero = StoreStockByUpc(upc, store, 0, position, provenance)
    on_hand = 0 if change.is_delete else units_or_zero_the_row(row, "on_hand", zero)
    return [StoreStockByUpc(upc, store, on_hand, position, provenance)]


def sale_ticket(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``sale_ticket``: which store a ticket was rung up at. Its personal columns are never read."""
    row = change.row
    ticket = whole_number(row, "ticket_id")
    status = flag(row, "status", TICKET_STATUSES)
    return [SaleTicketChanged(ticket, code(row, "store_id"), status, change.is_delete, position, provenance)]


def sale_line(change: ChangeEvent, position: SourcePosition, provenance: Provenance) -> list[Event]:
    """``sale_line``: units of a UPC sold on a ticket (negative for a return)."""
    row = change.row
    return [
        SaleLineChanged(
            whole_number(row, "ticket_id"),
            whole_number(row, "line_no"),
            code(row, "upc"),
            whole_number(row, "qty"),
            change.is_delete,
            position,
            provenance,
        )
    ]

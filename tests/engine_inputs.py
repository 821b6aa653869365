"""Builders of decoded engine inputs, so rule tests read like the retail situation they pin."""

from __future__ import annotations

from atp.domain.engine_rules import EngineRules
from atp.domain.events import (
    DC,
    InboundChanged,
    ItemChanged,
    KitComponentChanged,
    LotChanged,
    Provenance,
    ReservationReceived,
    SafetyStockChanged,
    SaleRecorded,
    StockLevel,
)

NOW = 1_800_000_000_000
MINUTE = 60_000
RULES = EngineRules(low_stock_threshold=5, fulfil_grace_ms=10 * MINUTE, dc_safety_stock=0, store_safety_stock=0)


def stock(
    on_hand: int,
    position: int,
    location: str = "DC0001",
    hold: int = 0,
    sku: str = "TEE-1",
    location_type: str = DC,
    at: int | None = None,
) -> StockLevel:
    committed_at = 1000 + position if at is None else at
    provenance = Provenance(committed_at, f"stock@{position}", "erp.erp.STOCK_BAL", 0, position)
    return StockLevel(sku, location, on_hand, hold, (2, position, 0), provenance, location_type)


def item(
    position: int = 1, sku: str = "TEE-1", item_type: str = "S", discontinued: bool = False, deleted: bool = False
) -> ItemChanged:
    return ItemChanged(
        sku, "000000000017", None, item_type, discontinued, deleted, (2, position, 0), Provenance(1, f"item@{position}")
    )


def reservation(
    op: str,
    rid: str = "r1",
    qty: int = 2,
    at: int = NOW,
    expires: int | None = None,
    location: str = "DC0001",
    sku: str = "TEE-1",
    event_id: str | None = None,
) -> ReservationReceived:
    event_id = event_id or f"{rid}-{op}"
    return ReservationReceived(
        channel="SHOPIFY",
        channel_sku=f"SH-{sku}",
        location=location,
        event_id=event_id,
        reservation_id=rid,
        op=op,
        qty=qty,
        expires_at_ms=expires,
        occurred_at_ms=at,
        provenance=Provenance(at, event_id, "orders.reservations", 0, 0),
        sku=sku,
    )


def lot(
    lot_no: str, qty: int, expiry_day: int | None, position: int, location: str = "DC0001", sku: str = "TEE-1"
) -> LotChanged:
    return LotChanged(sku, location, lot_no, qty, expiry_day, (2, position, 0), Provenance(position, f"lot@{position}"))


def inbound(
    line: str, open_qty: int, due_day: int, position: int, location: str = "DC0001", sku: str = "TEE-1"
) -> InboundChanged:
    return InboundChanged(
        sku, location, line, open_qty, due_day, (2, position, 0), Provenance(position, f"po@{position}")
    )


def safety(location: str, units: int | None, position: int, sku: str = "TEE-1") -> SafetyStockChanged:
    return SafetyStockChanged(sku, location, units, (2, position, 0), Provenance(position, f"ss@{position}"))


def component(kit: str, part: str, per_kit: int, position: int) -> KitComponentChanged:
    return KitComponentChanged(kit, part, per_kit, (2, position, 0), Provenance(position, f"bom@{position}"))


def sale(qty: int, day: int, store: str = "ST0001", sku: str = "TEE-1") -> SaleRecorded:
    at = day * 86_400_000 + 12 * 3_600_000
    return SaleRecorded("000000000017", store, qty, at, Provenance(at, f"sale@{day}"), sku)

"""Inputs of the availability engine, already decoded from their sources.

Plain frozen dataclasses: they are built once per input in the hot loop, so no
validation happens here (the decoders in ``connectors.cdc`` validate).

``position`` orders the changes of one source row: the engine ignores a change
whose position is older than the one it already applied for that row, so a
re-delivered or reordered CDC record can never roll a row back.
"""

from __future__ import annotations

from dataclasses import dataclass

# A comparable position in a source's change log: (binlog file, offset, row) for
# MariaDB, (lsn,) for PostgreSQL. Only positions of the same source row are compared.
SourcePosition = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an input came from, carried into the output's source_ts_ms and cause_ref."""

    source_ts_ms: int
    cause_ref: str


@dataclass(frozen=True, slots=True)
class StockLevel:
    """The physical stock of one SKU at one location, as its system of record now states it.

    ERP ``STOCK_BAL`` for DCs (with ``QTY_HOLD`` as quality hold), POS ``store_stock``
    for stores (no holds there). A deleted row is a level of zero.
    """

    sku: str
    location: str
    on_hand: int
    quality_hold: int
    position: SourcePosition
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class StoreStockByUpc:
    """A POS ``store_stock`` row: the POS knows UPCs, so the SKU is resolved later."""

    upc: str
    store: str
    on_hand: int
    position: SourcePosition
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class ItemChanged:
    """An ``ITEM_MASTER`` row: what kind of item a SKU is and whether it may still be promised."""

    sku: str
    upc: str | None
    previous_upc: str | None
    item_type: str  # 'S' stocked, 'K' kit, 'P' preorder-only
    discontinued: bool
    deleted: bool
    position: SourcePosition
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class UpcReleased:
    """A UPC no longer points at ``sku`` (the item was deleted or got another UPC)."""

    upc: str
    sku: str
    position: SourcePosition


Event = StockLevel | StoreStockByUpc | ItemChanged | UpcReleased

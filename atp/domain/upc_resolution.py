"""Resolving the POS's UPCs to ERP item numbers.

The POS reports store stock by UPC; ``ITEM_MASTER`` says which item a UPC is.
Both arrive as change streams in no particular order, so a store stock row may
arrive before its item: it waits here until the UPC's item is known, rather
than being published under a guessed SKU. Every waiting row is released, in
source order, so that the SKU publishes the same sequence of records as it
would have had the item come first (replays must give the same versions).

A UPC the ERP never describes does not keep its rows forever: like any input naming an
unknown reference, they wait ``unresolved_wait_ms`` and are then dead-lettered (``unknown_upc``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from atp.domain.compact import pickled_by_position
from atp.domain.events import STORE, ItemChanged, SaleRecorded, SourcePosition, StockLevel, StoreStockByUpc, UpcReleased
from atp.domain.records import DeadLetter

UNKNOWN_UPC = "unknown_upc"

# What reaches the UPC-keyed step: store stock and sales by UPC, and item changes that (re)assign a UPC.
UpcInput = StoreStockByUpc | SaleRecorded | ItemChanged | UpcReleased


@pickled_by_position
@dataclass(slots=True)
class UpcState:
    upc: str
    sku: str | None = None
    mapping_position: SourcePosition = ()
    waiting: dict[str, list[StoreStockByUpc]] = field(default_factory=dict)
    waiting_sales: list[SaleRecorded] = field(default_factory=list)
    waiting_since_ms: int | None = None  # when the oldest of the waiting rows and sales began to wait

    def apply(self, value: UpcInput, now_ms: int) -> list[StockLevel | SaleRecorded]:
        """One input of the UPC-keyed step: store stock, a sale, or an item (re)assigning or releasing the UPC."""
        out: list[StockLevel | SaleRecorded]
        if isinstance(value, StoreStockByUpc):
            out = list(self.apply_store_stock(value))
        elif isinstance(value, SaleRecorded):
            out = list(self.apply_sale(value))
        elif isinstance(value, ItemChanged):
            out = list(self.apply_item(value))
        else:
            out = list(self.apply_release(value))
        if not (self.waiting or self.waiting_sales):
            self.waiting_since_ms = None
        elif self.waiting_since_ms is None:
            self.waiting_since_ms = now_ms
        return out

    def give_up(self, now_ms: int, wait_ms: int) -> list[DeadLetter]:
        """Dead-letter the store rows and sales that waited ``wait_ms`` in vain for the ERP to name their UPC."""
        if self.waiting_since_ms is None or now_ms < self.waiting_since_ms + wait_ms:
            return []
        error = f"UPC {self.upc} is not known to the ERP after {wait_ms // 1000}s"
        letters = [
            DeadLetter.of_decoded(
                row.provenance,
                UNKNOWN_UPC,
                error,
                {"upc": row.upc, "store": row.store, "on_hand": row.on_hand, "cause_ref": row.provenance.cause_ref},
                now_ms,
            )
            for _, queue in sorted(self.waiting.items())
            for row in queue
        ]
        letters += [
            DeadLetter.of_decoded(
                sale.provenance,
                UNKNOWN_UPC,
                error,
                {"upc": sale.upc, "store": sale.store, "qty": sale.qty, "cause_ref": sale.provenance.cause_ref},
                now_ms,
            )
            for sale in self.waiting_sales
        ]
        self.waiting, self.waiting_sales, self.waiting_since_ms = {}, [], None
        return letters

    def deadline_ms(self, wait_ms: int) -> int | None:
        return None if self.waiting_since_ms is None else self.waiting_since_ms + wait_ms

    def passes_through(self, value: UpcInput) -> bool:
        """Whether ``value`` only passes through under the UPC's SKU, leaving this state as it is."""
        return (
            isinstance(value, StoreStockByUpc | SaleRecorded)
            and self.sku is not None
            and not self.waiting
            and not self.waiting_sales
            and self.waiting_since_ms is None
        )

    def apply_store_stock(self, row: StoreStockByUpc) -> list[StockLevel]:
        if self.sku is None:
            queue = self.waiting.setdefault(row.store, [])
            if all(held.position != row.position for held in queue):
                queue.append(row)
                queue.sort(key=lambda held: held.position)
            return []
        return [_as_stock_level(self.sku, row)]

    def apply_sale(self, sale: SaleRecorded) -> list[SaleRecorded]:
        """A store sale of this UPC, passed on under its SKU (or kept until the UPC is known)."""
        if self.sku is None:
            self.waiting_sales.append(sale)
            return []
        return [replace(sale, sku=self.sku)]

    def apply_item(self, item: ItemChanged) -> list[StockLevel | SaleRecorded]:
        """This UPC now names ``item.sku``: release every store row that was waiting for it."""
        if item.position < self.mapping_position:
            return []
        self.mapping_position = item.position
        if item.deleted:
            self.sku = None
            return []
        self.sku = item.sku
        released: list[StockLevel | SaleRecorded] = [
            _as_stock_level(item.sku, row) for _, queue in sorted(self.waiting.items()) for row in queue
        ]
        released += [replace(sale, sku=item.sku) for sale in self.waiting_sales]
        self.waiting.clear()
        self.waiting_sales.clear()
        return released

    def apply_release(self, release: UpcReleased) -> list[StockLevel]:
        if self.sku == release.sku and release.position >= self.mapping_position:
            self.sku = None
            self.mapping_position = release.position
        return []

    @property
    def is_empty(self) -> bool:
        return self.sku is None and not self.waiting and not self.waiting_sales


def _as_stock_level(sku: str, row: StoreStockByUpc) -> StockLevel:
    # Stores keep no quality holds in the POS: all their on-hand is sellable.
    return StockLevel(
        sku=sku,
        location=row.store,
        on_hand=row.on_hand,
        quality_hold=0,
        position=row.position,
        provenance=row.provenance,
        location_type=STORE,
    )

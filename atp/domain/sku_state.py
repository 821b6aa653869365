"""Everything the engine knows about one SKU, and how each input changes it.

One :class:`SkuState` per SKU holds the item's attributes and one
:class:`LocationState` per location it is stocked at. Keeping all locations of
a SKU together is what lets an item change (discontinued, preorder) re-evaluate
every location at once, and later lets channel sums and kits read them.

Rules that keep us from over-promising when inputs race:
- a stock change older (by source position) than the one applied is ignored;
- nothing is published for a SKU until its ``ITEM_MASTER`` row has been seen:
  until then we cannot tell whether it is discontinued or a kit.

Versions must come out the same when a restart replays inputs in another
interleaving of topics (a re-sent record carries the same version). So stock
changes that arrive before their item are kept *in order*, and once the item is
known each is published in turn, exactly as if the item had come first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from atp.domain.events import ItemChanged, Provenance, SourcePosition, StockLevel
from atp.domain.records import CAUSE_ITEM, CAUSE_STOCK, AvailabilityRecord
from atp.domain.rules import STOCKED, promisable_units, stock_status

# What a location last published, to emit only when something changed:
# (on_hand, unsellable, reserved, committed, safety_stock, available, incoming, next_inbound_date, status)
Published = tuple[int, int, int, int, int, int, int, int | None, str]


@dataclass(slots=True)
class LocationState:
    on_hand: int = 0
    quality_hold: int = 0
    reserved: int = 0
    committed: int = 0
    safety_stock: int = 0
    incoming: int = 0
    next_inbound_day: int | None = None  # days since 1970-01-01
    stock_position: SourcePosition = ()
    version: int = 0
    published: Published | None = None

    @property
    def unsellable(self) -> int:
        return self.quality_hold


@dataclass(slots=True)
class SkuState:
    sku: str
    item_known: bool = False
    item_type: str = STOCKED
    discontinued: bool = False
    item_position: SourcePosition = ()
    locations: dict[str, LocationState] = field(default_factory=dict)
    # Stock changes seen before the item, per location, in source order (empty once the item is known).
    waiting: dict[str, list[StockLevel]] = field(default_factory=dict)

    def apply_stock(self, level: StockLevel, now_ms: int, low_stock_threshold: int) -> list[AvailabilityRecord]:
        """A stock level from the ERP or POS; older positions than the applied one are ignored."""
        if not self.item_known:
            self._wait(level)
            return []
        location = self.locations.get(level.location)
        if location is None:
            location = self.locations[level.location] = LocationState()
        if level.position < location.stock_position:
            return []
        location.stock_position = level.position
        location.on_hand = level.on_hand
        location.quality_hold = level.quality_hold
        record = self._publish(level.location, location, level.provenance, CAUSE_STOCK, now_ms, low_stock_threshold)
        return [record] if record is not None else []

    def apply_item(self, item: ItemChanged, now_ms: int, low_stock_threshold: int) -> list[AvailabilityRecord]:
        """The item master row changed: every location of the SKU is re-evaluated."""
        if item.position < self.item_position:
            return []
        self.item_position = item.position
        self.item_known = True
        self.item_type = item.item_type
        # A deleted item can no longer be sold: promise nothing, like a discontinued one.
        self.discontinued = item.discontinued or item.deleted
        records = []
        waiting, self.waiting = self.waiting, {}
        for location_code in sorted(waiting):
            for level in waiting[location_code]:
                records += self.apply_stock(level, now_ms, low_stock_threshold)
        for location_code in sorted(self.locations):
            record = self._publish(
                location_code, self.locations[location_code], item.provenance, CAUSE_ITEM, now_ms, low_stock_threshold
            )
            if record is not None:
                records.append(record)
        return records

    def _wait(self, level: StockLevel) -> None:
        """Keep ``level`` in source order; a re-delivered one (same position) is kept once."""
        queue = self.waiting.setdefault(level.location, [])
        if any(held.position == level.position for held in queue):
            return
        queue.append(level)
        queue.sort(key=lambda held: held.position)

    def _publish(
        self,
        location_code: str,
        location: LocationState,
        provenance: Provenance,
        cause: str,
        now_ms: int,
        low_stock_threshold: int,
    ) -> AvailabilityRecord | None:
        if not self.item_known:
            return None
        available = promisable_units(
            self.item_type,
            self.discontinued,
            location.on_hand,
            location.unsellable,
            location.reserved,
            location.committed,
            location.safety_stock,
        )
        status = stock_status(self.item_type, self.discontinued, available, location.incoming, low_stock_threshold)
        published: Published = (
            location.on_hand,
            location.unsellable,
            location.reserved,
            location.committed,
            location.safety_stock,
            available,
            location.incoming,
            location.next_inbound_day,
            status,
        )
        if published == location.published:
            return None
        location.published = published
        location.version += 1
        return AvailabilityRecord(
            sku=self.sku,
            location=location_code,
            on_hand=location.on_hand,
            unsellable=location.unsellable,
            reserved=location.reserved,
            committed=location.committed,
            safety_stock=location.safety_stock,
            available=available,
            incoming=location.incoming,
            next_inbound_date=_day_to_date(location.next_inbound_day),
            status=status,
            version=location.version,
            source_ts_ms=provenance.source_ts_ms,
            computed_ts_ms=now_ms,
            cause=cause,
            cause_ref=provenance.cause_ref,
        )


_EPOCH_DAY = dt.date(1970, 1, 1)


def _day_to_date(day: int | None) -> dt.date | None:
    return None if day is None else _EPOCH_DAY + dt.timedelta(days=day)

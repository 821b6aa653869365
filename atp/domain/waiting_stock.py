"""Stock changes that arrive before their item's ``ITEM_MASTER`` row.

Nothing is published for a SKU until its item is known: until then we cannot tell whether it
is discontinued or a kit. The changes are kept *in source order* and, once the item arrives,
each is applied in turn, exactly as if the item had come first: a restart that replays inputs in
another interleaving of topics then publishes the same versions. Stock for an item the ERP never
describes is dead-lettered after ``unresolved_wait_ms`` rather than kept forever.
"""

from __future__ import annotations

from atp.domain.events import StockLevel
from atp.domain.records import DeadLetter

UNKNOWN_SKU = "unknown_sku"

# Per location, the stock levels waiting for the item, in source order.
Waiting = dict[str, list[StockLevel]]


def hold_back(waiting: Waiting, level: StockLevel) -> bool:
    """Keep ``level`` in source order; False if it was kept already (a re-delivery: same position)."""
    queue = waiting.setdefault(level.location, [])
    if any(held.position == level.position for held in queue):
        return False
    queue.append(level)
    queue.sort(key=lambda held: held.position)
    return True


def unknown_sku_letters(sku: str, waiting: Waiting, wait_ms: int, now_ms: int) -> list[DeadLetter]:
    """One dead letter per waiting level, by location then source order."""
    error = f"no ITEM_MASTER row for {sku} after {wait_ms // 1000}s"
    return [_unknown_sku_letter(level, error, now_ms) for _, queue in sorted(waiting.items()) for level in queue]


def _unknown_sku_letter(level: StockLevel, error: str, now_ms: int) -> DeadLetter:
    payload = {
        "sku": level.sku,
        "location": level.location,
        "on_hand": level.on_hand,
        "quality_hold": level.quality_hold,
        "cause_ref": level.provenance.cause_ref,
    }
    return DeadLetter.of_decoded(level.provenance, UNKNOWN_SKU, error, payload, now_ms)

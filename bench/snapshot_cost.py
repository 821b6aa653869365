"""What one epoch's snapshot of a location's channel book costs: ``copy.deepcopy`` of a ``LocationBook``.

``flows.availability.KeyedLogic.snapshot`` deep-copies a key's whole state every epoch the key was touched,
and ``channel_locations`` is keyed by location: its state holds one entry per SKU stocked there. So the
cost per epoch grows with the catalogue, not with the changes. Measured here in-process, on the real class.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import time
from dataclasses import dataclass

from atp.domain.channels import LocationBook
from atp.domain.events import Provenance
from atp.errors import AtpError


@dataclass(frozen=True)
class SnapshotCost:
    skus: int
    deepcopy_ms: float
    pickle_round_trip_ms: float


class ShapeChanged(AtpError):
    """``LocationBook`` no longer has the shape this measurement copies."""


def location_book(skus: int) -> LocationBook:
    book = LocationBook("DC0001", "D", True)
    if not hasattr(book, "figures"):
        raise ShapeChanged(
            "LocationBook no longer keeps each SKU's figures (commit 4bb7360 moved them to channel_sums), "
            "so the per-location copy measured by the first run no longer exists"
        )
    for n in range(skus):
        cause = Provenance(1_700_000_000_000 + n, f"erp.erp.STOCK_BAL[0]@{n} binlog=2:{n}#0", "erp.erp.STOCK_BAL", 0, n)
        book.figures[f"TEE-{n:06d}-BLK-M"] = (n % 50, "IN_STOCK", dt.date(2026, 12, 24), cause)
    return book


def measure(skus: int, repeats: int = 5) -> SnapshotCost:
    book = location_book(skus)
    started = time.perf_counter()
    for _ in range(repeats):
        copy.deepcopy(book)
    copied = (time.perf_counter() - started) / repeats
    started = time.perf_counter()
    for _ in range(repeats):
        pickle.loads(pickle.dumps(book))
    pickled = (time.perf_counter() - started) / repeats
    return SnapshotCost(skus, copied * 1000, pickled * 1000)

"""The lookup API's read model: the latest output record per key, in memory, kept by ``version``.

Filled by :mod:`connectors.api_feed` from ``atp.availability``, the ``atp.channel.<channel>`` topics and
the ERP ``LOCATION`` and ``ITEM_MASTER`` change topics; read by :mod:`connectors.api_server`. No store
on the hot path: a lookup is two dictionary reads.

The output contracts promise one version sequence per key (schemas/avro/README.md): a record whose
version is not above the one held (a re-send after a restart, or an older one arriving late) never
replaces it. Reference rows (locations, items) carry no version; their change topics are keyed by
the row's primary key, so the last change read for a key is the row as it is now.

One writer (the feed's thread), many readers (the server's threads): every change and every read
that iterates takes the lock; a single-key read of a dict is atomic in CPython and takes none.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from atp.domain.nearby import Place, Variant

# An answer as the API serves it: plain JSON-ready values (str, int, None).
Answer = dict[str, Any]

AVAILABILITY_FIELDS = (
    "sku", "location", "on_hand", "unsellable", "reserved", "committed", "safety_stock", "available",
    "incoming", "next_inbound_date", "status", "version", "source_ts_ms", "computed_ts_ms", "cause", "cause_ref",
)  # fmt: skip
CHANNEL_FIELDS = (
    "channel", "channel_sku", "sku", "available", "buffer", "status", "promise_date", "version", "computed_ts_ms",
)  # fmt: skip

STORE = "S"


def json_value(value: Any) -> Any:
    """Avro's logical types as JSON: a timestamp as ISO 8601 UTC with milliseconds (as the contracts'
    examples write it), a date as ``YYYY-MM-DD``; anything else unchanged."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def answer_of(record: dict[str, Any], fields: tuple[str, ...]) -> Answer:
    return {name: json_value(record.get(name)) for name in fields}


@dataclass(frozen=True, slots=True)
class LocationRow:
    """An ERP ``LOCATION`` row: what the nearby answer needs of it."""

    location: str
    loc_type: str
    name: str
    place: Place | None  # None without coordinates


class ReadModel:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sku: dict[str, dict[str, Answer]] = {}  # sku -> location -> availability answer
        self._channels: dict[tuple[str, str], Answer] = {}  # (CHANNEL_CD, channel SKU) -> channel answer
        self._locations: dict[str, LocationRow] = {}
        self._items: dict[str, Variant] = {}
        self._styles: dict[str, dict[str, Variant]] = {}  # STYLE_NO -> sku -> variant
        self.applied = 0
        self.ignored = 0  # records not newer than the one held

    # -- writes (the feed) ----------------------------------------------------------------------------

    def apply_availability(self, record: dict[str, Any]) -> bool:
        """Keep ``record`` if its version is above the one held for its SKU and location; True if kept."""
        answer = answer_of(record, AVAILABILITY_FIELDS)
        with self._lock:
            at_sku = self._by_sku.setdefault(answer["sku"], {})
            held = at_sku.get(answer["location"])
            if held is not None and held["version"] >= answer["version"]:
                self.ignored += 1
                return False
            at_sku[answer["location"]] = answer
            self.applied += 1
            return True

    def apply_channel(self, record: dict[str, Any]) -> bool:
        """Keep ``record`` if its version is above the one held for its channel SKU; True if kept."""
        answer = answer_of(record, CHANNEL_FIELDS)
        key = (answer["channel"].upper(), answer["channel_sku"])
        with self._lock:
            held = self._channels.get(key)
            if held is not None and held["version"] >= answer["version"]:
                self.ignored += 1
                return False
            self._channels[key] = answer
            self.applied += 1
            return True

    def apply_location(self, row: LocationRow, deleted: bool = False) -> None:
        with self._lock:
            if deleted:
                self._locations.pop(row.location, None)
            else:
                self._locations[row.location] = row

    def apply_item(self, variant: Variant, deleted: bool = False) -> None:
        with self._lock:
            previous = self._items.pop(variant.sku, None)
            if previous is not None:  # its style may have changed: it leaves the old one
                self._styles.get(previous.style_no, {}).pop(variant.sku, None)
            if not deleted:
                self._items[variant.sku] = variant
                self._styles.setdefault(variant.style_no, {})[variant.sku] = variant

    # -- reads (the server) ---------------------------------------------------------------------------

    def at_location(self, sku: str, location: str) -> Answer | None:
        return self._by_sku.get(sku, {}).get(location)

    def across_locations(self, sku: str) -> list[Answer]:
        """Every location's answer for ``sku``, by location code; empty if the SKU is unknown."""
        with self._lock:
            held = list(self._by_sku.get(sku, {}).values())
        return sorted(held, key=lambda answer: answer["location"])

    def channel_sku(self, channel: str, channel_sku: str) -> Answer | None:
        return self._channels.get((channel.upper(), channel_sku))

    def location(self, location: str) -> LocationRow | None:
        return self._locations.get(location)

    def item(self, sku: str) -> Variant | None:
        return self._items.get(sku)

    def stores_with_coordinates(self) -> list[Place]:
        with self._lock:
            return [row.place for row in self._locations.values() if row.loc_type == STORE and row.place is not None]

    def available_by_location(self, sku: str) -> dict[str, int]:
        with self._lock:
            return {location: answer["available"] for location, answer in self._by_sku.get(sku, {}).items()}

    def style(self, style_no: str) -> list[Variant]:
        with self._lock:
            return list(self._styles.get(style_no, {}).values())

    def available_at(self, location: str, skus: list[str]) -> dict[str, int]:
        """``available`` of each of ``skus`` at ``location``, for those that have a record there."""
        found = {}
        for sku in skus:
            answer = self.at_location(sku, location)
            if answer is not None:
                found[sku] = answer["available"]
        return found

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "availability_keys": sum(len(at_sku) for at_sku in self._by_sku.values()),
                "channel_keys": len(self._channels),
                "locations": len(self._locations),
                "items": len(self._items),
            }

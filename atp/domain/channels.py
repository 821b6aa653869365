"""What each sales channel may sell: per-location availability summed per channel, less its buffer.

Three keyed stages, because three different things must be known together:

1. :class:`LocationBook`, keyed by location: whether the location ships online
   orders (``LOCATION.SHIP_FROM_FLG``) and its type. It stamps every availability
   record with that, and when a flag changes it re-sends every SKU it holds, so a
   store that starts shipping online counts at once.
2. :class:`ChannelSums`, keyed by SKU: the SKU's stamped locations and its
   listings; per channel, the sum over the locations that channel may fulfil from,
   less the channel's buffer.
3. :class:`ChannelFeed`, keyed by channel and channel SKU: which item the listing
   names *now* and whether it is active, and the version of what it published. A
   remapped listing keeps its version sequence although its figures now come from
   another SKU's state.

Channel figures only ever use locations known to ship for that channel: a
location whose ``LOCATION`` row is not known yet does not count (promise less).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from atp.domain.compact import pickled_by_position
from atp.domain.events import DC, STORE, ListingChanged, LocationChanged, Provenance, SourcePosition
from atp.domain.records import CHANNEL_KIND, AvailabilityRecord, Withdrawn
from atp.domain.rules import (
    BACKORDER,
    DISCONTINUED,
    IN_STOCK,
    LOW_STOCK,
    OUT_OF_STOCK,
    PREORDER,
)

# Which locations a channel may fulfil from.
ONLINE = "online"  # DCs and stores with SHIP_FROM_FLG = 'Y' (the default)
STORES = "stores"  # every store (e.g. a click-and-collect or POS channel)
EVERYWHERE = "all"


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """How one channel sells: where from, and how much it keeps back."""

    fulfil_from: str | tuple[str, ...] = ONLINE  # ONLINE, STORES, EVERYWHERE, or explicit LOC_CDs
    buffer_units: int = 0
    buffer_share: float = 0.0  # e.g. 0.1 keeps back 10 % (rounded up)

    def may_fulfil_from(self, location: str, location_type: str, ship_from: bool) -> bool:
        if isinstance(self.fulfil_from, tuple):
            return location in self.fulfil_from
        if self.fulfil_from == EVERYWHERE:
            return True
        if self.fulfil_from == STORES:
            return location_type == STORE
        return location_type == DC or (location_type == STORE and ship_from)

    def after_buffer(self, units: int) -> int:
        kept = max(self.buffer_units, math.ceil(units * self.buffer_share - 1e-9))
        return max(0, units - kept)


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ChannelRules:
    policies: Mapping[str, ChannelPolicy] = field(default_factory=dict)
    default: ChannelPolicy = ChannelPolicy()
    low_stock_threshold: int = 5
    timezone: str = "UTC"

    def policy(self, channel: str) -> ChannelPolicy:
        return self.policies.get(channel, self.default)

    def today(self, now_ms: int) -> dt.date:
        return dt.datetime.fromtimestamp(now_ms / 1000, tz=ZoneInfo(self.timezone)).date()


# -- stage 1: locations ---------------------------------------------------------------------


@pickled_by_position
@dataclass(frozen=True, slots=True)
class LocationSupply:
    """A SKU's availability at a location, stamped with what the channels need to know of the location."""

    sku: str
    location: str
    available: int
    status: str
    next_inbound_date: dt.date | None
    location_type: str | None  # None: no LOCATION row seen yet
    ship_from: bool
    provenance: Provenance


@pickled_by_position
@dataclass(frozen=True, slots=True)
class LocationRestamp:
    """A location's type or ship-from flag changed: what channels may take from the SKU there changes too."""

    sku: str
    location: str
    location_type: str | None
    ship_from: bool
    provenance: Provenance


@pickled_by_position
@dataclass(slots=True)
class LocationBook:
    """What channels need to know of one location, and which SKUs it holds (to re-stamp them on a change).

    It keeps the SKUs' names only, not their figures (those live per SKU in ``ChannelSums``): this state is
    snapshotted whenever the location changes, and a location holds tens of thousands of SKUs.
    """

    location: str
    location_type: str | None = None
    ship_from: bool = False
    position: SourcePosition = ()
    skus: set[str] = field(default_factory=set)

    def stamps_only(self, value: AvailabilityRecord | LocationChanged) -> bool:
        """Whether ``value`` is a record of a SKU the book holds already: it is stamped, the book stays as it is."""
        return isinstance(value, AvailabilityRecord) and value.sku in self.skus

    def apply(self, value: AvailabilityRecord | LocationChanged) -> list[LocationSupply | LocationRestamp]:
        if isinstance(value, AvailabilityRecord):
            self.skus.add(value.sku)
            provenance = Provenance(value.source_ts_ms, value.cause_ref)
            return [
                LocationSupply(
                    value.sku,
                    self.location,
                    value.available,
                    value.status,
                    value.next_inbound_date,
                    self.location_type,
                    self.ship_from,
                    provenance,
                )
            ]
        if value.position < self.position:
            return []
        self.position = value.position
        before = (self.location_type, self.ship_from)
        self.location_type = None if value.deleted else value.location_type
        self.ship_from = value.ship_from and not value.deleted
        if (self.location_type, self.ship_from) == before:
            return []
        return [
            LocationRestamp(sku, self.location, self.location_type, self.ship_from, value.provenance)
            for sku in sorted(self.skus)
        ]


# -- stage 2: sums per SKU ------------------------------------------------------------------


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """What one listing's channel may sell of its SKU, before versioning."""

    channel: str
    channel_sku: str
    sku: str
    available: int
    status: str
    promise_date: dt.date | None
    provenance: Provenance
    buffer: int = 0  # units the channel's buffer kept back


# What channel sums keep of a SKU at one location: (available, status, next inbound date, location type, ship from).
# A plain tuple, read by unpacking: it is pickled whenever the SKU changes, where a NamedTuple costs several times
# a tuple's pickling time (atp.domain.compact).
Stamp = tuple[int, str, dt.date | None, str | None, bool]


@pickled_by_position
@dataclass(slots=True)
class ChannelSums:
    sku: str
    locations: dict[str, Stamp] = field(default_factory=dict)
    listings: dict[tuple[str, str], SourcePosition] = field(default_factory=dict)  # (channel, channel_sku)

    def apply(
        self, value: LocationSupply | LocationRestamp | ListingChanged, now_ms: int, rules: ChannelRules
    ) -> list[ChannelFigures]:
        if isinstance(value, LocationSupply):
            self.locations[value.location] = (
                value.available,
                value.status,
                value.next_inbound_date,
                value.location_type,
                value.ship_from,
            )
            return self._figures(sorted(self.listings), value.provenance, now_ms, rules)
        if isinstance(value, LocationRestamp):
            stamp = self.locations.get(value.location)
            if stamp is None:
                return []
            available, status, next_inbound_date, _, _ = stamp
            self.locations[value.location] = (
                available,
                status,
                next_inbound_date,
                value.location_type,
                value.ship_from,
            )
            return self._figures(sorted(self.listings), value.provenance, now_ms, rules)
        key = (value.channel, value.channel_sku)
        known = self.listings.get(key)
        if known is not None and value.position < known:
            return []
        if value.deleted:
            self.listings.pop(key, None)
            return []
        self.listings[key] = value.position
        return self._figures([key], value.provenance, now_ms, rules)

    def _figures(
        self, listings: list[tuple[str, str]], provenance: Provenance, now_ms: int, rules: ChannelRules
    ) -> list[ChannelFigures]:
        by_channel: dict[str, tuple[int, str, dt.date | None, int]] = {}
        out = []
        for channel, channel_sku in listings:
            if channel not in by_channel:
                by_channel[channel] = self._channel_view(channel, now_ms, rules)
            available, status, promise, buffer = by_channel[channel]
            out.append(ChannelFigures(channel, channel_sku, self.sku, available, status, promise, provenance, buffer))
        return out

    def _channel_view(self, channel: str, now_ms: int, rules: ChannelRules) -> tuple[int, str, dt.date | None, int]:
        # One pass over the SKU's locations (this runs for every change of the SKU anywhere, per channel).
        policy = rules.policy(channel)
        may_fulfil_from = policy.may_fulfil_from
        total = 0
        preorder = False
        soonest: dt.date | None = None
        for location, (units, status, inbound, location_type, ship_from) in self.locations.items():
            if location_type is None or not may_fulfil_from(location, location_type, ship_from):
                continue
            if status == DISCONTINUED:
                return 0, DISCONTINUED, None, 0
            total += units
            preorder = preorder or status == PREORDER
            if inbound is not None and (soonest is None or inbound < soonest):
                soonest = inbound
        available = policy.after_buffer(total)
        buffer = total - available
        if available > 0:
            in_stock = LOW_STOCK if available <= rules.low_stock_threshold else IN_STOCK
            return available, (PREORDER if preorder else in_stock), rules.today(now_ms), buffer
        if preorder:
            return 0, PREORDER, soonest, buffer
        return 0, (BACKORDER if soonest is not None else OUT_OF_STOCK), soonest, buffer


# -- stage 3: the feed per listing ----------------------------------------------------------


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """One `atp.channel.<channel>` record (contracts.md)."""

    channel: str
    channel_sku: str
    sku: str
    available: int
    status: str
    promise_date: dt.date | None
    version: int
    computed_ts_ms: int
    buffer: int = 0  # contract v2
    # The input that caused it (not published: the contract has no source time); for latency metrics.
    provenance: Provenance | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.channel_sku

    def to_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "channel_sku": self.channel_sku,
            "sku": self.sku,
            "available": self.available,
            "buffer": self.buffer,
            "status": self.status,
            "promise_date": self.promise_date,
            "version": self.version,
            "computed_ts_ms": self.computed_ts_ms,
        }


# What a listing last published: (the item it named, and that item's available, status, promise date and buffer
# for the channel). A plain tuple, read by unpacking, like Stamp.
FeedPublished = tuple[str, int, str, dt.date | None, int]

# What a listing keeps of an item's latest figures for its channel: (available, status, promise date, buffer).
# A plain tuple, like Stamp (a ChannelFigures, with its provenance, pickles at several times the cost).
FeedFigures = tuple[int, str, dt.date | None, int]


@pickled_by_position
@dataclass(slots=True)
class ChannelFeed:
    channel: str
    channel_sku: str
    sku: str | None = None
    active: bool = False
    position: SourcePosition = ()
    latest: dict[str, FeedFigures] = field(default_factory=dict)  # by SKU, including one not (yet) listed
    version: int = 0
    published: FeedPublished | None = None
    # The epoch's open version and what was published when it opened (see SkuState.seal).
    epoch_open: bool = False
    epoch_base: FeedPublished | None = None

    def repeats(self, value: ChannelFigures | ListingChanged) -> bool:
        """Whether ``value`` is the figures the feed holds for its SKU already: applying them changes nothing
        (what the feed publishes follows from those figures and the listing, and both stay as they are)."""
        return isinstance(value, ChannelFigures) and self.latest.get(value.sku) == (
            value.available,
            value.status,
            value.promise_date,
            value.buffer,
        )

    def apply(self, value: ChannelFigures | ListingChanged, now_ms: int) -> list[ChannelRecord | Withdrawn]:
        if isinstance(value, ChannelFigures):
            self.latest[value.sku] = (value.available, value.status, value.promise_date, value.buffer)
            return self._publish(now_ms, value.provenance)
        if value.moved or value.position < self.position:
            return []  # a remap's "gone from the old item" half: the row for the new item follows
        self.position = value.position
        if value.deleted:
            self.active = False
            return self._publish(now_ms, value.provenance)
        self.sku, self.active = value.sku, value.active
        return self._publish(now_ms, value.provenance)

    def seal(self) -> None:
        """The epoch closed: its version is published; the next change opens a new one."""
        self.epoch_open, self.epoch_base = False, None

    def _publish(self, now_ms: int, cause: Provenance) -> list[ChannelRecord | Withdrawn]:
        if self.sku is None:
            return []
        if not self.active:
            published: FeedPublished = (self.sku, 0, DISCONTINUED, None, 0)  # delisted: stop selling it
        else:
            figures = self.latest.get(self.sku)
            if figures is None:
                return []  # the item's figures have not arrived yet: publish nothing rather than a guess
            published = (self.sku, *figures)
        if published == self.published or (self.published is None and not self.active):
            return []
        if not self.epoch_open:
            self.epoch_open, self.epoch_base = True, self.published
            self.version += 1
        self.published = published
        if published == self.epoch_base:  # back where the epoch began: withdraw the version it opened
            self.epoch_open, self.epoch_base = False, None
            self.version -= 1
            return [Withdrawn(CHANNEL_KIND, f"{self.channel}/{self.channel_sku}")]
        sku, available, status, promise_date, buffer = published
        record = ChannelRecord(
            self.channel, self.channel_sku, sku, available, status, promise_date, self.version, now_ms, buffer, cause
        )
        return [record]

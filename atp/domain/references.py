"""Checking what a channel's reservation names: the location, and the channel SKU.

A reservation names a ``LOC_CD`` and a channel SKU; both must be known to the ERP
(``LOCATION``, ``CHANNEL_LISTING``). Those tables arrive as change streams that
can lag the reservations topic (at start-up, or after a listing is created in
the ERP a moment before its first sale), so an event naming something not yet
known waits a bounded time for it, and is dead-lettered with a reason if it
never comes. Waiting events keep their arrival order.

A listing that is inactive still resolves: the channel did hold the units, and
counting them can only make us promise less.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from atp.domain.compact import pickled_by_position
from atp.domain.events import ListingChanged, LocationChanged, ReservationReceived, SourcePosition
from atp.domain.records import DeadLetter
from atp.domain.reservations import reservation_dead_letter

UNKNOWN_LOCATION = "unknown_location"
UNKNOWN_CHANNEL_SKU = "unknown_channel_sku"


@pickled_by_position
@dataclass(slots=True)
class Reference:
    """One location or one channel listing, and the reservations waiting for it to be known."""

    name: str
    names_sku: bool = False  # a listing resolves the reservation's SKU; a location only vouches for itself
    target: str | None = None  # the SKU a listing names; the location code itself for a location
    position: SourcePosition = ()
    waiting: list[ReservationReceived] = field(default_factory=list)
    waiting_since_ms: int | None = None

    def learn(self, change: LocationChanged | ListingChanged) -> list[ReservationReceived]:
        """The ERP row changed; returns the reservations that were waiting for it, in arrival order."""
        if change.position < self.position or (isinstance(change, ListingChanged) and change.moved):
            return []
        self.position = change.position
        if change.deleted:
            self.target = None
            return []
        self.target = change.sku if isinstance(change, ListingChanged) else change.location
        return self._release()

    def check(self, reservation: ReservationReceived, now_ms: int) -> list[ReservationReceived]:
        """Pass ``reservation`` on (with its SKU, for a listing) if the reference is known; else it waits."""
        if self.target is None:
            self.waiting.append(reservation)
            if self.waiting_since_ms is None:
                self.waiting_since_ms = now_ms
            return []
        return [self._resolved(reservation)]

    def give_up(self, now_ms: int, wait_ms: int, reason: str) -> list[DeadLetter]:
        """Dead-letter the reservations that waited ``wait_ms`` in vain."""
        if self.waiting_since_ms is None or now_ms < self.waiting_since_ms + wait_ms:
            return []
        error = f"{self.name} is not known to the ERP after {wait_ms // 1000}s"
        letters = [reservation_dead_letter(r, reason, error, now_ms) for r in self.waiting]
        self.waiting, self.waiting_since_ms = [], None
        return letters

    def deadline_ms(self, wait_ms: int) -> int | None:
        return None if self.waiting_since_ms is None else self.waiting_since_ms + wait_ms

    def _release(self) -> list[ReservationReceived]:
        released = [self._resolved(r) for r in self.waiting]
        self.waiting, self.waiting_since_ms = [], None
        return released

    def _resolved(self, reservation: ReservationReceived) -> ReservationReceived:
        if not self.names_sku or self.target is None:
            return reservation
        return replace(reservation, sku=self.target)

    @property
    def is_empty(self) -> bool:
        return self.target is None and not self.waiting and not self.position

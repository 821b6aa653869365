"""The life of one reservation (cart hold -> order -> shipment), whatever order its events arrive in.

Channels send HOLD, CONFIRM, RELEASE and FULFILL events for a reservation; an
event may arrive twice, and the events of one reservation may arrive out of
order. So the state is not a pointer that each event moves: it is the *set* of
operations seen, and the phase is a function of that set and the clock. Any
interleaving of the same events therefore ends in the same phase, and a
duplicate changes nothing.

Where the set is ambiguous, the phase that holds back more units wins:
- a CONFIRM (an order exists) commits the units even if its HOLD never came or
  already lapsed;
- a FULFILL (shipped) keeps the units deducted until the location's on-hand is
  seen to fall or a grace period passes, even if a RELEASE also arrives, because
  the units have physically left and the ERP/POS decrement may still be on its way;
- a RELEASE before its HOLD leaves nothing held (the HOLD that follows is moot).

Pure: no Kafka, no Bytewax, no clock of its own (callers pass ``now_ms``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from atp.domain.compact import pickled_by_position
from atp.domain.events import ReservationReceived
from atp.domain.records import DeadLetter

HOLD = "HOLD"
CONFIRM = "CONFIRM"
RELEASE = "RELEASE"
FULFILL = "FULFILL"
OPS = frozenset({HOLD, CONFIRM, RELEASE, FULFILL})


class Phase(Enum):
    NONE = "none"  # nothing that holds units back (released, lapsed, or only unknown events)
    HELD = "held"  # a cart hold: counts in `reserved` until it expires
    COMMITTED = "committed"  # an order: counts in `committed`, no expiry
    SHIPPED = "shipped"  # fulfilled: still counts in `committed` until the decrement is seen or grace passes


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Deadlines:
    """When a reservation's units stop counting with no further event, if they ever do."""

    hold_lapses_ms: int | None  # an unconfirmed cart hold lapses
    grace_ends_ms: int | None  # a shipment stops counting though its on-hand decrement was not seen


@pickled_by_position
@dataclass(frozen=True, slots=True)
class ReservationEvent:
    event_id: str
    reservation_id: str
    op: str
    qty: int
    expires_at_ms: int | None  # HOLD only
    occurred_at_ms: int


@pickled_by_position
@dataclass(slots=True)
class Reservation:
    reservation_id: str
    qty: int = 0
    ops: set[str] = field(default_factory=set)
    expires_at_ms: int | None = None
    fulfilled_at_ms: int | None = None  # the channel's clock: when it says it shipped (the decrement's baseline)
    decrement_seen: bool = False
    # Per event id, the contents (op, qty) it came with: once is the rule, more than one a conflicting duplicate.
    seen_event_ids: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    last_event_ms: int = 0
    # The fulfilment grace counts from here: when the flow received the FULFILL (or its occurred_at, if later).
    grace_from_ms: int | None = None

    def apply(self, event: ReservationEvent, received_ms: int) -> bool:
        """Record ``event``, received at ``received_ms`` by the flow's clock; False when it changed nothing (an
        exact repeat never does). An event id seen before with other content is a conflicting duplicate: only
        what of it holds back more is kept (see :meth:`conflicts`)."""
        content = (event.op, event.qty)
        versions = self.seen_event_ids.get(event.event_id)
        if versions is not None:
            if content in versions:
                return False
            versions.append(content)
            return self._hold_back_more(event)
        self.seen_event_ids[event.event_id] = [content]
        self.ops.add(event.op)
        self.last_event_ms = max(self.last_event_ms, event.occurred_at_ms)
        # Events of one reservation should agree on the quantity; if they do not, hold back the larger.
        self.qty = max(self.qty, event.qty)
        if event.op == HOLD and event.expires_at_ms is not None:
            # Two HOLDs with different deadlines: the later one keeps units back longer.
            self.expires_at_ms = max(self.expires_at_ms or event.expires_at_ms, event.expires_at_ms)
        if event.op == FULFILL:
            first = self.fulfilled_at_ms
            self.fulfilled_at_ms = event.occurred_at_ms if first is None else min(first, event.occurred_at_ms)
            # Not from occurred_at alone: a FULFILL stamped longer than the grace ago (a late channel, a skewed
            # clock) would free its units at once, before the ERP decrement arrives. From receipt, the decrement
            # always has the whole grace to arrive. A replay after a restart receives it again later, which only
            # keeps the units longer.
            received = max(received_ms, event.occurred_at_ms)
            self.grace_from_ms = received if self.grace_from_ms is None else min(self.grace_from_ms, received)
        return True

    def conflicts(self, event: ReservationEvent) -> bool:
        """Whether ``event`` re-uses an event id seen with other content (another op or quantity)."""
        versions = self.seen_event_ids.get(event.event_id)
        return versions is not None and (event.op, event.qty) not in versions

    def _hold_back_more(self, event: ReservationEvent) -> bool:
        """Take from a conflicting duplicate only what promises less: a larger quantity, a HOLD (with a later
        deadline) or a CONFIRM. Its RELEASE or FULFILL would free units on the word of a message that
        contradicts another: not taken."""
        before = (self.qty, len(self.ops), self.expires_at_ms)
        self.qty = max(self.qty, event.qty)
        if event.op in (HOLD, CONFIRM):
            self.ops.add(event.op)
        if event.op == HOLD and event.expires_at_ms is not None:
            self.expires_at_ms = max(self.expires_at_ms or event.expires_at_ms, event.expires_at_ms)
        return (self.qty, len(self.ops), self.expires_at_ms) != before

    def phase(self, now_ms: int, grace_ms: int) -> Phase:
        if FULFILL in self.ops:
            assert self.grace_from_ms is not None
            if self.decrement_seen or now_ms >= self.grace_from_ms + grace_ms:
                return Phase.NONE
            return Phase.SHIPPED
        if RELEASE in self.ops:
            return Phase.NONE
        if CONFIRM in self.ops:
            return Phase.COMMITTED
        if HOLD in self.ops and self.expires_at_ms is not None and now_ms < self.expires_at_ms:
            return Phase.HELD
        return Phase.NONE

    def is_over(self, now_ms: int, grace_ms: int) -> bool:
        """Nothing more can change for this reservation's units: it was released, shipped and seen
        leaving on-hand (or past grace), or its hold lapsed with no order."""
        return self.phase(now_ms, grace_ms) is Phase.NONE and (
            bool(self.ops & {RELEASE, FULFILL}) or (CONFIRM not in self.ops and HOLD in self.ops)
        )

    def reserved(self, now_ms: int, grace_ms: int) -> int:
        """Units this reservation keeps in `reserved` now."""
        return self.qty if self.phase(now_ms, grace_ms) is Phase.HELD else 0

    def committed(self, now_ms: int, grace_ms: int) -> int:
        """Units this reservation keeps in `committed` now."""
        return self.qty if self.phase(now_ms, grace_ms) in (Phase.COMMITTED, Phase.SHIPPED) else 0

    def deadlines_ms(self, grace_ms: int) -> Deadlines:
        """Absolute deadlines (not relative to now), so a timer can tell which one passed when."""
        hold_lapses = None
        if HOLD in self.ops and not self.ops & {CONFIRM, RELEASE, FULFILL}:
            hold_lapses = self.expires_at_ms
        grace_ends = None
        if FULFILL in self.ops and not self.decrement_seen and self.grace_from_ms is not None:
            grace_ends = self.grace_from_ms + grace_ms
        return Deadlines(hold_lapses, grace_ends)

    def next_deadline_ms(self, now_ms: int, grace_ms: int) -> int | None:
        """When this reservation's phase will change with no further input (for a timer), if ever."""
        phase = self.phase(now_ms, grace_ms)
        if phase is Phase.HELD:
            return self.expires_at_ms
        if phase is Phase.SHIPPED:
            assert self.grace_from_ms is not None
            return self.grace_from_ms + grace_ms
        return None


HOLD_TOO_LONG = "hold_too_long"
CONFLICTING_DUPLICATE = "conflicting_duplicate"


def within_horizon(event: ReservationReceived, now_ms: int, max_hold_ms: int) -> ReservationReceived:
    """``event``, or, for a HOLD that lapses later than ``max_hold_ms`` from now, the same HOLD lapsing then.

    A cart hold of months (a year 9999 sentinel, seconds read as milliseconds) would lock units away for as
    long. Capped, not dropped: every rule errs toward promising less, and a dropped HOLD reserves nothing from
    now on, while a capped one reserves the same units for the whole horizon (longer than any cart). At no
    moment before the horizon does the capped hold promise more than the hold as sent; after it, the channel
    has had days to CONFIRM. The caller dead-letters it too (``hold_too_long``), so the channel's bug is seen.
    """
    if event.op != HOLD or event.expires_at_ms is None or event.expires_at_ms <= now_ms + max_hold_ms:
        return event
    return replace(event, expires_at_ms=now_ms + max_hold_ms)


def hold_too_long_letter(event: ReservationReceived, now_ms: int, max_hold_ms: int) -> DeadLetter:
    error = f"expires_at is more than {max_hold_ms // 1000}s ahead; held until {now_ms + max_hold_ms} ms only"
    return reservation_dead_letter(event, HOLD_TOO_LONG, error, now_ms)


def reservation_dead_letter(reservation: ReservationReceived, reason: str, error: str, now_ms: int) -> DeadLetter:
    """The dead letter of a decoded reservation event."""
    # The decoded event, not the raw message: the raw one may carry customer_ref, which never leaves the decoder.
    payload = {
        "event_id": reservation.event_id,
        "reservation_id": reservation.reservation_id,
        "channel": reservation.channel,
        "channel_sku": reservation.channel_sku,
        "location": reservation.location,
        "op": reservation.op,
        "qty": reservation.qty,
        "expires_at_ms": reservation.expires_at_ms,
        "occurred_at_ms": reservation.occurred_at_ms,
    }
    return DeadLetter.of_decoded(reservation.provenance, reason, error, payload, now_ms)


def conflicting_duplicate_letter(event: ReservationReceived, now_ms: int) -> DeadLetter:
    error = (
        f"event {event.event_id} was seen before with other content (op, qty or location); "
        "kept whichever holds back more"
    )
    return reservation_dead_letter(event, CONFLICTING_DUPLICATE, error, now_ms)

"""Back-in-stock notices: a shopper who wish-listed a channel SKU, with consent, is told once when it is back.

Two keyed states:

1. :class:`CustomerWishes`, keyed by a digest of the customer ref (never the ref itself): which wishes the
   customer has, so a deletion request (``FORGET``) reaches every listing that holds one of them, and when the
   customer was forgotten, so a wish re-sent from before that request does not come back.
2. :class:`WishList`, keyed by channel and channel SKU: the listing's wishes and whether its channel figure
   is in stock; its output is one :class:`BackInStockNotice` per wish, at most once.

"Back": the channel figure (``atp.channel.<channel>``, as the feed makes it) has stock on hand
(``IN_STOCK`` or ``LOW_STOCK`` with ``available > 0``) at the close of an epoch that began without it
(out of stock, or no figure yet). A figure that dips and comes back within one epoch is not a return
(the channel topic showed neither), and a return that is undone within its epoch publishes no notice: the
notices it opened are withdrawn (:class:`~atp.domain.records.Withdrawn`), like every other output.

A wish is notified when it is waiting, has consent, and the listing comes back. A wish made while the
listing is in stock waits for the next return. Once its notice is published (the epoch closed) the wish is
done: it never notifies again, and its customer ref is dropped from the state. A wish done or closed is
remembered (without its ref) for the wish-list topic's retention, so that a re-sent event cannot bring it
back, then let go of by a timer: a listing's state holds its live wishes and those of the last 31 days.
A notice's ``version`` is always 1 (key = wish id), so a consumer that sees one twice (a producer retry)
knows it is the same.

Wish events commute (duplicates and any order give the same wish): consent is the one of the latest
``occurred_at`` (on a tie, no consent wins); ``WITHDRAW`` and ``FORGET`` close the wish for good, whatever
comes before or after them, and drop its customer ref at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from atp.domain.channels import ChannelRecord
from atp.domain.compact import pickled_by_position
from atp.domain.events import CustomerForgotten, WishChanged
from atp.domain.records import Withdrawn
from atp.domain.rules import IN_STOCK, LOW_STOCK

# The ops of orders.wishlist.
WISH = "WISH"  # the shopper wish-listed the channel SKU (again): consent as it says
WITHDRAW = "WITHDRAW"  # the wish is removed: no notice for it, ever
CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"  # the wish stays, without consent to be told
FORGET = "FORGET"  # a deletion request: every wish of the customer is removed (no channel, SKU or wish id)
WISH_OPS = frozenset({WISH, WITHDRAW, CONSENT_WITHDRAWN})
OPS = WISH_OPS | {FORGET}

# Withdrawn.topic_kind of a notice opened in an epoch and undone in it (key: notice_key).
NOTICE_KIND = "back_in_stock"

# How long a forgotten customer's digest is remembered: the wish-list topic's retention and a segment (31 days),
# after which no event from before the request can be read again (connectors.topics).
FORGOTTEN_MEMORY_MS = 31 * 24 * 3600 * 1000
# Likewise a wish told or closed: kept so that a re-sent event does not bring it back, then let go of (the
# listing's state stays bounded by its live wishes and those of the last 31 days).
DONE_WISH_MEMORY_MS = FORGOTTEN_MEMORY_MS

ON_HAND_STATUSES = frozenset({IN_STOCK, LOW_STOCK})


def customer_sha256(customer_ref: str) -> str:
    """How a deletion request names a customer (``atp forget-customer`` digests the subject the same way)."""
    return hashlib.sha256(customer_ref.encode()).hexdigest()


def customer_key(ref_sha256: str) -> str:
    """The key of a customer's wishes: a digest, so no step key, dead letter or log line carries the ref."""
    return "customer:" + ref_sha256[:32]


def notice_key(channel: str, channel_sku: str, wish_id: str) -> str:
    return f"{channel}/{channel_sku}#{wish_id}"


@pickled_by_position
@dataclass(frozen=True, slots=True)
class BackInStockNotice:
    """One ``atp.back-in-stock.<channel>`` record (schemas/avro/atp.back-in-stock-v1.avsc), key = wish id."""

    channel: str
    channel_sku: str
    sku: str
    wish_id: str
    customer_ref: str = field(repr=False)  # the channel's own opaque ref: the only personal datum it carries
    available: int  # the channel figure that brought it back
    version: int  # always 1: one notice per wish
    computed_ts_ms: int

    @property
    def key(self) -> str:
        return self.wish_id

    @property
    def batch_key(self) -> str:
        return notice_key(self.channel, self.channel_sku, self.wish_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "channel_sku": self.channel_sku,
            "sku": self.sku,
            "wish_id": self.wish_id,
            "customer_ref": self.customer_ref,
            "available": self.available,
            "version": self.version,
            "computed_ts_ms": self.computed_ts_ms,
        }


# -- per customer -------------------------------------------------------------------------------------------


@pickled_by_position
@dataclass(slots=True)
class CustomerWishes:
    """Keyed by :func:`customer_key`: the customer's live wishes as (channel, channel SKU, wish id)."""

    key: str
    wishes: set[tuple[str, str, str]] = field(default_factory=set)
    forgotten_at_ms: int | None = None  # the latest deletion request's occurred_at

    def apply(self, event: WishChanged | CustomerForgotten) -> list[WishChanged]:
        """What the listings hear: the wish event (unless it is from before a deletion), or a FORGET per wish."""
        if isinstance(event, CustomerForgotten):
            return self._forget(event)
        if self.forgotten_at_ms is not None and event.occurred_at_ms <= self.forgotten_at_ms:
            return []  # from before the deletion request (re-sent, or late): the request stands
        wish = (event.channel, event.channel_sku, event.wish_id)
        if event.op == WITHDRAW:
            self.wishes.discard(wish)
        else:
            self.wishes.add(wish)
        return [event]

    def _forget(self, event: CustomerForgotten) -> list[WishChanged]:
        if self.forgotten_at_ms is None or event.occurred_at_ms > self.forgotten_at_ms:
            self.forgotten_at_ms = event.occurred_at_ms
        forgets = [
            WishChanged(channel, channel_sku, wish_id, event.event_id, FORGET, False, event.occurred_at_ms,
                        event.provenance)
            for channel, channel_sku, wish_id in sorted(self.wishes)
        ]  # fmt: skip
        self.wishes.clear()
        return forgets

    def deadline_ms(self) -> int | None:
        """When a forgotten customer with no wish since can be let go of."""
        if self.forgotten_at_ms is None or self.wishes:
            return None
        return self.forgotten_at_ms + FORGOTTEN_MEMORY_MS

    def expire(self, now_ms: int) -> None:
        deadline = self.deadline_ms()
        if deadline is not None and now_ms >= deadline:
            self.forgotten_at_ms = None

    @property
    def is_empty(self) -> bool:
        return not self.wishes and self.forgotten_at_ms is None


# -- per listing --------------------------------------------------------------------------------------------

# Where a wish stands.
WAITING = "waiting"
NOTIFYING = "notifying"  # its notice is out in the open epoch (withdrawn if the return is undone in it)
NOTIFIED = "notified"  # its notice was published: done


class Wish(NamedTuple):
    customer_ref: str  # "" once the wish is done or closed
    consent: bool
    consent_at_ms: int  # occurred_at of the event that decided the consent (-1: none yet)
    stage: str  # WAITING, NOTIFYING, NOTIFIED
    closed: bool  # withdrawn, or its customer forgotten
    done_at_ms: int = -1  # when it was told or closed (the latest closing event's occurred_at); -1: live

    @property
    def lapses_at_ms(self) -> int | None:
        """When a done wish is let go of (no event from before then can be read again); None while it is live."""
        return self.done_at_ms + DONE_WISH_MEMORY_MS if self.closed or self.stage == NOTIFIED else None

    def __repr__(self) -> str:  # never the customer ref
        return f"Wish(consent={self.consent}, stage={self.stage}, closed={self.closed})"


_NEW_WISH = Wish("", False, -1, WAITING, False, -1)


def _changed_wish(wish: Wish, event: WishChanged) -> Wish:
    """The wish after one event: commutative (see the module), so order and repeats do not matter."""
    if event.op in (WITHDRAW, FORGET):  # closed the same whatever came before: nothing of it is kept
        return Wish("", False, -1, wish.stage, True, max(wish.done_at_ms, event.occurred_at_ms))
    if wish.closed:
        return wish
    consent = event.consent if event.op == WISH else False
    later = event.occurred_at_ms > wish.consent_at_ms or (event.occurred_at_ms == wish.consent_at_ms and not consent)
    if later:
        wish = wish._replace(consent=consent, consent_at_ms=event.occurred_at_ms)
    if event.op == WISH and wish.stage != NOTIFIED and event.customer_ref:
        wish = wish._replace(customer_ref=event.customer_ref)
    return wish


@pickled_by_position
@dataclass(slots=True)
class WishList:
    """Keyed by channel and channel SKU: its wishes, and whether its channel figure has stock on hand."""

    channel: str
    channel_sku: str
    wishes: dict[str, Wish] = field(default_factory=dict)
    sku: str = ""
    available: int = 0
    in_stock: bool = False  # the figure now (within the open epoch)
    was_in_stock: bool = False  # the figure as the last closed epoch left it
    figure_version: int = 0  # the channel record applied last: its version and computed_ts_ms
    figure_at_ms: int = -1

    def apply_wish(self, event: WishChanged, now_ms: int) -> list[BackInStockNotice | Withdrawn]:
        wish = _changed_wish(self.wishes.get(event.wish_id, _NEW_WISH), event)
        self.wishes[event.wish_id] = wish
        return self._settle(event.wish_id, wish, now_ms)

    def apply_figure(self, record: ChannelRecord, now_ms: int) -> list[BackInStockNotice | Withdrawn]:
        """A channel record of this listing; an older one than applied (or a repeat) changes nothing."""
        if record.version < self.figure_version or (
            record.version == self.figure_version and record.computed_ts_ms <= self.figure_at_ms
        ):
            return []
        self.figure_version, self.figure_at_ms = record.version, record.computed_ts_ms
        self.sku, self.available = record.sku, record.available
        return self._set_in_stock(record.status in ON_HAND_STATUSES and record.available > 0, now_ms)

    def withdraw_figure(self, now_ms: int) -> list[BackInStockNotice | Withdrawn]:
        """The feed withdrew its open version: the epoch ends where it began."""
        return self._set_in_stock(self.was_in_stock, now_ms)

    def deadline_ms(self) -> int | None:
        """When the wish that was told or closed first is let go of."""
        lapses = [at for at in (wish.lapses_at_ms for wish in self.wishes.values()) if at is not None]
        return min(lapses, default=None)

    def let_go(self, now_ms: int) -> None:
        """Drop the wishes done long enough ago that nothing from before can come again."""
        for wish_id, wish in list(self.wishes.items()):
            lapses_at = wish.lapses_at_ms
            if lapses_at is not None and lapses_at <= now_ms:
                del self.wishes[wish_id]

    def seal(self) -> None:
        """The epoch closed: its notices are published (their wishes are done) and its figure is the base."""
        self.was_in_stock = self.in_stock
        for wish_id, wish in self.wishes.items():
            if wish.stage == NOTIFYING:
                self.wishes[wish_id] = wish._replace(customer_ref="", stage=NOTIFIED)

    @property
    def came_back(self) -> bool:
        return self.in_stock and not self.was_in_stock

    def _set_in_stock(self, in_stock: bool, now_ms: int) -> list[BackInStockNotice | Withdrawn]:
        if in_stock == self.in_stock:
            return []
        self.in_stock = in_stock
        out: list[BackInStockNotice | Withdrawn] = []
        for wish_id, wish in list(self.wishes.items()):
            out += self._settle(wish_id, wish, now_ms)
        return out

    def _settle(self, wish_id: str, wish: Wish, now_ms: int) -> list[BackInStockNotice | Withdrawn]:
        """Open the wish's notice if it is due, or withdraw it if it no longer is (within the open epoch)."""
        due = self.came_back and wish.consent and not wish.closed and wish.stage != NOTIFIED
        if due == (wish.stage == NOTIFYING):
            return []
        if not due:
            self.wishes[wish_id] = wish._replace(stage=WAITING, done_at_ms=wish.done_at_ms if wish.closed else -1)
            return [Withdrawn(NOTICE_KIND, notice_key(self.channel, self.channel_sku, wish_id))]
        self.wishes[wish_id] = wish._replace(stage=NOTIFYING, done_at_ms=now_ms)
        notice = BackInStockNotice(
            self.channel, self.channel_sku, self.sku, wish_id, wish.customer_ref, self.available, 1, now_ms
        )
        return [notice]

"""The promotions gate: which channel SKUs a promotion engine may advertise.

A promotion must not advertise what is about to run out. A channel SKU is promotable when its
channel figure (``atp.channel.<channel>``: what the channel may sell, after its buffer) has been
at or above the channel's threshold, with stock on hand (``IN_STOCK`` or ``LOW_STOCK``: a
``PREORDER`` figure is inbound supply, not stock), for the stable time without a break. It stops
being promotable the moment the figure falls below: no stability wait on the way down (never
over-promise).

One :class:`PromotionGate` per channel SKU (keyed like the channel feed). Its inputs are the channel
feed's records and withdrawals, as the feed makes them; its output is a
:class:`PromotableRecord` at each change of the verdict, versioned per channel SKU like every other
output (one version per epoch, withdrawn when the epoch ends where it began), and the deadline at
which a figure that rose becomes promotable with no further input.

What counts is the figure the channel topic *publishes*: at most one per epoch, the last record of
the epoch. Within an epoch the feed's records share one version and each replaces the one before
(a transfer between two DCs dips a channel's sum for an instant, and no channel record shows it), so
a record of the version already applied is applied to the figure as it was *before* that version, not
after it; and a withdrawal (the feed's epoch ended where it began) restores that figure.

Repeats and reordering: a record of an older version than the one applied is stale. A stale record at
or above the threshold is ignored; a stale one below it, newer than the start of the current run,
proves a dip that was missed, so the run is counted again from the newest figure's time (conservative:
it can only delay promotion, never hasten it). A repeated record (same version and time) changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from atp.domain.channels import ChannelRecord
from atp.domain.compact import pickled_by_position
from atp.domain.records import Withdrawn
from atp.domain.rules import IN_STOCK, LOW_STOCK

# Withdrawn.topic_kind of the gate's own withdrawals (key ``channel/channel_sku``, like the feed's).
PROMOTABLE_KIND = "promotable"

# Channel statuses that are stock on hand (PREORDER promises inbound supply; the rest promise nothing).
ON_HAND_STATUSES = frozenset({IN_STOCK, LOW_STOCK})


@pickled_by_position
@dataclass(frozen=True, slots=True)
class PromotionRules:
    """How much a channel must be able to sell, and for how long, before its SKU may be promoted."""

    min_available: int = 10
    stable_ms: int = 600_000
    min_available_by_channel: Mapping[str, int] = field(default_factory=dict)

    def threshold(self, channel: str) -> int:
        return self.min_available_by_channel.get(channel, self.min_available)


@pickled_by_position
@dataclass(frozen=True, slots=True)
class PromotableRecord:
    """One ``atp.promotable.<channel>`` record (schemas/avro/atp.promotable-v1.avsc)."""

    channel: str
    channel_sku: str
    sku: str
    promotable: bool
    available: int  # the channel figure when the verdict changed
    threshold: int
    since_ms: int  # promotable: since when the figure has held; not promotable: when it fell
    version: int
    computed_ts_ms: int

    @property
    def key(self) -> str:
        return self.channel_sku

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "channel_sku": self.channel_sku,
            "sku": self.sku,
            "promotable": self.promotable,
            "available": self.available,
            "threshold": self.threshold,
            "since_ms": self.since_ms,
            "version": self.version,
            "computed_ts_ms": self.computed_ts_ms,
        }


class Figure(NamedTuple):
    """What the gate keeps of the channel figure it applied last (small: snapshotted at each change)."""

    version: int  # the channel record's version
    at_ms: int  # its computed_ts_ms
    sku: str
    available: int
    run_since_ms: int | None  # when the figure rose to the threshold and has held since; None: below it
    run_version: int  # the channel version that started the run (or that fell below)


@pickled_by_position
@dataclass(slots=True)
class PromotionGate:
    channel: str
    channel_sku: str
    figure: Figure | None = None
    # The figure before the applied version: what a later record of the same version, or a withdrawal,
    # starts again from. ``before_known`` is False when it is not known (a withdrawal used it up).
    before: Figure | None = None
    before_known: bool = False
    promotable: bool = False  # the verdict as last published
    version: int = 0
    # The epoch's open version and the verdict published when it opened (see SkuState.seal).
    epoch_open: bool = False
    epoch_base: bool = False

    def apply(self, record: ChannelRecord, now_ms: int, rules: PromotionRules) -> list[PromotableRecord | Withdrawn]:
        """A channel record of this channel SKU."""
        figure = self.figure
        if figure is None or record.version > figure.version:
            self.before, self.before_known = figure, True
            self.figure = self._next(figure, record, rules)
        elif record.version < figure.version:
            self._stale(figure, record, rules)
        elif record.computed_ts_ms <= figure.at_ms:
            return []  # a repeat, or an earlier record of the same version: replaced already
        else:  # a later record of the version applied: it replaces that version's figure
            self.figure = self._next(self.before if self.before_known else figure, record, rules)
        return self._settle(now_ms, rules)

    def withdraw(self, now_ms: int, rules: PromotionRules) -> list[PromotableRecord | Withdrawn]:
        """The feed withdrew its open version: its figure is back to the one before that version."""
        figure = self.figure
        if not self.before_known or figure is None:
            return []  # a withdrawal seen already
        # Withdrawing its first version leaves no figure to go back to: nothing is promotable then.
        self.figure = self.before if self.before is not None else figure._replace(run_since_ms=None)
        self.before, self.before_known = None, False
        return self._settle(now_ms, rules)

    def on_timer(self, now_ms: int, rules: PromotionRules) -> list[PromotableRecord | Withdrawn]:
        return self._settle(now_ms, rules)

    def deadline_ms(self, rules: PromotionRules) -> int | None:
        """When the figure, if it holds, becomes promotable; None when nothing is pending."""
        figure = self.figure
        if self.promotable or figure is None or figure.run_since_ms is None:
            return None
        return figure.run_since_ms + rules.stable_ms

    def seal(self) -> None:
        """The epoch closed: its version is published; the next change opens a new one."""
        self.epoch_open, self.epoch_base = False, False

    def qualifies(self, record: ChannelRecord, rules: PromotionRules) -> bool:
        return record.status in ON_HAND_STATUSES and record.available >= rules.threshold(self.channel)

    def _next(self, base: Figure | None, record: ChannelRecord, rules: PromotionRules) -> Figure:
        """The figure after ``record``, applied to ``base``: a run goes on while the same item stays at or
        above the threshold (a listing remapped to another item starts again)."""
        at_ms = record.computed_ts_ms
        if not self.qualifies(record, rules):
            return Figure(record.version, at_ms, record.sku, record.available, None, record.version)
        if base is not None and base.run_since_ms is not None and base.sku == record.sku:
            return Figure(record.version, at_ms, record.sku, record.available, base.run_since_ms, base.run_version)
        return Figure(record.version, at_ms, record.sku, record.available, at_ms, record.version)

    def _stale(self, figure: Figure, record: ChannelRecord, rules: PromotionRules) -> None:
        """A record older than the figure: only a missed dip inside the current run matters."""
        missed_dip = record.version > figure.run_version and not self.qualifies(record, rules)
        if figure.run_since_ms is not None and missed_dip:
            self.figure = figure._replace(run_since_ms=figure.at_ms, run_version=figure.version)

    def _settle(self, now_ms: int, rules: PromotionRules) -> list[PromotableRecord | Withdrawn]:
        """Publish the verdict if it changed: at once when the figure fell, at its deadline when it held."""
        figure = self.figure
        if figure is None:
            return []
        # Promotable while the run has lasted the stable time: a run counted again (a missed dip) ends it at once.
        verdict = figure.run_since_ms is not None and now_ms >= figure.run_since_ms + rules.stable_ms
        if verdict == self.promotable:
            return []
        if not self.epoch_open:
            self.epoch_open, self.epoch_base = True, self.promotable
            self.version += 1
        self.promotable = verdict
        if verdict == self.epoch_base:  # back where the epoch began: withdraw the version it opened
            self.epoch_open = False
            self.version -= 1
            return [Withdrawn(PROMOTABLE_KIND, f"{self.channel}/{self.channel_sku}")]
        since_ms = figure.run_since_ms if figure.run_since_ms is not None and verdict else figure.at_ms
        record = PromotableRecord(
            self.channel,
            self.channel_sku,
            figure.sku,
            verdict,
            figure.available,
            rules.threshold(self.channel),
            since_ms,
            self.version,
            now_ms,
        )
        return [record]

"""One channel listing: its channel figure, the promotions gate and the wish list that follow that figure.

The three are one state because they are one key (``channel/channel_sku``) and each channel record of
the feed is what the other two act on: kept apart, every record crossed two more keyed steps, each with
its own exchange, snapshot and recovery row per listing (bench/results.md, "Where an input event's time
goes"). Together, a figure reaches the gate and the wishes in the same call that versions it.
"""

from __future__ import annotations

from dataclasses import dataclass

from atp.domain.back_in_stock import BackInStockNotice, WishList
from atp.domain.channels import ChannelFeed, ChannelFigures, ChannelRecord
from atp.domain.compact import pickled_by_position
from atp.domain.events import ListingChanged, WishChanged
from atp.domain.promotable import PromotableRecord, PromotionGate, PromotionRules
from atp.domain.records import Withdrawn

ListingInput = ChannelFigures | ListingChanged | WishChanged
ListingOutput = ChannelRecord | PromotableRecord | BackInStockNotice | Withdrawn


@pickled_by_position
@dataclass(slots=True)
class Listing:
    feed: ChannelFeed
    gate: PromotionGate
    wishes: WishList

    @classmethod
    def of(cls, channel: str, channel_sku: str) -> Listing:
        return cls(
            ChannelFeed(channel, channel_sku), PromotionGate(channel, channel_sku), WishList(channel, channel_sku)
        )

    def apply(self, value: ListingInput, now_ms: int, rules: PromotionRules) -> list[ListingOutput]:
        if isinstance(value, WishChanged):
            return [*self.wishes.apply_wish(value, now_ms)]
        records = self.feed.apply(value, now_ms)
        out: list[ListingOutput] = [*records]
        for record in records:
            if isinstance(record, Withdrawn):  # the feed withdrew its open version: so do the gate and the wishes
                out += self.gate.withdraw(now_ms, rules)
                out += self.wishes.withdraw_figure(now_ms)
            else:
                out += self.gate.apply(record, now_ms, rules)
                out += self.wishes.apply_figure(record, now_ms)
        return out

    def unchanged_by(self, value: ListingInput) -> bool:
        """Whether applying ``value`` leaves the listing as it is: figures the feed holds already."""
        return not isinstance(value, WishChanged) and self.feed.repeats(value)

    def on_timer(self, now_ms: int, rules: PromotionRules) -> list[ListingOutput]:
        """The gate's figure has held long enough, or wishes done long ago are let go of (each at its own time)."""
        out: list[ListingOutput] = []
        promotable_at = self.gate.deadline_ms(rules)
        if promotable_at is not None and promotable_at <= now_ms:
            out += self.gate.on_timer(now_ms, rules)
        lapses_at = self.wishes.deadline_ms()
        if lapses_at is not None and lapses_at <= now_ms:
            self.wishes.let_go(now_ms)
        return out

    def deadline_ms(self, rules: PromotionRules) -> int | None:
        deadlines = [at for at in (self.gate.deadline_ms(rules), self.wishes.deadline_ms()) if at is not None]
        return min(deadlines, default=None)

    def seal(self) -> None:
        """The epoch closed: each part's version (and notices) of it are published."""
        self.feed.seal()
        self.gate.seal()
        self.wishes.seal()

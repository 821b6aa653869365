"""What a state is snapshotted as (STATE_FORMAT 9): the same state back from its bytes, with the published figures
written as plain tuples (a named tuple pickles at several times a tuple's cost) and read by name after a resume,
a SKU's locations inline, and a listing's latest figures without the ChannelFigures (and provenance) they came in."""

from __future__ import annotations

import datetime as dt
import pickle

from atp.domain.channels import ChannelFeed, ChannelFigures, ChannelPolicy, ChannelRules, ChannelSums, LocationSupply
from atp.domain.events import ListingChanged, Provenance
from atp.domain.kits import ComponentSupply, KitState, KitTerms
from atp.domain.published_availability import PublishedAvailability
from atp.domain.sku_state import SkuState
from tests.engine_inputs import NOW, RULES, component, item, lot, reservation, stock

P = Provenance(1, "test")
CHANNEL_RULES = ChannelRules(policies={}, default=ChannelPolicy(), low_stock_threshold=3)
# Named tuples a snapshot no longer holds: each would cost a call into Python per object pickled.
NAMED_TUPLES = (b"PublishedAvailability", b"KitPublished", b"Stamp", b"FeedPublished")


def snapshotted(state: object) -> bytes:
    data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)  # as flows.keyed snapshots a key
    assert not [name for name in NAMED_TUPLES if name in data]
    return data


def sku_mid_epoch() -> SkuState:
    """Two locations: one published in an earlier epoch, and one whose version is open with a base to compare."""
    state = SkuState("TEE-1")
    state.apply(item(), NOW, RULES)
    state.apply(stock(10, 100), NOW, RULES)
    state.apply(stock(7, 101, location="ST0001", location_type="S"), NOW, RULES)
    state.apply(lot("L1", 2, None, 102), NOW, RULES)
    state.seal()
    state.apply(stock(4, 103, location="ST0001", location_type="S"), NOW, RULES)
    state.apply(reservation("HOLD", "r1", 1, expires=NOW + 600_000, location="ST0001"), NOW, RULES)
    return state


def test_a_sku_comes_back_from_its_snapshot_equal_with_its_figures_readable_by_name():
    state = sku_mid_epoch()
    assert state.locations["ST0001"].epoch_base is not None  # the open epoch's base is snapshotted too
    resumed = pickle.loads(snapshotted(state))
    assert resumed == state
    figures = resumed.locations["ST0001"].published_figures
    assert isinstance(figures, PublishedAvailability)
    assert (figures.on_hand, figures.reserved, figures.available) == (4, 1, 3)


def test_a_resumed_sku_publishes_what_the_one_that_never_stopped_does():
    state = sku_mid_epoch()
    resumed = pickle.loads(snapshotted(state))
    nxt = stock(2, 104, location="ST0001", location_type="S")
    assert resumed.apply(nxt, NOW, RULES) == state.apply(nxt, NOW, RULES)


def test_a_kit_comes_back_from_its_snapshot_equal():
    kit = KitState("GIFT-1")
    kit.apply(component("GIFT-1", "TEE-1", 1, 10), NOW, 5)
    kit.apply(KitTerms("GIFT-1", False, (), (), (), P, "item"), NOW, 5)
    kit.apply(ComponentSupply("GIFT-1", "TEE-1", "DC0001", 6, 6, 0, None, P, "stock"), NOW, 5)
    kit.seal()
    kit.apply(ComponentSupply("GIFT-1", "TEE-1", "DC0001", 4, 4, 0, None, P, "stock"), NOW, 5)
    assert kit.published and kit.epoch_base
    assert pickle.loads(snapshotted(kit)) == kit


def test_channel_sums_and_a_feed_come_back_from_their_snapshots_equal():
    sums = ChannelSums("TEE-1")
    sums.apply(LocationSupply("TEE-1", "DC0001", 5, "IN_STOCK", dt.date(2027, 2, 1), "D", True, P), NOW, CHANNEL_RULES)
    assert sums.locations
    assert pickle.loads(snapshotted(sums)) == sums

    feed = ChannelFeed("SHOPIFY", "SH-1")
    feed.apply(ListingChanged("SHOPIFY", "SH-1", "TEE-1", True, False, (2, 1, 0), P, False), NOW)
    feed.apply(ChannelFigures("SHOPIFY", "SH-1", "TEE-1", 5, "IN_STOCK", dt.date(2027, 1, 15), P), NOW)
    feed.seal()
    feed.apply(ChannelFigures("SHOPIFY", "SH-1", "TEE-1", 3, "IN_STOCK", dt.date(2027, 1, 15), P), NOW)
    assert feed.published is not None and feed.epoch_base is not None
    data = snapshotted(feed)
    assert b"ChannelFigures" not in data and b"Provenance" not in data
    resumed = pickle.loads(data)
    assert resumed == feed
    later = ChannelFigures("SHOPIFY", "SH-1", "TEE-1", 5, "IN_STOCK", dt.date(2027, 1, 15), P)
    assert resumed.apply(later, NOW) == feed.apply(later, NOW)

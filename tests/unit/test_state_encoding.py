"""What a state is snapshotted as (STATE_FORMAT 9): the same state back from its bytes, with the published figures
written as plain tuples (a named tuple pickles at several times a tuple's cost) and read by name after a resume,
a SKU's locations inline, and a listing's latest figures without the ChannelFigures (and provenance) they came in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from atp.domain.channels import ChannelFeed, ChannelFigures, ChannelPolicy, ChannelRules, ChannelSums, LocationSupply
from atp.domain.events import ALL_LOCATIONS, ListingChanged, Provenance
from atp.domain.kits import ComponentSupply, KitState, KitTerms
from atp.domain.location_state import LocationState
from atp.domain.published_availability import PublishedAvailability
from atp.domain.reservations import CONFIRM, FULFILL, HOLD, RELEASE
from atp.domain.sku_state import SkuState
from tests.engine_inputs import MINUTE, NOW, RULES, component, inbound, item, lot, reservation, safety, sale, stock

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


# A SKU's locations keep their pickles until they change (atp.domain.location_state.Locations): whatever the inputs,
# timers and epochs, what a snapshot says must be the state as it is, never a location as it was.
LOCATIONS = ("DC0001", "DC0002", "ST0001")
DYNAMIC = dataclasses.replace(RULES, dynamic_safety_factor=1.0, sales_window_days=4)


@st.composite
def sku_inputs(draw: st.DrawFn, position: int) -> object:
    where = draw(st.sampled_from(LOCATIONS))
    kind = "S" if where.startswith("ST") else "D"
    units = draw(st.integers(0, 20))
    rid = draw(st.sampled_from(("r1", "r2", "r3")))
    return draw(
        st.sampled_from(
            (
                stock(units, position, location=where, hold=units // 4, location_type=kind),
                item(position, discontinued=units == 0),
                reservation(draw(st.sampled_from((HOLD, CONFIRM, FULFILL, RELEASE))), rid, units % 5 + 1,
                            at=NOW + position * MINUTE, expires=NOW + (position + units) * MINUTE, location=where),
                lot(f"L{units % 3}", units, 20_833 + units % 3, position, location=where),
                inbound(f"PO{units % 2}", units, 20_830, position, location=where),
                safety(draw(st.sampled_from((*LOCATIONS, ALL_LOCATIONS))), units % 4, position),
                sale(units % 6, 20_833 + units % 5, store="ST0001"),
            )
        )
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_sku_snapshot_always_says_what_every_location_is_now(data: st.DataObject):
    state = SkuState("TEE-1")
    now = NOW
    for position in range(1, data.draw(st.integers(1, 40)) + 1):
        action = data.draw(st.sampled_from(("input", "input", "input", "timer", "seal", "snapshot")))
        now += data.draw(st.integers(0, 20 * MINUTE))
        if action == "input":
            state.apply(data.draw(sku_inputs(position)), now, DYNAMIC)
        elif action == "timer":
            state.on_timer(now, DYNAMIC)
        elif action == "seal":
            state.seal()
        else:
            assert pickle.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)) == state
    resumed = pickle.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    assert resumed == state
    nxt = stock(3, 1_000, location="DC0001")
    assert resumed.apply(nxt, now + MINUTE, DYNAMIC) == state.apply(nxt, now + MINUTE, DYNAMIC)


def test_a_location_put_in_place_of_another_is_snapshotted_as_itself():
    state = sku_mid_epoch()
    pickle.dumps(state)  # every location's pickle is kept from here
    state.locations["DC0001"] = LocationState(on_hand=99)
    assert pickle.loads(pickle.dumps(state)).locations["DC0001"].on_hand == 99

"""What each channel may sell: eligible locations summed, less the channel's buffer (atp/domain/channels.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from atp.domain.channels import (
    STORES,
    ChannelFeed,
    ChannelFigures,
    ChannelPolicy,
    ChannelRules,
    ChannelSums,
    LocationBook,
    LocationRestamp,
    LocationSupply,
)
from atp.domain.events import ListingChanged, LocationChanged, Provenance
from atp.domain.records import AvailabilityRecord, Withdrawn

NOW = 1_800_000_000_000  # 2027-01-15 in UTC
TODAY = dt.date(2027, 1, 15)
RULES = ChannelRules(
    policies={"POS": ChannelPolicy(fulfil_from=STORES), "AMAZON": ChannelPolicy(buffer_units=2)},
    default=ChannelPolicy(),
    low_stock_threshold=3,
)
P = Provenance(1, "test")


def supply(location: str, available: int, kind: str = "D", ship_from: bool = True, status: str = "IN_STOCK",
           inbound: dt.date | None = None) -> LocationSupply:  # fmt: skip
    return LocationSupply("TEE-1", location, available, status, inbound, kind, ship_from, P)


def listing(channel: str, channel_sku: str, sku: str = "TEE-1", position: int = 1, active: bool = True,
            deleted: bool = False, moved: bool = False) -> ListingChanged:  # fmt: skip
    return ListingChanged(channel, channel_sku, sku, active, deleted, (2, position, 0), P, moved)


def sums_with(*supplies: LocationSupply) -> ChannelSums:
    sums = ChannelSums("TEE-1")
    for s in supplies:
        sums.apply(s, NOW, RULES)
    return sums


def view(out) -> list[tuple[str, str, int, str, dt.date | None]]:
    return [(f.channel, f.channel_sku, f.available, f.status, f.promise_date) for f in out]


def test_an_online_channel_sums_dcs_and_ship_from_stores_only():
    sums = sums_with(supply("DC0001", 10), supply("ST0001", 4, "S", ship_from=True), supply("ST0002", 7, "S", False))
    assert view(sums.apply(listing("SHOPIFY", "SH-1"), NOW, RULES)) == [("SHOPIFY", "SH-1", 14, "IN_STOCK", TODAY)]


def test_a_store_channel_sums_every_store_and_no_dc():
    sums = sums_with(supply("DC0001", 10), supply("ST0001", 4, "S", ship_from=True), supply("ST0002", 7, "S", False))
    assert view(sums.apply(listing("POS", "P-1"), NOW, RULES))[0][2] == 11


def test_a_buffer_keeps_units_back_as_units_or_as_a_share():
    assert ChannelPolicy(buffer_units=2).after_buffer(5) == 3
    assert ChannelPolicy(buffer_units=2).after_buffer(1) == 0
    assert ChannelPolicy(buffer_share=0.1).after_buffer(25) == 22  # 2.5 kept back, rounded up
    sums = sums_with(supply("DC0001", 10))
    [amazon] = sums.apply(listing("AMAZON", "B0-1"), NOW, RULES)
    assert (amazon.available, amazon.buffer) == (8, 2)


def test_one_item_under_two_channel_skus_of_one_channel_gets_both():
    sums = sums_with(supply("DC0001", 10))
    sums.apply(listing("EBAY", "E-1"), NOW, RULES)
    sums.apply(listing("EBAY", "E-2"), NOW, RULES)
    assert [f.channel_sku for f in sums.apply(supply("DC0001", 9), NOW, RULES)] == ["E-1", "E-2"]


def test_nothing_available_promises_the_earliest_inbound_date_or_nothing():
    sums = sums_with(
        supply("DC0001", 0, inbound=dt.date(2027, 2, 3)), supply("DC0002", 0, inbound=dt.date(2027, 1, 30))
    )
    assert view(sums.apply(listing("SHOPIFY", "SH-1"), NOW, RULES)) == [
        ("SHOPIFY", "SH-1", 0, "BACKORDER", dt.date(2027, 1, 30))
    ]
    empty = sums_with(supply("DC0001", 0))
    assert view(empty.apply(listing("SHOPIFY", "SH-1"), NOW, RULES)) == [("SHOPIFY", "SH-1", 0, "OUT_OF_STOCK", None)]


def test_a_location_not_known_to_the_erp_does_not_count():
    sums = sums_with(dataclasses.replace(supply("DC0009", 50), location_type=None), supply("DC0001", 2))
    assert view(sums.apply(listing("SHOPIFY", "SH-1"), NOW, RULES))[0][2:4] == (2, "LOW_STOCK")


def test_a_store_that_starts_shipping_online_is_re_sent_for_every_sku_it_holds():
    book = LocationBook("ST0001")
    book.apply(LocationChanged("ST0001", "S", False, False, (2, 1, 0), P))
    for sku in ("TEE-1", "TEE-2"):
        book.apply(AvailabilityRecord(sku, "ST0001", 5, 0, 0, 0, 0, 5, 0, None, "IN_STOCK", 1, 1, 1, "stock", "x"))
    resent = book.apply(LocationChanged("ST0001", "S", True, False, (2, 2, 0), P))
    assert [(s.sku, s.ship_from) for s in resent] == [("TEE-1", True), ("TEE-2", True)]
    assert book.apply(LocationChanged("ST0001", "S", False, False, (2, 1, 0), P)) == []  # older: ignored


def test_a_record_of_a_sku_the_book_holds_is_only_stamped_and_the_book_can_tell_beforehand():
    book = LocationBook("ST0001")
    record = AvailabilityRecord("TEE-1", "ST0001", 5, 0, 0, 0, 0, 5, 0, None, "IN_STOCK", 1, 1, 1, "stock", "x")
    assert not book.stamps_only(record)  # a SKU new to the location: the book learns it
    book.apply(record)
    assert book.stamps_only(record) and not book.stamps_only(LocationChanged("ST0001", "S", True, False, (2, 2, 0), P))
    assert book.skus == {"TEE-1"}


def test_a_re_stamped_store_counts_for_online_channels_with_the_figures_it_already_had():
    sums = sums_with(supply("DC0001", 10), supply("ST0002", 7, "S", ship_from=False))
    sums.apply(listing("SHOPIFY", "SH-1"), NOW, RULES)
    out = sums.apply(LocationRestamp("TEE-1", "ST0002", "S", True, P), NOW, RULES)
    assert view(out) == [("SHOPIFY", "SH-1", 17, "IN_STOCK", TODAY)]
    assert sums.apply(LocationRestamp("TEE-1", "ST0099", "S", True, P), NOW, RULES) == []  # no stock there yet


# -- the feed per listing ---------------------------------------------------------------------


def figures(sku: str, available: int) -> ChannelFigures:
    return ChannelFigures("SHOPIFY", "SH-1", sku, available, "IN_STOCK", TODAY, P)


def each_in_its_epoch(feed: ChannelFeed, changes: list) -> list[list]:
    """What each change publishes when the epoch closes after it."""
    outs = []
    for change in changes:
        outs.append(feed.apply(change, NOW))
        feed.seal()
    return outs


def test_the_feed_publishes_only_changes_with_increasing_versions():
    feed = ChannelFeed("SHOPIFY", "SH-1")
    outs = each_in_its_epoch(
        feed, [listing("SHOPIFY", "SH-1"), figures("TEE-1", 5), figures("TEE-1", 5), figures("TEE-1", 4)]
    )
    assert [[(r.available, r.version) for r in out] for out in outs] == [[], [(5, 1)], [], [(4, 2)]]


def test_a_listing_that_moves_and_comes_back_within_an_epoch_withdraws_its_version():
    feed = ChannelFeed("SHOPIFY", "SH-1")
    each_in_its_epoch(feed, [listing("SHOPIFY", "SH-1"), figures("TEE-1", 5)])
    assert [r.version for r in feed.apply(figures("TEE-1", 2), NOW)] == [2]
    assert feed.apply(figures("TEE-1", 5), NOW) == [Withdrawn("channel", "SHOPIFY/SH-1")]
    feed.seal()
    assert [r.version for r in feed.apply(figures("TEE-1", 3), NOW)] == [2]


def test_a_deactivated_listing_stops_selling_and_a_reactivated_one_sells_again():
    feed = ChannelFeed("SHOPIFY", "SH-1")
    each_in_its_epoch(feed, [listing("SHOPIFY", "SH-1"), figures("TEE-1", 5)])
    [[off], [on]] = each_in_its_epoch(
        feed, [listing("SHOPIFY", "SH-1", position=2, active=False), listing("SHOPIFY", "SH-1", position=3)]
    )
    assert (off.available, off.status, off.version) == (0, "DISCONTINUED", 2)
    assert (on.available, on.version) == (5, 3)


def test_a_remapped_listing_moves_to_its_new_item_and_keeps_its_version_sequence():
    feed = ChannelFeed("SHOPIFY", "SH-1")
    each_in_its_epoch(feed, [listing("SHOPIFY", "SH-1"), figures("TEE-1", 5)])
    assert feed.apply(figures("TEE-2", 9), NOW) == []  # not the listed item (yet)
    assert feed.apply(listing("SHOPIFY", "SH-1", "TEE-1", position=2, deleted=True, moved=True), NOW) == []
    [moved] = feed.apply(listing("SHOPIFY", "SH-1", "TEE-2", position=2), NOW)
    assert (moved.sku, moved.available, moved.version) == ("TEE-2", 9, 2)
    assert feed.apply(figures("TEE-1", 1), NOW) == []  # the old item no longer speaks for this listing


@settings(max_examples=200, deadline=None)
@given(
    levels=st.lists(
        st.tuples(st.sampled_from(["DC0001", "DC0002", "ST0001", "ST0002"]), st.integers(0, 50)), max_size=12
    ),
    buffer=st.integers(0, 5),
    share=st.sampled_from([0.0, 0.1, 0.25]),
)
def test_a_channel_never_offers_more_than_its_eligible_locations_hold(levels, buffer, share):
    rules = dataclasses.replace(RULES, default=ChannelPolicy(buffer_units=buffer, buffer_share=share))
    sums = ChannelSums("TEE-1")
    sums.apply(listing("SHOPIFY", "SH-1"), NOW, rules)
    latest: dict[str, int] = {}
    for location, available in levels:
        kind = "D" if location.startswith("DC") else "S"
        [f] = sums.apply(supply(location, available, kind, ship_from=location == "ST0001"), NOW, rules)
        latest[location] = available
        eligible = sum(n for loc, n in latest.items() if loc != "ST0002")
        assert 0 <= f.available <= max(0, eligible - buffer)
        assert f.available <= eligible - (eligible * share)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("listing"), st.sampled_from(["TEE-1", "TEE-2"]), st.booleans(), st.booleans()),
            st.tuples(st.just("figures"), st.sampled_from(["TEE-1", "TEE-2"]), st.integers(0, 30), st.just(False)),
        ),
        max_size=25,
    )
)
def test_a_listing_feed_only_ever_speaks_for_its_current_item_with_strictly_increasing_versions(steps):
    feed = ChannelFeed("SHOPIFY", "SH-1")
    current: tuple[str, bool] | None = None  # (sku, active) as the ERP says now
    latest: dict[str, int] = {}
    versions: list[int] = []
    for position, (kind, sku, value, deleted) in enumerate(steps, start=1):
        if kind == "listing":
            change = listing("SHOPIFY", "SH-1", sku, position=position, active=bool(value), deleted=deleted)
            out = feed.apply(change, NOW)
            if current is not None or not deleted:
                current = (sku, bool(value) and not deleted) if not deleted else (current[0], False)
        else:
            latest[sku] = value
            out = feed.apply(figures(sku, value), NOW)
        feed.seal()  # each step in its own epoch
        for record in out:
            versions.append(record.version)
            assert current is not None and record.sku == current[0]
            assert record.available == (latest.get(record.sku, 0) if current[1] else 0)
    assert versions == sorted(set(versions))


def test_figures_the_feed_holds_already_are_a_repeat_that_changes_nothing():
    import pickle

    feed = ChannelFeed("SHOPIFY", "SH-1")
    feed.apply(listing("SHOPIFY", "SH-1"), NOW)
    assert not feed.repeats(figures("TEE-1", 5))
    [record] = feed.apply(figures("TEE-1", 5), NOW)
    before = pickle.dumps(feed)
    assert feed.repeats(figures("TEE-1", 5)) and not feed.repeats(figures("TEE-1", 4))
    assert not feed.repeats(listing("SHOPIFY", "SH-1"))
    assert feed.apply(figures("TEE-1", 5), NOW + 1) == [] and pickle.dumps(feed) == before

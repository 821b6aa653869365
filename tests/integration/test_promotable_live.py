"""The promotions gate on the real stack: a listing restocked on a channel appears on atp.promotable.<channel> once
its figure has held for the stable time, with no further input, and disappears at once when it sells out.

The suite runs with ATP_PROMOTABLE_MIN_AVAILABLE=5 and ATP_PROMOTABLE_STABLE_S=3 (tests/integration/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from atp.settings import Settings
from connectors import topics
from connectors.output_watch import TopicWatcher
from tests.integration.legacy_writes import list_on_channel, new_item, set_dc_stock

pytestmark = pytest.mark.integration

MARGIN_S = 0.05  # clocks: the pipeline's timer may fire a few ms before the figure's time plus the stable time


@pytest.fixture
def promotable(pipeline: Settings) -> Iterator[TopicWatcher]:
    watcher = TopicWatcher(pipeline.kafka, topics.promotable_topic("SHOPIFY"))
    yield watcher
    watcher.close()


def stable_s(settings: Settings) -> float:
    return settings.channels.promotable_stable_s


def seconds_between(earlier: dt.datetime, later: dt.datetime) -> float:
    return (later - earlier).total_seconds()


def test_a_restocked_listing_becomes_promotable_after_the_stable_time_and_stops_at_once_when_sold_out(
    pipeline: Settings, shopify: TopicWatcher, promotable: TopicWatcher
):
    assert stable_s(pipeline) == 3 and pipeline.channels.promotable_min_available == 5
    sku, _ = new_item(pipeline)
    channel_sku = list_on_channel(pipeline, sku)
    set_dc_stock(pipeline, sku, 12)
    restocked, _ = shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 12, 90)

    # Nothing during the stable time; then the record, with no further input.
    became, _ = promotable.wait_for(lambda k, r: k == channel_sku, stable_s(pipeline) + 30)
    assert (became["channel"], became["sku"], became["promotable"], became["available"], became["threshold"]) == (
        "SHOPIFY",
        sku,
        True,
        12,
        5,
    )
    assert became["version"] == 1
    assert became["since_ms"] == restocked["computed_ts_ms"]
    assert seconds_between(restocked["computed_ts_ms"], became["computed_ts_ms"]) >= stable_s(pipeline) - MARGIN_S

    set_dc_stock(pipeline, sku, 0)
    sold_out, _ = shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 0, 90)
    stopped, _ = promotable.wait_for(lambda k, r: k == channel_sku and r["version"] == 2, 30)
    assert (stopped["promotable"], stopped["available"]) == (False, 0)
    # At once: decided in the epoch of the sell-out, not after any wait.
    assert stopped["since_ms"] == sold_out["computed_ts_ms"]
    assert seconds_between(sold_out["computed_ts_ms"], stopped["computed_ts_ms"]) < 1.0

    later = [r for k, r in promotable.drain(quiet_s=stable_s(pipeline) + 1) if k == channel_sku]
    assert sorted({(r["version"], r["promotable"]) for r in later}) == [(1, True), (2, False)]  # a re-send is the same


def test_a_listing_that_sells_out_before_its_stable_time_is_never_promotable(
    pipeline: Settings, shopify: TopicWatcher, promotable: TopicWatcher
):
    sku, _ = new_item(pipeline)
    channel_sku = list_on_channel(pipeline, sku)
    set_dc_stock(pipeline, sku, 12)
    restocked, _ = shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 12, 90)
    set_dc_stock(pipeline, sku, 2)  # below the minimum well before the stable time ends
    dipped, _ = shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 2, 90)
    held_s = seconds_between(restocked["computed_ts_ms"], dipped["computed_ts_ms"])
    assert held_s < stable_s(pipeline), f"the sale reached the channel {held_s:.1f} s after the restock: too slow"

    seen = [r for k, r in promotable.drain(quiet_s=stable_s(pipeline) + 2) if k == channel_sku]
    assert seen == []

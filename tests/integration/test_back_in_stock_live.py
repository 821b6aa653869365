"""Back-in-stock notices on the real stack: a shopper who wish-listed a sold-out listing, with consent, gets one
notice on atp.back-in-stock.<channel> when the ERP restocks it; a wish without consent, with consent withdrawn,
withdrawn, or of a customer forgotten by `atp forget-customer`, gets none."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from atp.privacy_requests import forget_customer
from atp.settings import Settings
from connectors import topics
from connectors.output_watch import TopicWatcher
from tests.integration.legacy_writes import list_on_channel, new_item, send_wishes, set_dc_stock, wish_event

pytestmark = pytest.mark.integration

# Wish-list events reach the dataflow straight from Kafka, a restock through the ERP's binlog and Debezium: this
# head start makes sure the wishes are applied before the restock (a wish made while in stock waits for the next).
HEAD_START_S = 3.0


@pytest.fixture
def notices(pipeline: Settings) -> Iterator[TopicWatcher]:
    watcher = TopicWatcher(pipeline.kafka, topics.back_in_stock_topic("SHOPIFY"))
    yield watcher
    watcher.close()


def sold_out_listing(pipeline: Settings, shopify: TopicWatcher) -> tuple[str, str]:
    sku, _ = new_item(pipeline)
    channel_sku = list_on_channel(pipeline, sku)
    set_dc_stock(pipeline, sku, 0)
    shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 0, 90)
    return sku, channel_sku


def test_only_the_wish_with_consent_gets_one_notice_when_the_erp_restocks_the_sold_out_listing(
    pipeline: Settings, shopify: TopicWatcher, notices: TopicWatcher
):
    sku, channel_sku = sold_out_listing(pipeline, shopify)
    tag = uuid.uuid4().hex[:8]
    told, silent, changed, withdrawn = (f"w-{name}-{tag}" for name in ("told", "silent", "changed", "withdrawn"))
    ref = f"cust-{tag}"
    send_wishes(
        pipeline,
        [
            wish_event("WISH", told, channel_sku, ref),
            wish_event("WISH", silent, channel_sku, f"{ref}-2", consent=False),
            wish_event("WISH", changed, channel_sku, f"{ref}-3"),
            wish_event("WISH", withdrawn, channel_sku, f"{ref}-4"),
        ],
    )
    time.sleep(0.01)  # the withdrawals occur after the wishes (consent follows the latest occurred_at)
    send_wishes(
        pipeline,
        [
            wish_event("CONSENT_WITHDRAWN", changed, channel_sku, f"{ref}-3"),
            wish_event("WITHDRAW", withdrawn, channel_sku, f"{ref}-4"),
        ],
    )
    time.sleep(HEAD_START_S)

    set_dc_stock(pipeline, sku, 8)
    shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 8, 90)
    notice, _ = notices.wait_for(lambda k, r: k == told, 60)
    assert (notice["channel"], notice["channel_sku"], notice["sku"], notice["customer_ref"]) == (
        "SHOPIFY",
        channel_sku,
        sku,
        ref,
    )
    assert (notice["available"], notice["version"]) == (8, 1)

    # Sold out and back again, the wish re-sent: no second notice, and none for the others.
    set_dc_stock(pipeline, sku, 0)
    shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 0, 90)
    send_wishes(pipeline, [wish_event("WISH", told, channel_sku, ref)])
    time.sleep(HEAD_START_S)
    set_dc_stock(pipeline, sku, 5)
    shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 5, 90)
    later = [(k, r) for k, r in notices.drain(quiet_s=5) if r["channel_sku"] == channel_sku]
    assert {k for k, _ in later} <= {told}, later
    assert all(r["version"] == 1 for _, r in later)  # a re-sent notice (a retry) is the same notice


def test_a_customer_forgotten_before_the_restock_gets_no_notice(
    pipeline: Settings, shopify: TopicWatcher, notices: TopicWatcher
):
    sku, channel_sku = sold_out_listing(pipeline, shopify)
    tag = uuid.uuid4().hex[:8]
    ref, wish_id = f"cust-{tag}", f"w-forgotten-{tag}"
    send_wishes(pipeline, [wish_event("WISH", wish_id, channel_sku, ref)])
    time.sleep(0.01)
    report = forget_customer(pipeline.store, ref, pipeline.kafka, pipeline.channels.channels)
    assert f"kafka:{topics.WISHLIST}" in report.checked
    [wishes] = [m for m in report.kafka if m.topic == topics.WISHLIST]
    assert wishes.records == 1 and wishes.gone_by is not None
    time.sleep(HEAD_START_S)

    set_dc_stock(pipeline, sku, 8)
    shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 8, 90)
    seen = [(k, r) for k, r in notices.drain(quiet_s=5) if r["channel_sku"] == channel_sku]
    assert seen == []

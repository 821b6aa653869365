"""Partner webhooks on the real stack: a stock change reaches the partner's inventory-update call, and an update
the partner refuses inside a 200 is dead-lettered with the partner's reason while the feed's offsets move on."""

from __future__ import annotations

import time

import pytest

from atp.settings import Settings
from connectors import topics
from connectors.lag import group_positions
from connectors.output_watch import TopicWatcher
from connectors.webhook_sink import WEBHOOK_GROUP
from tests.integration.legacy_writes import list_on_channel, new_item, set_dc_stock
from tests.partner_server import Partner

pytestmark = pytest.mark.integration


def quantities_sent(partner: Partner, inventory_item: str) -> list[int]:
    with partner.lock:
        bodies = [body for _, body in partner.requests]
    return [
        q["quantity"]
        for body in bodies
        for q in body["variables"]["input"]["quantities"]
        if q["inventoryItemId"] == f"gid://shopify/InventoryItem/{inventory_item}"
    ]


def test_a_dc_stock_change_reaches_the_shopify_partner_as_an_inventory_set_quantities_call(
    pipeline: Settings, partner: Partner
):
    sku, _ = new_item(pipeline)
    channel_sku = list_on_channel(pipeline, sku)
    set_dc_stock(pipeline, sku, 9)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and 9 not in quantities_sent(partner, channel_sku):
        time.sleep(0.2)
    assert quantities_sent(partner, channel_sku)[-1:] == [9]
    set_dc_stock(pipeline, sku, 4)
    while time.monotonic() < deadline and quantities_sent(partner, channel_sku)[-1:] != [4]:
        time.sleep(0.2)
    assert quantities_sent(partner, channel_sku)[-1:] == [4]
    with partner.lock:
        headers = [h for h, _ in partner.requests]
    assert all("Idempotency-Key" in h for h in headers)


def test_a_sku_shopify_refuses_with_a_user_error_is_dead_lettered_with_its_message_and_the_offsets_move_on(
    pipeline: Settings, partner: Partner
):
    refused_sku, _ = new_item(pipeline)
    refused = list_on_channel(pipeline, refused_sku)
    taken_sku, _ = new_item(pipeline)
    taken = list_on_channel(pipeline, taken_sku)
    message = "The specified inventory item could not be found."
    with partner.lock:
        partner.refuse[f"gid://shopify/InventoryItem/{refused}"] = message
    channel_topic = topics.channel_topic("SHOPIFY")
    dlq = TopicWatcher(pipeline.kafka, topics.DLQ)
    try:
        set_dc_stock(pipeline, refused_sku, 7)
        set_dc_stock(pipeline, taken_sku, 3)
        letter, _ = dlq.wait_for(
            lambda _, r: (
                r["reason"] == "webhook_failed"
                and f'"channel_sku":"{refused}"' in r["payload"]
                and '"available":7' in r["payload"]
            ),
            timeout_s=90,
        )
        assert letter["source_topic"] == channel_topic
        assert letter["error"] == f"rejected by partner: INVALID_INVENTORY_ITEM: {message}"
        assert 7 in quantities_sent(partner, refused)  # sent, and refused by the partner, not lost on the way

        # The feed commits past the dead-lettered record once its batch is settled (the consume loop commits
        # every 0.2 s; other records still open before it may hold the commit back a moment).
        deadline = time.monotonic() + 30
        committed = -1
        while time.monotonic() < deadline and committed <= letter["offset"]:
            positions = group_positions(pipeline.kafka, WEBHOOK_GROUP, (channel_topic,))
            committed = positions.get((channel_topic, letter["partition"]), -1)
            time.sleep(0.5)
        assert committed > letter["offset"]

        # The other SKU is delivered, not dead-lettered, whether or not it shared a request with the refused one.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and quantities_sent(partner, taken)[-1:] != [3]:
            time.sleep(0.2)
        assert quantities_sent(partner, taken)[-1:] == [3]
        letters = dlq.drain(quiet_s=2.0)
        assert not [r for _, r in letters if f'"channel_sku":"{taken}"' in r["payload"]]
    finally:
        dlq.close()
        with partner.lock:
            partner.refuse.clear()

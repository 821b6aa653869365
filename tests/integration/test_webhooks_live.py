"""Partner webhooks on the real stack: a stock change reaches the partner's inventory-update call."""

from __future__ import annotations

import time

import pytest

from atp.settings import Settings
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

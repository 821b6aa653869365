"""Each partner's body has the shape its platform documents for setting an absolute available quantity."""

from __future__ import annotations

from connectors.partner_payloads import MAX_BATCH, ChannelUpdate, amazon, ebay, magento, shopify

UPDATES = [
    ChannelUpdate("SHOPIFY", "43729076", "TEE-1", 12, "IN_STOCK", 3),
    ChannelUpdate("SHOPIFY", "gid://shopify/InventoryItem/99", "TEE-2", 0, "OUT_OF_STOCK", 8),
]


def test_shopify_inventory_set_quantities_sets_available_with_global_ids():
    body = shopify(UPDATES, {"location_id": "655441491"})
    assert "inventorySetQuantities(input: $input)" in body["query"]
    payload = body["variables"]["input"]
    assert (payload["name"], payload["ignoreCompareQuantity"]) == ("available", True)
    assert payload["quantities"] == [
        {"inventoryItemId": "gid://shopify/InventoryItem/43729076", "locationId": "gid://shopify/Location/655441491",
         "quantity": 12},
        {"inventoryItemId": "gid://shopify/InventoryItem/99", "locationId": "gid://shopify/Location/655441491",
         "quantity": 0},
    ]  # fmt: skip


def test_amazon_listings_feed_patches_fulfillment_availability():
    body = amazon(UPDATES, {"seller_id": "A1SELLER"})
    assert body["header"] == {"sellerId": "A1SELLER", "version": "2.0", "issueLocale": "en_US"}
    first = body["messages"][0]
    assert (first["messageId"], first["sku"], first["operationType"]) == (1, "43729076", "PATCH")
    assert first["patches"] == [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 12}],
        }
    ]


def test_ebay_bulk_update_price_quantity_sets_ship_to_location_availability_25_at_a_time():
    body = ebay(UPDATES, {})
    assert body == {
        "requests": [
            {"sku": "43729076", "shipToLocationAvailability": {"quantity": 12}},
            {"sku": "gid://shopify/InventoryItem/99", "shipToLocationAvailability": {"quantity": 0}},
        ]
    }
    assert MAX_BATCH["ebay"] == 25


def test_magento_source_items_carry_source_quantity_and_stock_status():
    body = magento(UPDATES, {"source_code": "eu-west"})
    assert body["sourceItems"][0] == {"sku": "43729076", "source_code": "eu-west", "quantity": 12, "status": 1}
    assert body["sourceItems"][1]["status"] == 0

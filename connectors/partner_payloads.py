"""Request bodies for partners' inventory-update calls, built from channel availability updates.

One function per platform, each producing the body its documentation describes
for setting an absolute available quantity (never a delta: a re-sent update
must set the same value, not subtract twice):

- ``shopify``: Admin GraphQL mutation ``inventorySetQuantities`` (name ``available``,
  ``ignoreCompareQuantity``: we send absolute values from the system of record);
- ``amazon``: ``JSON_LISTINGS_FEED`` messages that PATCH ``/attributes/fulfillment_availability``;
- ``ebay``: Inventory API ``bulk_update_price_quantity`` (at most 25 requests a call);
- ``magento``: ``POST /V1/inventory/source-items`` (Multi-Source Inventory source items).

Platform-specific identifiers that the ERP does not hold (Shopify's location id,
Amazon's seller id, Magento's source code) come from the webhook's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChannelUpdate:
    """The latest value of one channel SKU to push, and where it came from (for commits and dead letters)."""

    channel: str
    channel_sku: str
    sku: str
    available: int
    status: str
    version: int
    partition: int = 0
    offset: int = -1


Payload = dict[str, Any]
Shape = Callable[[Sequence[ChannelUpdate], Mapping[str, str]], Payload]

# How many updates one request may carry, per platform (eBay documents 25).
MAX_BATCH = {"shopify": 250, "amazon": 10_000, "ebay": 25, "magento": 1_000, "json": 1_000}

SHOPIFY_MUTATION = (
    "mutation SetAvailable($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) "
    "{ inventoryAdjustmentGroup { id } userErrors { code field message } } }"
)


def shopify(updates: Sequence[ChannelUpdate], options: Mapping[str, str]) -> Payload:
    """The channel SKU is the Shopify inventory item id (numeric, or already a ``gid://``)."""
    location = options.get("location_id", "")
    return {
        "query": SHOPIFY_MUTATION,
        "variables": {
            "input": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [
                    {
                        "inventoryItemId": _gid("InventoryItem", u.channel_sku),
                        "locationId": _gid("Location", location),
                        "quantity": u.available,
                    }
                    for u in updates
                ],
            }
        },
    }


def amazon(updates: Sequence[ChannelUpdate], options: Mapping[str, str]) -> Payload:
    return {
        "header": {"sellerId": options.get("seller_id", ""), "version": "2.0", "issueLocale": "en_US"},
        "messages": [
            {
                "messageId": n,
                "sku": u.channel_sku,
                "operationType": "PATCH",
                "productType": options.get("product_type", "PRODUCT"),
                "patches": [
                    {
                        "op": "replace",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": u.available}],
                    }
                ],
            }
            for n, u in enumerate(updates, start=1)
        ],
    }


def ebay(updates: Sequence[ChannelUpdate], options: Mapping[str, str]) -> Payload:
    return {
        "requests": [{"sku": u.channel_sku, "shipToLocationAvailability": {"quantity": u.available}} for u in updates]
    }


def magento(updates: Sequence[ChannelUpdate], options: Mapping[str, str]) -> Payload:
    source = options.get("source_code", "default")
    return {
        "sourceItems": [
            {
                "sku": u.channel_sku,
                "source_code": source,
                "quantity": u.available,
                "status": 1 if u.available > 0 else 0,
            }
            for u in updates
        ]
    }


def plain_json(updates: Sequence[ChannelUpdate], options: Mapping[str, str]) -> Payload:
    """Our own shape, for partners that take the contract as it is."""
    return {
        "updates": [
            {
                "channel": u.channel,
                "channel_sku": u.channel_sku,
                "sku": u.sku,
                "available": u.available,
                "status": u.status,
                "version": u.version,
            }
            for u in updates
        ]
    }


SHAPES: dict[str, Shape] = {"shopify": shopify, "amazon": amazon, "ebay": ebay, "magento": magento, "json": plain_json}


def _gid(kind: str, value: str) -> str:
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"

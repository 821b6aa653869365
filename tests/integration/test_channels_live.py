"""Channel feeds on the real stack: what a channel may sell moves live with stock and listings."""

from __future__ import annotations

import time

import pytest

from atp import analyst
from atp.settings import Settings
from connectors.legacy_db import erp_connection
from connectors.output_watch import TopicWatcher
from tests.integration.legacy_writes import DC, list_on_channel, new_item, put_on_shelf, set_dc_stock

pytestmark = pytest.mark.integration


def stores_by_ship_from(settings: Settings) -> tuple[str, str]:
    """(a store that ships online orders, a store that does not), from the ERP."""
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute("SELECT TRIM(LOC_CD), SHIP_FROM_FLG FROM LOCATION WHERE LOC_TYPE = 'S' ORDER BY LOC_CD")
        rows = cur.fetchall()
    ships = next(str(loc) for loc, flag in rows if flag == "Y")
    shop_only = next(str(loc) for loc, flag in rows if flag == "N")
    return ships, shop_only


def test_a_stock_change_at_a_ship_from_store_moves_the_online_channel_and_at_a_shop_only_store_does_not(
    pipeline: Settings, shopify: TopicWatcher
):
    ships, shop_only = stores_by_ship_from(pipeline)
    sku, upc = new_item(pipeline)
    channel_sku = list_on_channel(pipeline, sku)
    set_dc_stock(pipeline, sku, 10)
    shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 10, 90)

    put_on_shelf(pipeline, shop_only, upc, 7)  # counts for the store, not for Shopify
    put_on_shelf(pipeline, ships, upc, 5)  # 5 on the shelf, 1 kept back by the store default: 4 for Shopify
    record, _ = shopify.wait_for(lambda k, r: k == channel_sku and r["available"] != 10, 90)
    assert (record["sku"], record["available"], record["status"]) == (sku, 14, "IN_STOCK")
    assert record["promise_date"] is not None
    later = [r for k, r in shopify.drain(quiet_s=2.0) if k == channel_sku]
    assert all(r["available"] == 14 for r in later[later.index(record) :])

    # Analysts and channels see the same in ClickHouse.
    deadline = time.monotonic() + 30
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline and not (rows and int(str(rows[0]["version"])) >= record["version"]):
        rows = analyst.run_query(
            pipeline.store,
            "SELECT sku, available, buffer, status, version FROM atp.channel_availability FINAL "
            "WHERE channel = 'SHOPIFY' AND channel_sku = {channel_sku:String}",
            {"channel_sku": channel_sku},
        )
        time.sleep(0.3)
    assert rows and (rows[0]["sku"], int(str(rows[0]["available"])), int(str(rows[0]["buffer"]))) == (sku, 14, 0)


def test_a_remapped_listing_moves_to_its_new_item_live(pipeline: Settings, shopify: TopicWatcher):
    first, _ = new_item(pipeline)
    second, _ = new_item(pipeline)
    set_dc_stock(pipeline, first, 10)
    set_dc_stock(pipeline, second, 3)
    channel_sku = list_on_channel(pipeline, first)
    before, _ = shopify.wait_for(lambda k, r: k == channel_sku and r["available"] == 10, 90)

    with erp_connection(pipeline.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "UPDATE CHANNEL_LISTING SET ITEM_NO = %s WHERE CHANNEL_CD = 'SHOPIFY' AND CHANNEL_SKU = %s",
            (second, channel_sku),
        )
        erp.commit()
    moved, _ = shopify.wait_for(lambda k, r: k == channel_sku and r["sku"] == second, 90)
    assert (moved["available"], moved["version"]) == (3, before["version"] + 1)
    assert DC  # the DC is where both items are stocked

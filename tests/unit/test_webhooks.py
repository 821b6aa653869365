"""Partner webhooks against real local HTTP servers: coalescing, throttling, 429, 5xx, timeouts, a dead partner,
and answers read per update (Shopify's userErrors and throttling in a 200, eBay's per-SKU statuses in a 207)."""

from __future__ import annotations

import random
import socket
import threading
import time

import orjson

from connectors.partner_payloads import ChannelUpdate
from connectors.partner_responses import retry_after_s
from connectors.webhook_delivery import PartnerFeed, TokenBucket, WebhookConfig, backoff_s
from tests.partner_server import Partner, Reply, partner_server


def update(sku: int, version: int, available: int | None = None) -> ChannelUpdate:
    return ChannelUpdate("SHOPIFY", f"sku-{sku}", f"TEE-{sku}", version if available is None else available,
                         "IN_STOCK", version, partition=0, offset=version)  # fmt: skip


def feed_for(url: str, **overrides) -> tuple[PartnerFeed, list[tuple[ChannelUpdate, str]], list[ChannelUpdate]]:
    fast = {"rate_per_s": 1000, "burst": 100, "timeout_s": 0.5, "max_attempts": 4, "backoff_base_s": 0.05,
            "backoff_max_s": 0.2}  # fmt: skip
    config = WebhookConfig("SHOPIFY", url, **({"shape": "json"} | fast | overrides))
    letters: list[tuple[ChannelUpdate, str]] = []
    settled: list[ChannelUpdate] = []
    return (
        PartnerFeed(config, lambda u, r: letters.append((u, r)), settled.extend, rng=random.Random(7)),
        letters,
        settled,
    )


def test_a_partner_answering_429_is_retried_after_its_retry_after():
    partner = Partner([Reply(429, retry_after="1")])
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url)
        feed.offer(update(1, 1))
        started = time.monotonic()
        feed.drain()
    assert time.monotonic() - started >= 1.0
    assert (feed.stats.requests, feed.stats.delivered, letters) == (2, 1, [])


def test_a_partner_failing_twice_with_503_gets_the_update_on_the_third_try_with_the_same_idempotency_key():
    partner = Partner([Reply(503), Reply(503)])
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url)
        feed.offer(update(1, 1))
        feed.drain()
    keys = {headers["Idempotency-Key"] for headers, _ in partner.requests}
    assert (len(partner.requests), len(keys), feed.stats.delivered, letters) == (3, 1, 1, [])


def test_a_partner_that_hangs_past_the_timeout_is_retried():
    partner = Partner([Reply(200, delay_s=1.5)])
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url)
        feed.offer(update(1, 1))
        feed.drain()
    assert (feed.stats.requests, feed.stats.delivered, letters) == (2, 1, [])


def test_a_partner_that_is_down_gets_nothing_and_the_update_is_dead_lettered_after_the_last_retry():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    feed, letters, settled = feed_for(f"http://127.0.0.1:{port}/inventory")
    feed.offer(update(1, 1))
    feed.drain()
    assert feed.stats.requests == 4 and feed.stats.dead_lettered == 1
    [(letter, reason)] = letters
    assert letter.channel_sku == "sku-1" and reason.startswith("gave up after 4 attempt(s)")
    assert settled == [letter]


def test_a_partner_refusing_the_data_is_not_retried():
    partner = Partner([Reply(422)])
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url)
        feed.offer(update(1, 1))
        feed.drain()
    assert feed.stats.requests == 1 and letters[0][1] == "rejected by partner: HTTP 422"


NOT_FOUND = "The specified inventory item could not be found."


def test_a_shopify_200_with_a_user_error_dead_letters_that_sku_with_its_message_and_delivers_the_others():
    partner = Partner(refuse={"gid://shopify/InventoryItem/sku-2": NOT_FOUND})
    batches: list[list[ChannelUpdate]] = []
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url, shape="shopify", options={"location_id": "7001"})
        feed.settled = batches.append
        for sku in (1, 2, 3):
            feed.offer(update(sku, sku))
        feed.drain()
    assert letters == [(update(2, 2), f"rejected by partner: INVALID_INVENTORY_ITEM: {NOT_FOUND}")]
    assert (feed.stats.delivered, feed.stats.dead_lettered) == (2, 1)
    # Nothing was applied by the first request; the second carries the other two, and the partner takes them.
    sent = [[q["inventoryItemId"] for q in body["variables"]["input"]["quantities"]] for _, body in partner.requests]
    assert sent == [[f"gid://shopify/InventoryItem/sku-{n}" for n in (1, 2, 3)],
                    [f"gid://shopify/InventoryItem/sku-{n}" for n in (1, 3)]]  # fmt: skip
    assert [sorted(u.version for u in batch) for batch in batches] == [[1, 2, 3]]  # settled once, all together


def test_shopify_throttling_in_a_200_is_retried_after_the_wait_its_cost_says():
    throttled = orjson.dumps({
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 52, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 2,
                                                   "restoreRate": 100}}},
    })  # fmt: skip
    partner = Partner([Reply(200, body=throttled)])
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url, shape="shopify", backoff_base_s=0.0)
        feed.offer(update(1, 1))
        started = time.monotonic()
        feed.drain()
    assert time.monotonic() - started >= 0.5  # (52 - 2) points at 100 a second
    assert (feed.stats.requests, feed.stats.delivered, letters) == (2, 1, [])


def test_an_ebay_207_sends_again_only_the_sku_that_failed_and_dead_letters_the_one_refused():
    mixed = orjson.dumps({"responses": [
        {"statusCode": 200, "sku": "sku-1", "offerId": "5001"},
        {"statusCode": 400, "sku": "sku-2", "errors": [{"errorId": 25604, "message": "Input error. Quantity is "
                                                        "invalid."}]},
        {"statusCode": 500, "sku": "sku-3", "errors": [{"errorId": 25001, "message": "A system error has occurred."}]},
    ]})  # fmt: skip
    partner = Partner([Reply(207, body=mixed)])
    with partner_server(partner) as url:
        feed, letters, settled = feed_for(url, shape="ebay")
        for sku in (1, 2, 3):
            feed.offer(update(sku, sku))
        feed.drain()
    assert [[r["sku"] for r in body["requests"]] for _, body in partner.requests] == [["sku-1", "sku-2", "sku-3"],
                                                                                      ["sku-3"]]  # fmt: skip
    assert letters == [(update(2, 2), "rejected by partner: 400 25604: Input error. Quantity is invalid.")]
    assert (feed.stats.delivered, sorted(u.version for u in settled)) == (2, [1, 2, 3])


def test_a_sku_the_partner_keeps_failing_is_dead_lettered_with_its_reason_when_the_retries_run_out():
    failing = orjson.dumps({"responses": [{"statusCode": 500, "sku": "sku-1", "errors": [
        {"errorId": 25001, "message": "A system error has occurred."}]}]})  # fmt: skip
    partner = Partner([Reply(200, body=failing)] * 4)
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url, shape="ebay")
        feed.offer(update(1, 1))
        feed.drain()
    assert letters == [(update(1, 1), "gave up after 4 attempt(s): 500 25001: A system error has occurred.")]


def test_a_shopify_answer_too_large_to_read_is_retried_not_taken_for_delivered():
    partner = Partner([Reply(200, body=b'{"data": "' + b"x" * (2 << 20) + b'"}')])
    with partner_server(partner) as url:
        feed, letters, _ = feed_for(url, shape="shopify")
        feed.offer(update(1, 1))
        feed.drain()
    assert (feed.stats.requests, feed.stats.delivered, letters) == (2, 1, [])


def test_only_the_latest_version_of_a_sku_waits_and_older_ones_are_dropped():
    partner = Partner()
    with partner_server(partner) as url:
        feed, _, settled = feed_for(url)
        for version in (1, 3, 2, 3):
            feed.offer(update(1, version))
        feed.drain()
        feed.offer(update(1, 2))  # a re-sent older record after a restart
    [(_, body)] = partner.requests
    assert [u["version"] for u in body["updates"]] == [3]
    assert sorted(u.version for u in settled) == [1, 2, 2, 3, 3]  # every offer settled exactly once


def test_a_spike_of_10000_updates_on_100_skus_reaches_the_partner_as_a_few_hundred_requests_with_every_final_value():
    partner = Partner()
    offered: dict[str, int] = {}
    with partner_server(partner) as url:
        feed, letters, settled = feed_for(url, rate_per_s=50, burst=5, batch_size=100)
        stop = threading.Event()
        sender = threading.Thread(target=feed.run, args=(stop,))
        sender.start()
        rng = random.Random(1)
        for version in range(1, 10_001):  # 20 bursts of 500 updates, 0.1 s apart: a spike lasting 2 s
            sku = rng.randrange(100)
            feed.offer(update(sku, version, available=rng.randrange(0, 500)))
            offered[f"sku-{sku}"] = version
            if version % 500 == 0:
                time.sleep(0.1)
        deadline = time.monotonic() + 30
        while feed.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        sender.join()
        feed.drain()
    final: dict[str, int] = {}
    for _, body in partner.requests:
        for u in body["updates"]:
            final[u["channel_sku"]] = max(final.get(u["channel_sku"], 0), u["version"])
    print(f"spike: 10000 updates in, {len(partner.requests)} requests out, {feed.stats.delivered} values delivered")
    assert len(partner.requests) <= 300
    assert final == offered  # the latest version of every SKU reached the partner
    assert letters == [] and len(settled) == 10_000  # nothing lost: every update delivered or superseded


def test_the_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate_per_s=10, burst=2, clock=lambda: now[0])
    assert [bucket.wait_s(), bucket.wait_s()] == [0.0, 0.0]
    assert abs(bucket.wait_s() - 0.1) < 1e-9


def test_backoff_grows_exponentially_with_jitter_and_retry_after_reads_seconds_or_a_date():
    rng = random.Random(3)
    assert all(0 <= backoff_s(n, 0.5, 30, rng) <= min(30, 0.5 * 2 ** (n - 1)) for n in range(1, 10))
    assert retry_after_s("7") == 7.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_s("soon") is None

"""Partner webhooks against real local HTTP servers: coalescing, throttling, 429, 5xx, timeouts, a dead partner."""

from __future__ import annotations

import random
import socket
import threading
import time

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
    config = WebhookConfig("SHOPIFY", url, shape="json", **(fast | overrides))
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

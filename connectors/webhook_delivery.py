"""Pushing channel availability to a partner's HTTP endpoint without ever stalling the pipeline.

One :class:`PartnerFeed` per partner endpoint, fed by a consumer of the channel
topics (never by the dataflow itself, so a slow partner slows nobody else):

- **coalescing**: updates wait in a map keyed by channel SKU; a newer version
  replaces an older one, so during a spike only the latest value of each SKU is
  sent, and an update older than one already delivered is dropped;
- **throttling**: a token bucket per endpoint (``rate_per_s``, ``burst``), and
  batches of up to ``batch_size`` updates per request (capped by the platform);
- **reading the answer**: a 2xx is not taken on trust; the platform's reader
  (:mod:`connectors.partner_responses`) says per update whether the partner took
  it, wants it again, or refused it (Shopify's ``userErrors``, eBay's per-SKU
  ``statusCode``); only the updates not yet settled are sent again;
- **retries**: 429 and throttling wait for ``Retry-After`` or the partner's own
  hint (or back off); 5xx, timeouts and refused connections back off
  exponentially with full jitter; other 4xx and per-item refusals are the
  partner refusing the data and are not retried;
- **idempotency**: every request carries an ``Idempotency-Key`` derived from
  its content, so a retried request is recognisably the same request;
- **nothing lost**: an update the partner refused, or still failing after the
  last attempt, is handed to ``dead_letter`` with the partner's reason; every
  offered update ends delivered, superseded or dead-lettered, and ``settled`` is
  told so once per batch (the consumer commits offsets then).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from atp.metrics import WEBHOOK_DELIVERIES, WEBHOOK_REJECTIONS, WEBHOOK_RETRIES
from connectors import partner_responses
from connectors.partner_payloads import MAX_BATCH, SHAPES, ChannelUpdate
from connectors.partner_responses import DELIVERED, MAX_RESPONSE_BYTES, REJECTED, Reading

log = logging.getLogger("atp.webhooks")


@dataclass(frozen=True)
class WebhookConfig:
    """One partner endpoint (from ``ATP_WEBHOOKS``)."""

    channel: str
    url: str
    shape: str = "json"
    auth_header: str = ""  # e.g. "Authorization" or "X-Shopify-Access-Token"
    auth_value: str = field(default="", repr=False)  # read from a secret file, never logged
    rate_per_s: float = 5.0
    burst: int = 5
    batch_size: int = 100
    timeout_s: float = 5.0
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def batch_limit(self) -> int:
        return max(1, min(self.batch_size, MAX_BATCH.get(self.shape, self.batch_size)))


class TokenBucket:
    """``rate_per_s`` requests a second on average, up to ``burst`` at once."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self.clock = rate_per_s, float(max(1, burst)), clock
        self.tokens, self.updated = self.capacity, clock()

    def wait_s(self) -> float:
        """Take a token; returns how long to wait before using it (0 if one was there)."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


def backoff_s(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base x 2^(attempt-1))]."""
    return rng.uniform(0, min(max_s, base_s * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class Response:
    status: int  # 0: no HTTP response (timeout, refused connection, an answer cut off)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""  # at most MAX_RESPONSE_BYTES + 1: enough for the reader to see it was too long
    error: str = ""


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Response:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:  # noqa: S310 - the URL is configuration
            return Response(reply.status, dict(reply.headers), reply.read(MAX_RESPONSE_BYTES + 1))
    except urllib.error.HTTPError as exc:
        return Response(exc.code, dict(exc.headers or {}), _read_refusal(exc), f"HTTP {exc.code}")
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
        return Response(0, error=f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")


def _read_refusal(exc: urllib.error.HTTPError) -> bytes:
    """The body of a non-2xx answer, for the partner's reason; none if it cannot be read."""
    try:
        return exc.read(MAX_RESPONSE_BYTES + 1)
    except (http.client.HTTPException, TimeoutError, OSError):
        return b""


@dataclass
class FeedStats:
    offered: int = 0
    superseded: int = 0
    requests: int = 0
    delivered: int = 0
    dead_lettered: int = 0


class PartnerFeed:
    """Coalesce, throttle, send and retry the channel updates of one partner endpoint."""

    def __init__(
        self,
        config: WebhookConfig,
        dead_letter: Callable[[ChannelUpdate, str], None],
        settled: Callable[[list[ChannelUpdate]], None] = lambda _: None,
        post: Callable[[str, bytes, Mapping[str, str], float], Response] = http_post,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.dead_letter, self.settled, self.post = dead_letter, settled, post
        self.rng = rng or random.Random()
        self.bucket = TokenBucket(config.rate_per_s, config.burst)
        self.shape = SHAPES[config.shape]
        self.read = partner_responses.READERS[config.shape]
        self.stats = FeedStats()
        self._pending: dict[str, ChannelUpdate] = {}
        self._covers: dict[str, list[ChannelUpdate]] = {}  # superseded updates settled with the one that replaced them
        self._delivered_version: dict[str, int] = {}
        self._changed = threading.Condition()

    def offer(self, update: ChannelUpdate) -> None:
        """Queue ``update``; an older or equal version of a pending or delivered one is settled at once."""
        with self._changed:
            self.stats.offered += 1
            pending = self._pending.get(update.channel_sku)
            newest = max(self._delivered_version.get(update.channel_sku, 0), pending.version if pending else 0)
            if update.version <= newest:
                self.stats.superseded += 1
                self._cover(update.channel_sku, update, pending is None)
                return
            if pending is not None:
                self.stats.superseded += 1
                self._covers.setdefault(update.channel_sku, []).append(pending)
            self._pending[update.channel_sku] = update
            self._changed.notify()

    def _cover(self, channel_sku: str, update: ChannelUpdate, settle_now: bool) -> None:
        if settle_now:
            self.settled([update])
        else:
            self._covers.setdefault(channel_sku, []).append(update)

    def pending_count(self) -> int:
        with self._changed:
            return len(self._pending)

    def run(self, stop: threading.Event) -> None:
        """Send until ``stop`` is set; a batch being retried when it is set is dead-lettered, not dropped."""
        while not stop.is_set():
            batch = self._take_batch(wait_s=0.1)
            if batch:
                self.deliver(batch, stop)

    def drain(self, stop: threading.Event | None = None) -> None:
        """Send everything pending now (tests, shutdown)."""
        stop = stop or threading.Event()
        while batch := self._take_batch(wait_s=0):
            self.deliver(batch, stop)

    def _take_batch(self, wait_s: float) -> list[ChannelUpdate]:
        with self._changed:
            if not self._pending and wait_s > 0:
                self._changed.wait(wait_s)
            keys = list(self._pending)[: self.config.batch_limit]
            return [self._pending.pop(k) for k in keys]

    def deliver(self, batch: list[ChannelUpdate], stop: threading.Event) -> None:
        """Send ``batch`` until the partner has taken or refused every update, or the retry budget is spent.

        After each answer, the updates the partner took are done, the ones it refused for good are done (to be
        dead-lettered), and only the rest is sent again: after a backoff when the partner failed or throttled
        (one attempt of the budget), at once when it applied nothing because it refused another update (the
        request is smaller each time, so this ends). The whole batch is settled once, at the end.
        """
        outstanding = list(batch)
        delivered: list[ChannelUpdate] = []
        refused: list[tuple[ChannelUpdate, str]] = []
        failures, last_error = 0, ""
        while outstanding:
            wait = self.bucket.wait_s()
            if wait and stop.wait(wait):
                break
            reading = self._send(outstanding)
            again: list[ChannelUpdate] = []
            for update, outcome in zip(outstanding, reading.outcomes, strict=True):
                if outcome.kind == DELIVERED:
                    delivered.append(update)
                    continue
                WEBHOOK_REJECTIONS.labels(self.config.channel, outcome.reason_class).inc()
                if outcome.kind == REJECTED:
                    refused.append((update, f"rejected by partner: {outcome.reason}"))
                else:
                    again.append(update)
            transient = [o for o in reading.outcomes if o.transient]
            outstanding = again
            if not transient:
                continue  # nothing failed: what is left was not applied because of an update now refused
            failures += 1
            last_error = transient[0].reason
            if failures >= max(1, self.config.max_attempts):
                break
            backoff = backoff_s(failures, self.config.backoff_base_s, self.config.backoff_max_s, self.rng)
            delay = reading.wait_s or backoff
            WEBHOOK_RETRIES.labels(self.config.channel, transient[0].reason_class).inc()
            log.warning(
                "%s: %s; retry %d in %.1fs",
                self.config.channel,
                last_error,
                failures,
                delay,
                extra={"channel": self.config.channel},
            )
            if stop.wait(delay):
                break
        given_up = f"gave up after {failures} attempt(s): {last_error}" if failures else "stopped before it was sent"
        self._settle(delivered, refused + [(update, given_up) for update in outstanding])

    def _send(self, updates: list[ChannelUpdate]) -> Reading:
        """One request for ``updates``, and what the partner's answer says of each."""
        body = orjson.dumps(self.shape(updates, self.config.options))
        headers = {
            "Content-Type": "application/json",
            # Derived from the content: a request sent again is recognisably the same request.
            "Idempotency-Key": hashlib.sha256(self.config.url.encode() + body).hexdigest()[:32],
        }
        if self.config.auth_header:
            headers[self.config.auth_header] = self.config.auth_value
        self.stats.requests += 1
        reply = self.post(self.config.url, body, headers, self.config.timeout_s)
        if reply.status == 0:
            return partner_responses.unreachable(reply.error, updates)
        return self.read(reply.status, reply.headers, reply.body, updates)

    def _settle(self, delivered: list[ChannelUpdate], dead: list[tuple[ChannelUpdate, str]]) -> None:
        """Record a batch's end: dead letters are handed over first, then ``settled`` hears of every update
        (and of the superseded ones each covers) at once, so offsets move only when the whole batch is done."""
        done: list[ChannelUpdate] = []
        with self._changed:
            for update in delivered:
                known = self._delivered_version.get(update.channel_sku, 0)
                self._delivered_version[update.channel_sku] = max(known, update.version)
            self.stats.delivered += len(delivered)
            self.stats.dead_lettered += len(dead)
            for update in [*delivered, *(update for update, _ in dead)]:
                covered = self._covers.pop(update.channel_sku, []) if update.channel_sku not in self._pending else []
                done += [update, *covered]
        if delivered:
            WEBHOOK_DELIVERIES.labels(self.config.channel, "delivered").inc(len(delivered))
        if dead:
            WEBHOOK_DELIVERIES.labels(self.config.channel, "dead_lettered").inc(len(dead))
        for update, reason in dead:
            self.dead_letter(update, reason)
        self.settled(done)

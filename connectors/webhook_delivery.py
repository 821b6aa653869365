"""Pushing channel availability to a partner's HTTP endpoint without ever stalling the pipeline.

One :class:`PartnerFeed` per partner endpoint, fed by a consumer of the channel
topics (never by the dataflow itself, so a slow partner slows nobody else):

- **coalescing**: updates wait in a map keyed by channel SKU; a newer version
  replaces an older one, so during a spike only the latest value of each SKU is
  sent, and an update older than one already delivered is dropped;
- **throttling**: a token bucket per endpoint (``rate_per_s``, ``burst``), and
  batches of up to ``batch_size`` updates per request (capped by the platform);
- **retries**: 429 waits for ``Retry-After`` (or backs off); 5xx, timeouts and
  refused connections back off exponentially with full jitter; other 4xx are the
  partner refusing the data and are not retried;
- **idempotency**: every request carries an ``Idempotency-Key`` derived from
  its content, so a retried request is recognisably the same request;
- **nothing lost**: after the last attempt an update is handed to ``dead_letter``
  with the reason; every offered update ends delivered, superseded or
  dead-lettered, and ``settled`` is told so (the consumer commits offsets then).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from atp.metrics import WEBHOOK_DELIVERIES, WEBHOOK_RETRIES
from connectors.partner_payloads import MAX_BATCH, SHAPES, ChannelUpdate

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


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def retry_reason(status: int) -> str:
    """Why a request is tried again: the partner throttled us, failed, or could not be reached."""
    if status == 429:
        return "throttled"
    return "unreachable" if status in (0, 408) else "server_error"


@dataclass(frozen=True, slots=True)
class Response:
    status: int  # 0: no HTTP response (timeout, refused connection)
    retry_after: str | None = None
    error: str = ""


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Response:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:  # noqa: S310 - the URL is configuration
            return Response(reply.status)
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.headers.get("Retry-After"), f"HTTP {exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return Response(0, None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")


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
        body = orjson.dumps(self.shape(batch, self.config.options))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": hashlib.sha256(self.config.url.encode() + body).hexdigest()[:32],
        }
        if self.config.auth_header:
            headers[self.config.auth_header] = self.config.auth_value
        last_error, attempt = "", 0
        for attempt in range(1, max(1, self.config.max_attempts) + 1):
            wait = self.bucket.wait_s()
            if wait and stop.wait(wait):
                break
            self.stats.requests += 1
            reply = self.post(self.config.url, body, headers, self.config.timeout_s)
            if 200 <= reply.status < 300:
                self._settle(batch, delivered=True)
                return
            last_error = reply.error or f"HTTP {reply.status}"
            if 400 <= reply.status < 500 and reply.status not in (408, 429):
                self._settle(batch, delivered=False, reason=f"rejected by partner: {last_error}")
                return
            if attempt == self.config.max_attempts:
                break
            delay = backoff_s(attempt, self.config.backoff_base_s, self.config.backoff_max_s, self.rng)
            if reply.status == 429:
                delay = retry_after_s(reply.retry_after) or delay
            WEBHOOK_RETRIES.labels(self.config.channel, retry_reason(reply.status)).inc()
            log.warning(
                "%s: %s; retry %d in %.1fs",
                self.config.channel,
                last_error,
                attempt,
                delay,
                extra={"channel": self.config.channel},
            )
            if stop.wait(delay):
                break
        self._settle(batch, delivered=False, reason=f"gave up after {attempt} attempt(s): {last_error}")

    def _settle(self, batch: list[ChannelUpdate], delivered: bool, reason: str = "") -> None:
        done: list[ChannelUpdate] = []
        with self._changed:
            for update in batch:
                if delivered:
                    self.stats.delivered += 1
                    known = self._delivered_version.get(update.channel_sku, 0)
                    self._delivered_version[update.channel_sku] = max(known, update.version)
                else:
                    self.stats.dead_lettered += 1
                covered = self._covers.pop(update.channel_sku, []) if update.channel_sku not in self._pending else []
                done += [update, *covered]
        WEBHOOK_DELIVERIES.labels(self.config.channel, "delivered" if delivered else "dead_lettered").inc(len(batch))
        if not delivered:
            for update in batch:
                self.dead_letter(update, reason)
        self.settled(done)

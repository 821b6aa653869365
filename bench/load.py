"""The load driver: real changes in the real ERP and POS, and cart holds on Kafka, at a fixed rate.

Each write keeps the wall-clock time (epoch ms) right after its COMMIT returned (for a cart hold: when
Kafka acknowledged it), as ``atp.demo.live`` does: MariaDB's binlog ``source.ts_ms`` has whole seconds
only, so latency is measured from the client's commit. DC and store stock writes set the on-hand to a
value no other write uses (a marker), so the output record that reflects exactly that write can be found.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import KafkaError, Message, Producer

from atp.demo.live import pos_sale
from atp.settings import Settings
from bench.shapes import reservation_message
from bench.traffic import Assortment, Mix
from connectors.kafka_config import client_config
from connectors.legacy_db import erp_connection, pos_connection

Kind = Literal["dc_stock", "store_stock", "till_sale", "cart_hold"]
MARKER_BASE = 100_000  # markers are far above any seeded on-hand, so the figure always moves
SHOPIFY = "SHOPIFY"
DEFAULT_MIX = Mix()


@dataclass(frozen=True)
class Change:
    kind: Kind
    sku: str
    location: str
    marker: int | None  # the on-hand this write sets (stock writes only)


@dataclass(frozen=True)
class Write:
    change: Change
    committed_ms: int

    @property
    def availability_key(self) -> str:
        return f"{self.change.sku}@{self.change.location}"


@dataclass(frozen=True)
class LoadPlan:
    changes: list[Change]
    rate_per_s: float | None  # None: as fast as the writers go
    writers: int


def plan(
    shop: Assortment, count: int, rate_per_s: float | None, writers: int, mix: Mix = DEFAULT_MIX, seed: int = 5
) -> LoadPlan:
    """``count`` changes over the hot SKUs; a run-unique marker per stock write."""
    rng = random.Random(seed)
    base = MARKER_BASE + (time.time_ns() // 1_000_000) % 1_000_000 * 10
    kinds: tuple[Kind, ...] = ("dc_stock", "store_stock", "till_sale", "cart_hold")
    weights = (mix.dc_stock, mix.store_stock, mix.till_sale, mix.cart_hold)
    changes = []
    for n in range(count):
        kind = rng.choices(kinds, weights)[0]
        sku = rng.choice(shop.hot)
        if kind in ("dc_stock", "cart_hold"):
            changes.append(Change(kind, sku, rng.choice(shop.dcs), base + n if kind == "dc_stock" else None))
        else:
            changes.append(Change(kind, sku, rng.choice(shop.stores), base + n if kind == "store_stock" else None))
    return LoadPlan(changes, rate_per_s, writers)


def warm_up(shop: Assortment, writers: int) -> LoadPlan:
    """Set every hot DC and store balance once (not measured): later writes then always move a figure."""
    base = MARKER_BASE // 2
    changes = [
        Change("dc_stock", sku, dc, base + n) for n, (sku, dc) in enumerate((s, d) for s in shop.hot for d in shop.dcs)
    ]
    offset = len(changes)
    changes += [
        Change("store_stock", sku, store, base + offset + n)
        for n, (sku, store) in enumerate((s, t) for s in shop.hot for t in shop.stores)
    ]
    return LoadPlan(changes, None, writers)


class _Writer:
    """One till or back-office terminal: its own ERP and POS connections."""

    def __init__(self, settings: Settings, shop: Assortment, holds: _HoldSender) -> None:
        self.erp: Any = erp_connection(settings.stack)
        self.pos = pos_connection(settings.stack)
        self.shop = shop
        self.holds = holds

    def write(self, change: Change) -> int | None:
        if change.kind == "dc_stock":
            with self.erp.cursor() as cur:
                cur.execute(
                    "UPDATE STOCK_BAL SET QTY_OH = %s, UPD_TS = NOW(3) WHERE ITEM_NO = %s AND LOC_CD = %s",
                    (change.marker, change.sku, change.location),
                )
            self.erp.commit()
            return time.time_ns() // 1_000_000
        if change.kind == "store_stock":
            with self.pos.cursor() as cur:
                cur.execute(
                    "INSERT INTO store_stock AS s (store_id, upc, on_hand, updated_at) "
                    "VALUES (%s, %s, %s, localtimestamp) ON CONFLICT (store_id, upc) DO UPDATE "
                    "SET on_hand = EXCLUDED.on_hand, updated_at = EXCLUDED.updated_at",
                    (change.location, self.shop.upc_of[change.sku], change.marker),
                )
            self.pos.commit()
            return time.time_ns() // 1_000_000
        if change.kind == "till_sale":
            return pos_sale(self.pos, change.location, self.shop.upc_of[change.sku], 1)
        self.holds.send(change)
        return None  # known when Kafka acknowledges it

    def close(self) -> None:
        self.erp.close()
        self.pos.close()


class _HoldSender:
    """Cart holds on ``orders.reservations``; the commit time is when Kafka acknowledged each one."""

    def __init__(self, settings: Settings) -> None:
        self.producer = Producer(client_config(settings.kafka) | {"enable.idempotence": True, "linger.ms": 0})
        self.acknowledged: list[Write] = []
        self.failed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="bench-holds", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.001)

    def send(self, change: Change) -> None:
        now = dt.datetime.now(dt.UTC)
        cart = f"bench-{time.time_ns()}-{random.randrange(10**6)}"
        message = reservation_message(cart, SHOPIFY, change.sku.lower(), change.location, 1, "HOLD", now)

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            with self._lock:
                if err is None:
                    self.acknowledged.append(Write(change, time.time_ns() // 1_000_000))
                else:
                    self.failed += 1

        with self._lock:
            self.producer.produce(message.topic, key=message.key, value=message.value, on_delivery=delivered)

    def close(self) -> None:
        self.producer.flush(30)
        self._stop.set()
        self._poller.join(5)


@dataclass(frozen=True)
class LoadResult:
    writes: list[Write]
    seconds: float  # first write started to last write committed
    failed: int

    @property
    def achieved_rate(self) -> float:
        return len(self.writes) / self.seconds if self.seconds > 0 else 0.0


def drive(settings: Settings, shop: Assortment, load: LoadPlan) -> LoadResult:
    """Carry out ``load``: change n is due at start + n / rate; a writer that falls behind goes as fast as it can."""
    holds = _HoldSender(settings)
    writers = [_Writer(settings, shop, holds) for _ in range(load.writers)]
    writes: list[Write] = []
    failures = [0]
    lock = threading.Lock()
    next_change = iter(range(len(load.changes)))
    start = time.monotonic()

    def work(writer: _Writer) -> None:
        while True:
            with lock:
                n = next(next_change, None)
            if n is None:
                return
            if load.rate_per_s:
                delay = start + n / load.rate_per_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            change = load.changes[n]
            try:
                committed = writer.write(change)
            except Exception:  # a failed write is counted, not measured
                with lock:
                    failures[0] += 1
                continue
            if committed is not None:
                with lock:
                    writes.append(Write(change, committed))

    threads = [threading.Thread(target=work, args=(w,), name=f"bench-writer-{i}") for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    holds.close()
    seconds = time.monotonic() - start
    for writer in writers:
        writer.close()
    return LoadResult(writes + holds.acknowledged, seconds, failures[0] + holds.failed)

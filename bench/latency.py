"""Figure a: source commit -> ``atp.availability`` and -> ``atp.channel.shopify`` record, and the whole path.

The flow runs on the bench stack with Debezium capturing the seeded ERP and POS. Its state is first
loaded from a Debezium-shaped snapshot of the same seeded retailer (positions older than any real change),
so a run does not depend on Debezium's one-off initial snapshot; every measured change is a real write in
MariaDB or PostgreSQL (captured by Debezium) or a real cart hold on Kafka.

Matching: a DC or store stock write sets a unique on-hand (a marker), matched to the first
``atp.availability`` record of its key carrying that on-hand; a till sale or a cart hold is matched to the
first record of its key that arrived after its commit. On ``atp.channel.shopify`` (key: channel SKU =
lower-case SKU) every write at a location Shopify fulfils from (DCs, ship-from stores) is matched to the
first record of its channel SKU that arrived after its commit.
"""

from __future__ import annotations

import bisect
import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from atp.demo.generator import DemoSize, generate
from atp.demo.legacy_rows import DemoData
from atp.settings import Settings
from bench.dataflow import FlowRun, follow, fresh_recovery
from bench.env import BENCH_ENVIRONMENT
from bench.load import LoadResult, Write, drive, plan, warm_up
from bench.shapes import ChangeLog, snapshot_messages
from bench.stats import LatencySummary, median
from bench.topics import INPUT_TOPICS, BenchError, empty_topics, prefill, wait_quiet, watermarks
from bench.traffic import Assortment, assortment
from bench.watch import CDC_STOCK_TOPICS, ERP_STOCK_TOPIC, POS_STOCK_TOPIC, Recorder
from connectors import topics

SHOPIFY_TOPIC = topics.channel_topic("SHOPIFY")
Arrivals = dict[tuple[str, str], list[tuple[int, int | None]]]


@dataclass(frozen=True)
class LatencyRun:
    target_rate: float | None
    load: LoadResult
    availability: LatencySummary
    channel: LatencySummary
    unmatched_availability: int
    unmatched_channel: int
    first_fifth_p50_ms: float
    last_fifth_p50_ms: float
    end_to_end_rate: float  # writes / (first commit -> last matched availability record)
    to_debezium: dict[str, LatencySummary]  # commit -> Debezium's change record on Kafka, per kind of stock write
    availability_by_kind: dict[str, LatencySummary]

    @property
    def sustained(self) -> bool:
        """The writers kept the rate and latency did not keep growing (no backlog building up)."""
        kept_rate = self.target_rate is None or self.load.achieved_rate >= 0.95 * self.target_rate
        return kept_rate and self.last_fifth_p50_ms <= 2 * self.first_fifth_p50_ms + 100


@dataclass
class LiveStack:
    settings: Settings
    size: DemoSize
    data: DemoData
    shop: Assortment
    run: FlowRun


def ship_from_locations(data: DemoData) -> set[str]:
    return {row.loc_cd for row in data.locations if row.ship_from_flg == "Y"}


def start_live(settings: Settings, size: DemoSize, hot_share: float, progress: Callable[[str], None]) -> LiveStack:
    from atp.demo.seed import seed
    from connectors.cdc_connectors import register_cdc

    seed(settings.stack, size, progress)
    register_cdc(settings.stack, settings.kafka, progress)
    data = generate(size)
    empty_topics(settings)
    start = watermarks(settings, INPUT_TOPICS)
    loaded = prefill(settings, snapshot_messages(ChangeLog(), data))
    fresh_recovery(settings)
    run = FlowRun(settings, 1, label="live")
    run.start()
    follow(run, start, loaded, timeout_s=900)
    return LiveStack(settings, size, data, assortment(data, hot_share), run)


def _index(rows: list[tuple[str, str, int, int | None]]) -> Arrivals:
    arrivals: Arrivals = defaultdict(list)
    for topic, key, arrived_ms, on_hand in rows:
        arrivals[(topic, key)].append((arrived_ms, on_hand))
    for seen in arrivals.values():
        seen.sort()
    return arrivals


def _first_after(seen: list[tuple[int, int | None]], since_ms: int) -> int | None:
    at = bisect.bisect_left(seen, since_ms, key=lambda arrival: arrival[0])
    return seen[at][0] if at < len(seen) else None


def _cdc_arrival(write: Write, upc_of: dict[str, str], arrivals: Arrivals) -> int | None:
    """When Debezium's record of a stock write reached Kafka (the recorder saw it), by its marker."""
    change = write.change
    if change.marker is None:
        return None
    if change.kind == "dc_stock":
        seen = arrivals.get((ERP_STOCK_TOPIC, f"{change.sku}@{change.location}"), [])
    else:
        seen = arrivals.get((POS_STOCK_TOPIC, f"{change.location}@{upc_of[change.sku]}"), [])
    return next((ms for ms, on_hand in seen if on_hand == change.marker), None)


def _availability_arrival(write: Write, arrivals: Arrivals) -> int | None:
    seen = arrivals.get((topics.AVAILABILITY, write.availability_key), [])
    if write.change.marker is not None:
        return next((ms for ms, on_hand in seen if on_hand == write.change.marker), None)
    return _first_after(seen, write.committed_ms)


def measure_rate(
    live: LiveStack,
    rate: float | None,
    changes: int,
    writers: int,
    scratch: Path,
    settle_s: float = 3.0,
    drain_timeout_s: float = 300.0,
) -> LatencyRun:
    """One load run at ``rate`` changes/s (None: as fast as possible), matched against what came out."""
    settings = live.settings
    recorder = Recorder(
        (topics.AVAILABILITY, SHOPIFY_TOPIC, *CDC_STOCK_TOPICS), scratch / f"arrivals-{rate or 'max'}.json"
    )
    recorder.start(BENCH_ENVIRONMENT)
    try:
        load = drive(settings, live.shop, plan(live.shop, changes, rate, writers))
        # The flow may be behind: let it drain (outputs quiet for a while) before matching, up to a limit.
        # What has not come out by then counts as unmatched.
        with contextlib.suppress(BenchError):
            wait_quiet(settings, (topics.AVAILABILITY, SHOPIFY_TOPIC), quiet_s=settle_s, timeout_s=drain_timeout_s)
    finally:
        arrivals = _index(recorder.stop())
    if not live.run.alive():
        raise BenchError("the dataflow died during the load run; see its log under ATP_HOME/logs")
    online = ship_from_locations(live.data)
    to_availability: list[float] = []
    to_channel: list[float] = []
    to_cdc: dict[str, list[float]] = {"dc_stock": [], "store_stock": []}
    by_kind: dict[str, list[float]] = defaultdict(list)
    unmatched_availability = unmatched_channel = 0
    last_arrival = 0
    ordered = sorted(load.writes, key=lambda w: w.committed_ms)
    fifths: list[list[float]] = [[] for _ in range(5)]
    for n, write in enumerate(ordered):
        arrived = _availability_arrival(write, arrivals)
        if arrived is None:
            unmatched_availability += 1
        else:
            to_availability.append(arrived - write.committed_ms)
            by_kind[write.change.kind].append(arrived - write.committed_ms)
            fifths[min(4, n * 5 // len(ordered))].append(arrived - write.committed_ms)
            last_arrival = max(last_arrival, arrived)
        captured = _cdc_arrival(write, live.shop.upc_of, arrivals)
        if captured is not None:
            to_cdc[write.change.kind].append(captured - write.committed_ms)
        if write.change.location in online:
            on_channel = _first_after(arrivals.get((SHOPIFY_TOPIC, write.change.sku.lower()), []), write.committed_ms)
            if on_channel is None:
                unmatched_channel += 1
            else:
                to_channel.append(on_channel - write.committed_ms)
    first_commit = ordered[0].committed_ms if ordered else 0
    span_s = (last_arrival - first_commit) / 1000 if last_arrival > first_commit else 0.0
    return LatencyRun(
        target_rate=rate,
        load=load,
        availability=LatencySummary.of(to_availability),
        channel=LatencySummary.of(to_channel),
        unmatched_availability=unmatched_availability,
        unmatched_channel=unmatched_channel,
        first_fifth_p50_ms=median(fifths[0]),
        last_fifth_p50_ms=median(fifths[4]),
        end_to_end_rate=len(to_availability) / span_s if span_s else 0.0,
        to_debezium={kind: LatencySummary.of(samples) for kind, samples in to_cdc.items()},
        availability_by_kind={kind: LatencySummary.of(samples) for kind, samples in sorted(by_kind.items())},
    )


def warm(live: LiveStack, writers: int) -> None:
    drive(live.settings, live.shop, warm_up(live.shop, writers))
    wait_quiet(live.settings, (topics.AVAILABILITY,), quiet_s=3.0, timeout_s=300.0)

"""Figure b: sustained throughput of the dataflow alone, over pre-filled input topics."""

from __future__ import annotations

from dataclasses import dataclass

from atp.demo.generator import DemoSize, generate
from atp.settings import Settings
from bench.dataflow import FlowRun, Throughput, follow, fresh_recovery, throughput_of
from bench.shapes import ChangeLog, Message, snapshot_messages
from bench.topics import INPUT_TOPICS, Watermarks, empty_topics, messages_in, prefill, watermarks
from bench.traffic import assortment, trading
from connectors import topics

LIVE_SIZE = DemoSize(items=2000, dcs=2, stores=20, seed=42)  # what the bench's ERP and POS are seeded with
HOT_SHARE = 0.05  # the share of SKUs most changes fall on


@dataclass(frozen=True)
class Workload:
    size: DemoSize
    changes: int  # business changes after the snapshot
    hot_share: float = 0.05

    def describe(self) -> str:
        s = self.size
        return (
            f"demo retailer {s.items:,} items x ({s.dcs} DCs + {s.stores} stores), its Debezium snapshot, then "
            f"{self.changes:,} changes (40% DC stock, 30% store stock, 15% till sales, 15% cart holds; "
            f"80% of them on a hot {self.hot_share:.0%} of SKUs)"
        )


def workload_messages(workload: Workload) -> list[Message]:
    data = generate(workload.size)
    log = ChangeLog()
    shop = assortment(data, workload.hot_share)
    return [*snapshot_messages(log, data), *trading(log, shop, workload.changes)]


@dataclass(frozen=True)
class ThroughputRun:
    processes: int
    result: Throughput
    outputs: int


def load_inputs(settings: Settings, workload: Workload) -> Watermarks:
    """Empty the topics and write the workload; returns the input watermarks to read from."""
    empty_topics(settings)
    prefill(settings, workload_messages(workload))
    return watermarks(settings, INPUT_TOPICS)


def run_once(settings: Settings, start: Watermarks, processes: int, timeout_s: float = 900) -> ThroughputRun:
    """Run the flow from the beginning (fresh recovery) until it has read every pre-filled message."""
    fresh_recovery(settings)
    outputs_before = messages_in(watermarks(settings, topics.output_topics(settings.channels)))
    run = FlowRun(settings, processes, label=f"throughput-{processes}p")
    run.start()
    try:
        samples = follow(run, start, messages_in(start), timeout_s)
    finally:
        run.stop()
    outputs = messages_in(watermarks(settings, topics.output_topics(settings.channels))) - outputs_before
    return ThroughputRun(processes, throughput_of(samples, messages_in(start)), outputs)

"""``python -m bench.sizing``: how big a cluster a retailer needs, from the figures the bench measured.

Reads ``bench/results.json`` (events/s of one process, resident bytes per key, ...); a figure measured as
null there is replaced by a named default below, and the report says which. The arithmetic is in
:func:`size`; ``docs/sizing.md`` explains the model and shows an example.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")
DAY_S = 86_400
GIB = 1024**3

# Named defaults, used where results.json has no measured figure (or none is measured at all).
DEFAULT_EVENTS_PER_S_PER_PROCESS = 5_000.0  # throughput_eps_1proc
DEFAULT_BYTES_PER_KEY = 2_300.0  # rss_bytes_per_key: resident memory per (SKU, location) key
DEFAULT_RESUME_S_PER_MILLION_KEYS = 60.0  # resume_s_1m_keys: reading one process's snapshot back at start
SCALING_EFFICIENCY = 0.8  # what each added process keeps of one process's rate (exchanges between peers)
TARGET_UTILISATION = 0.7  # size for peak at 70% of capacity: a backlog after a restart must drain
BASE_RSS_BYTES = 300 * 1024**2  # one process before any key (interpreter, Bytewax, librdkafka)
MEMORY_LIMIT_BYTES = 4 * GIB  # the StatefulSet's memory limit per process (infra/deploy)
RESUME_TARGET_S = 300.0  # longest acceptable restart of one process
PARTITIONS_PER_PROCESS = 2  # input partitions are fixed once the flow starts: room to double processes
PEAK_TO_AVERAGE = 3.0  # a day's average change rate is its peak over this
HISTORY_ROW_BYTES = 60.0  # one atp.availability_history row, compressed on disk
CHANNEL_ROW_BYTES = 40.0  # one atp.channel_availability row as inserted, compressed
CDC_MESSAGE_BYTES = 1_200.0  # one Debezium JSON change on a kept-forever topic (before replication)
KAFKA_DISK_BYTES = 3 * 100 * GIB  # three brokers of 100 GiB (infra/deploy's defaults)
KAFKA_REPLICATION = 3


@dataclass(frozen=True)
class Workload:
    skus: int
    locations: int
    channels: int
    peak_changes_per_s: float
    retention_days: int


@dataclass(frozen=True)
class Figures:
    events_per_s_per_process: float
    bytes_per_key: float
    resume_s_per_million_keys: float
    defaulted: tuple[str, ...]  # the results.json fields that were null and replaced by a default


@dataclass(frozen=True)
class Sizing:
    processes: int
    processes_for_cpu: int
    processes_for_memory: int
    partitions: int
    keys: int
    memory_per_process_bytes: float
    resume_s: float
    history_rows_per_day: float
    channel_rows_per_day: float
    clickhouse_bytes_per_day: float
    clickhouse_bytes_retained: float
    kafka_bytes_per_day: float
    kafka_days_to_full: float
    limits: tuple[tuple[str, float], ...]  # (what, share of its limit used), the tightest first


def figures(results: dict[str, object]) -> Figures:
    """The measured figures, with named defaults where results.json holds null."""
    defaulted = []

    def pick(field: str, default: float) -> float:
        value = results.get(field)
        if isinstance(value, int | float):
            return float(value)
        defaulted.append(field)
        return default

    return Figures(
        events_per_s_per_process=pick("throughput_eps_1proc", DEFAULT_EVENTS_PER_S_PER_PROCESS),
        bytes_per_key=pick("rss_bytes_per_key", DEFAULT_BYTES_PER_KEY),
        resume_s_per_million_keys=pick("resume_s_1m_keys", DEFAULT_RESUME_S_PER_MILLION_KEYS),
        defaulted=tuple(defaulted),
    )


def size(workload: Workload, measured: Figures) -> Sizing:
    keys = workload.skus * workload.locations  # one state key per SKU and location
    usable_per_process = measured.events_per_s_per_process * SCALING_EFFICIENCY * TARGET_UTILISATION
    for_cpu = max(1, math.ceil(workload.peak_changes_per_s / usable_per_process))
    state_bytes = keys * measured.bytes_per_key
    for_memory = max(1, math.ceil(state_bytes / (MEMORY_LIMIT_BYTES - BASE_RSS_BYTES)))
    processes = max(for_cpu, for_memory)
    keys_per_process = keys / processes
    memory = BASE_RSS_BYTES + keys_per_process * measured.bytes_per_key
    resume_s = keys_per_process / 1e6 * measured.resume_s_per_million_keys
    changes_per_day = workload.peak_changes_per_s / PEAK_TO_AVERAGE * DAY_S
    # Each change publishes one location record and, at worst, one record per channel the SKU is sold on.
    history_rows = changes_per_day
    channel_rows = changes_per_day * workload.channels
    clickhouse_per_day = history_rows * HISTORY_ROW_BYTES + channel_rows * CHANNEL_ROW_BYTES
    retained = clickhouse_per_day * workload.retention_days
    kafka_per_day = changes_per_day * CDC_MESSAGE_BYTES * KAFKA_REPLICATION
    kafka_days = KAFKA_DISK_BYTES / kafka_per_day
    limits = (
        ("peak rate vs cluster capacity", workload.peak_changes_per_s / (processes * usable_per_process)),
        ("memory per process vs its limit", memory / MEMORY_LIMIT_BYTES),
        ("restart time of one process vs target", resume_s / RESUME_TARGET_S),
        ("Kafka disk after the retention days (CDC topics keep everything)", workload.retention_days / kafka_days),
    )
    return Sizing(
        processes=processes,
        processes_for_cpu=for_cpu,
        processes_for_memory=for_memory,
        partitions=processes * PARTITIONS_PER_PROCESS,
        keys=keys,
        memory_per_process_bytes=memory,
        resume_s=resume_s,
        history_rows_per_day=history_rows,
        channel_rows_per_day=channel_rows,
        clickhouse_bytes_per_day=clickhouse_per_day,
        clickhouse_bytes_retained=retained,
        kafka_bytes_per_day=kafka_per_day,
        kafka_days_to_full=kafka_days,
        limits=tuple(sorted(limits, key=lambda limit: -limit[1])),
    )


def report(workload: Workload, measured: Figures, sizing: Sizing) -> str:
    gib = GIB
    lines = [
        f"workload: {workload.skus:,} SKUs x {workload.locations:,} locations x {workload.channels} channels, "
        f"{workload.peak_changes_per_s:,.0f} changes/s at peak, {workload.retention_days} days kept",
        f"figures: {measured.events_per_s_per_process:,.0f} events/s per process, "
        f"{measured.bytes_per_key:,.0f} bytes per key, {measured.resume_s_per_million_keys:,.0f} s to resume 1M keys",
        "defaults used (null in bench/results.json): " + (", ".join(measured.defaulted) or "none"),
        f"processes: {sizing.processes} (rate needs {sizing.processes_for_cpu}, memory needs "
        f"{sizing.processes_for_memory})",
        f"Kafka partitions per keyed topic: {sizing.partitions}",
        f"state keys: {sizing.keys:,}; memory per process: {sizing.memory_per_process_bytes / gib:.1f} GiB; "
        f"restart of one process: {sizing.resume_s:,.0f} s",
        f"ClickHouse: {sizing.history_rows_per_day:,.0f} history rows/day, {sizing.channel_rows_per_day:,.0f} "
        f"channel rows/day, {sizing.clickhouse_bytes_per_day / gib:.1f} GiB/day, "
        f"{sizing.clickhouse_bytes_retained / gib:,.0f} GiB over {workload.retention_days} days",
        f"Kafka: {sizing.kafka_bytes_per_day / gib:,.1f} GiB/day of CDC, replicated and kept forever: "
        f"{sizing.kafka_bytes_per_day * workload.retention_days / gib:,.0f} GiB after {workload.retention_days} days; "
        f"{KAFKA_DISK_BYTES / gib:,.0f} GiB of brokers fill in {sizing.kafka_days_to_full:,.1f} days",
        "limits, tightest first (share used):",
        *(f"  {share:6.0%}  {what}" for what, share in sizing.limits),
        f"breaks first: {sizing.limits[0][0]}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=200_000)
    parser.add_argument("--locations", type=int, default=1_500)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--peak-changes-per-s", type=float, default=20_000.0)
    parser.add_argument("--retention-days", type=int, default=90)
    parser.add_argument("--results", type=Path, default=RESULTS, help="the bench's summary figures")
    args = parser.parse_args(argv)
    workload = Workload(args.skus, args.locations, args.channels, args.peak_changes_per_s, args.retention_days)
    measured = figures(json.loads(args.results.read_text()))
    print(report(workload, measured, size(workload, measured)))


if __name__ == "__main__":
    main(sys.argv[1:])

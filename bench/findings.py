"""What a bench run found, its targets, and the summary table both the console and bench/results.md show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from atp.demo.generator import DemoSize
from bench import latency, peer, report, snapshot_cost, throughput
from bench.api_load import ApiLoadResult
from bench.epoch_cost import EpochCost
from bench.machine import Machine
from bench.memory import MemoryResult, ResumeResult
from bench.profile import Profile
from bench.resume import ResumeAtScale
from bench.stages import Breakdown
from bench.stats import median
from bench.throughput import ThroughputRun, Workload

# Issue 16's targets: commit -> channel topic p99 by rate (end to end, everything on this machine), and input
# events/s per process over Kafka on the bench mix.
TARGET_CHANNEL_P99_MS = {200.0: 60.0, 1000.0: 150.0}
TARGET_EVENTS_PER_WORKER = 25_000.0
TARGET_BYTES_PER_KEY = 300.0
TARGET_RESUME_S = 10.0
TARGET_CPU_RATIO_2PROC = 1.3  # CPU per event with 2 processes, at most this many times that of 1 process


@dataclass
class Findings:
    machine: Machine
    started: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    throughput: dict[int, list[ThroughputRun]] = field(default_factory=dict)
    workload: Workload | None = None
    profile: Profile | None = None
    memory: MemoryResult | None = None
    memory_size: DemoSize | None = None
    resume: ResumeResult | None = None
    live: list[latency.LatencyRun] = field(default_factory=list)
    fastest: latency.LatencyRun | None = None
    missing: list[str] = field(default_factory=list)
    snapshot_costs: list[snapshot_cost.SnapshotCost] = field(default_factory=list)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    peer: peer.PeerFindings | None = None
    inprocess: Breakdown | None = None  # the flow in process, its time by stage (bench.stages)
    api: ApiLoadResult | None = None  # the lookup API in process under a steady load (bench.api_load)
    at_scale: ResumeAtScale | None = None  # RSS per key and resume at 1M keys, in process (bench.resume)
    at_scale_from: str | None = None  # which commit and day at_scale is of, when the last bench.resume measured it
    epoch_cost: EpochCost | None = None  # recovery GC and throughput by epoch, in process (bench.epoch_cost)


def _median_rate(runs: list[throughput.ThroughputRun]) -> float:
    return median([r.result.steady_rate for r in runs])


def throughput_eps(findings: Findings, processes: int) -> float | None:
    """Median steady events/s of the throughput runs with ``processes`` processes; None if none ran."""
    runs = findings.throughput.get(processes)
    return _median_rate(runs) if runs else None


def cpu_per_kevent(findings: Findings, processes: int) -> float | None:
    """Median CPU seconds (all flow processes) per 1,000 input events of the throughput runs; None if none ran."""
    runs = findings.throughput.get(processes)
    return median([r.result.cpu_per_kevent_s for r in runs]) if runs else None


def _cpu_rows(findings: Findings) -> list[list[str]]:
    one, two = cpu_per_kevent(findings, 1), cpu_per_kevent(findings, 2)
    rows = [
        [f"CPU per 1,000 input events, {processes} process(es)", f"{cost:.3f} CPU-s", "", ""]
        for processes, cost in ((1, one), (2, two))
        if cost is not None
    ]
    if one and two is not None:
        rows.append([
            "CPU per event, 2 processes / 1 process", f"{two / one:.2f}x",
            f"<= {TARGET_CPU_RATIO_2PROC:.1f}x", report.verdict(two / one <= TARGET_CPU_RATIO_2PROC),
        ])  # fmt: skip
    return rows


def _at_scale_rows(findings: Findings) -> list[list[str]]:
    found = findings.at_scale
    if found is None:
        return []
    comparable = found.keys >= 900_000
    return [
        [
            f"RSS per SKU-location key, in process ({found.keys:,} keys)", f"{report.fmt(found.bytes_per_key)} bytes",
            f"<= {TARGET_BYTES_PER_KEY:.0f} bytes at 1M keys",
            report.verdict(found.bytes_per_key <= TARGET_BYTES_PER_KEY) if comparable else "not comparable",
        ],
        [
            f"resume after SIGKILL, in process ({found.keys:,} keys)", f"{found.seconds_to_fresh_output:.1f} s",
            f"<= {TARGET_RESUME_S:.0f} s with 1M keys",
            report.verdict(found.seconds_to_fresh_output <= TARGET_RESUME_S) if comparable else "not comparable",
        ],
    ]  # fmt: skip


def _channel_target(rate: float | None, p99_ms: float, sustained: bool) -> list[str]:
    """The target column and verdict of a commit -> channel row: only the rates the targets name have one."""
    target_ms = TARGET_CHANNEL_P99_MS.get(rate or 0.0)
    if target_ms is None:
        return ["", ""]
    return [f"p99 <= {target_ms:.0f} ms at {rate:,.0f}/s", report.verdict(p99_ms <= target_ms and sustained)]


def summary_table(findings: Findings) -> str:
    rows: list[list[str]] = []
    for processes, runs in sorted(findings.throughput.items()):
        rate = _median_rate(runs)
        per_worker = rate / processes
        rows.append([
            f"dataflow throughput, {processes} process(es) (median of {len(runs)})",
            f"{report.fmt(rate)} events/s ({report.fmt(per_worker)}/worker)",
            f">= {TARGET_EVENTS_PER_WORKER:,.0f}/worker",
            report.verdict(per_worker >= TARGET_EVENTS_PER_WORKER),
        ])  # fmt: skip
    rows += _cpu_rows(findings)
    for run in findings.live:
        target = f"{run.target_rate:,.0f}/s" if run.target_rate else "max"
        rows.append([
            f"commit -> atp.availability at {target} ({run.load.achieved_rate:,.0f}/s achieved)",
            f"p50 {report.fmt(run.availability.p50_ms)} / p95 {report.fmt(run.availability.p95_ms)} / "
            f"p99 {report.fmt(run.availability.p99_ms)} / max {report.fmt(run.availability.max_ms)} ms",
            "", "",
        ])  # fmt: skip
        rows.append([
            f"commit -> atp.channel.shopify at {target}",
            f"p50 {report.fmt(run.channel.p50_ms)} / p95 {report.fmt(run.channel.p95_ms)} / "
            f"p99 {report.fmt(run.channel.p99_ms)} / max {report.fmt(run.channel.max_ms)} ms",
            *_channel_target(run.target_rate, run.channel.p99_ms, run.sustained),
        ])  # fmt: skip
    if findings.fastest:
        rows.append([
            "whole path (DB rows written -> records out), as fast as possible",
            f"{report.fmt(findings.fastest.end_to_end_rate)} changes/s", "", "",
        ])  # fmt: skip
    if findings.memory:
        m = findings.memory
        rows.append([
            f"RSS per SKU-location key ({m.keys_loaded:,} keys)", f"{report.fmt(m.bytes_per_key)} bytes",
            f"< {TARGET_BYTES_PER_KEY:.0f} bytes", report.verdict(m.bytes_per_key < TARGET_BYTES_PER_KEY),
        ])  # fmt: skip
        rows.append(
            [f"recovery store on disk ({m.keys_loaded:,} keys)", f"{m.recovery_bytes / 2**20:,.1f} MiB", "", ""]
        )
    if findings.resume:
        r = findings.resume
        rows.append([
            f"resume after SIGKILL ({r.keys:,} keys)", f"{r.seconds_to_fresh_output:.1f} s",
            f"< {TARGET_RESUME_S:.0f} s with 1M keys", "not comparable" if r.keys < 900_000 else
            report.verdict(r.seconds_to_fresh_output < TARGET_RESUME_S),
        ])  # fmt: skip
    rows += _at_scale_rows(findings)
    if findings.peer:
        f = findings.peer
        rows.append([
            f"throughput against the Quix Streams peer, same topics ({f.inputs:,} inputs)",
            f"ours {report.fmt(f.ours_kafka_events_per_s)} vs peer {report.fmt(f.peer_events_per_s)} events/s "
            f"({f.ratio:.2f}x; {f.mismatched_keys} of {f.keys:,} keys differ)",
            "ahead of the peer", report.verdict(f.ratio > 1.0 and f.mismatched_keys == 0),
        ])  # fmt: skip
        for rate in sorted({r.rate for r in f.live}):
            ours, theirs = (next((r for r in f.live if r.rate == rate and r.engine.startswith(e)), None)
                            for e in ("ours", "quix"))  # fmt: skip
            if ours and theirs:
                rows.append([
                    f"live latency against the peer, input -> record computed, {rate:,.0f}/s",
                    f"ours p50 {report.fmt(ours.p50_ms)} / p99 {report.fmt(ours.p99_ms)} ms, "
                    f"peer p50 {report.fmt(theirs.p50_ms)} / p99 {report.fmt(theirs.p99_ms)} ms",
                    "", "",
                ])  # fmt: skip
    if findings.api:
        a = findings.api
        rows.append([
            f"lookup API in process, {a.keys:,} keys, {a.achieved_rate:,.0f} of {a.target_rate:,.0f} requests/s",
            f"p50 {report.fmt(a.latency.p50_ms)} / p95 {report.fmt(a.latency.p95_ms)} / "
            f"p99 {report.fmt(a.latency.p99_ms)} ms ({a.errors} errors)",
            "", "",
        ])  # fmt: skip
    return report.table(["figure", "measured", "target", "verdict"], rows)

"""The short and the long profile: which figures, on which sizes, in which order.

Order matters: the throughput and memory runs empty the flow's topics and pre-fill them; the live
(Debezium) runs come last and load their own state (see ``bench.latency``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from atp.demo.generator import DemoSize
from atp.errors import AtpError
from atp.settings import Settings
from bench import latency, memory, peer, report, snapshot_cost, throughput
from bench.dataflow import FlowRun, fresh_recovery, throughput_of
from bench.env import BENCH_HOME, RUNS_DIR, bench_settings
from bench.machine import Machine, this_machine
from bench.memory import MemoryResult, ResumeResult
from bench.profile import Profile, record, summarise
from bench.stats import median
from bench.throughput import ThroughputRun, Workload
from bench.topics import INPUT_TOPICS, messages_in, watermarks

LIVE_SIZE = DemoSize(items=2000, dcs=2, stores=20, seed=42)  # what the bench's ERP and POS are seeded with
HOT_SHARE = 0.05
TARGET_P99_MS = 100.0
TARGET_EVENTS_PER_WORKER = 50_000.0
TARGET_BYTES_PER_KEY = 300.0
TARGET_RESUME_S = 10.0


def say(text: str) -> None:
    print(text, flush=True)


def stack_up() -> Settings:
    from atp import bootstrap
    from infra import stack

    settings = bench_settings()
    stack.install(settings.stack, say)
    bootstrap.bring_up(settings, say)
    return settings


def stack_down() -> None:
    from infra import stack

    settings = bench_settings()
    stack.down(settings.stack, settings.kafka)
    say(f"bench stack stopped ({BENCH_HOME})")


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


def attempt(findings: Findings, what: str, step: Callable[[], None]) -> None:
    """Run one figure; if it cannot be measured, say why in the results instead of stopping everything."""
    try:
        step()
    except (AtpError, TimeoutError, OSError) as exc:
        findings.missing.append(f"{what}: {exc}")
        say(f"  {what} not measured: {exc}")


def measure_throughput(settings: Settings, findings: Findings, workload: throughput.Workload, repeats: int) -> None:
    findings.workload = workload
    say(f"throughput: pre-filling {workload.describe()}")
    start = throughput.load_inputs(settings, workload)
    say(f"  {messages_in(start):,} input messages")
    for processes in (1, 2) if repeats > 1 else (1,):
        for n in range(repeats):
            run = throughput.run_once(settings, start, processes)
            findings.throughput.setdefault(processes, []).append(run)
            say(
                f"  {processes} process(es), run {n + 1}: {run.result.steady_rate:,.0f} events/s steady, "
                f"{run.result.wall_rate:,.0f}/s from process start, {run.outputs:,} records out"
            )


def measure_profile(settings: Settings, findings: Findings, seconds: int = 30) -> None:
    """A separate 1-process run from the beginning of the same inputs, sampled by py-spy."""
    start = watermarks(settings, INPUT_TOPICS)
    fresh_recovery(settings)
    run = FlowRun(settings, 1, label="profile")
    run.start()
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    raw = RUNS_DIR / "profile.txt"
    try:
        time.sleep(8)  # past start-up: imports, registry, Kafka metadata
        if not record(run.pids[0], seconds, raw):
            raise AtpError("py-spy is missing or could not attach (install it: .venv/bin/pip install py-spy)")
    finally:
        run.stop()
    findings.profile = summarise(raw)
    del start


def measure_memory(settings: Settings, findings: Findings, items: int) -> None:
    size = DemoSize(items=items, dcs=2, stores=20, store_assortment=1.0)
    findings.memory_size = size
    say(f"memory: {items:,} items x 22 locations, every stock balance into one flow process")
    findings.memory, findings.resume = memory.measure(settings, size, timeout_s=1800)  # 1M keys: minutes
    m = findings.memory
    say(
        f"  {m.keys_loaded:,} keys: {m.bytes_per_key:,.0f} bytes RSS per key, "
        f"recovery {m.recovery_bytes / 2**20:,.1f} MiB"
    )
    if m.died:
        say(f"  the flow died while loading: {m.died}")
    if findings.resume:
        say(f"  resume after SIGKILL: {findings.resume.seconds_to_fresh_output:.1f} s to a fresh record")


def measure_peer(findings: Findings) -> None:
    # On the peer's own broker (ports 49xxx), after the bench stack is down: the two engines then have the
    # machine to themselves, one after the other.
    say("quix streams peer: the same pre-filled topics for both engines, then both live on the same changes")
    findings.peer = found = peer.measure(RUNS_DIR, say)
    say(
        f"  ours {found.ours_kafka_events_per_s:,.0f} vs peer {found.peer_events_per_s:,.0f} events/s "
        f"({found.ratio:.2f}x); {found.mismatched_keys} of {found.keys:,} keys disagree"
    )


def measure_live(settings: Settings, findings: Findings, rate: float, seconds: int, fallbacks: bool) -> None:
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    say(f"latency: ERP/POS seeded with {LIVE_SIZE.items:,} items, Debezium on, flow state loaded")
    live = latency.start_live(settings, LIVE_SIZE, HOT_SHARE, say)
    try:
        writers = 8
        latency.warm(live, writers)
        rates = [rate] + ([r for r in (200.0, 50.0, 20.0) if r < rate] if fallbacks else [])
        for target in rates:
            run = latency.measure_rate(live, target, int(target * seconds), writers, RUNS_DIR)
            findings.live.append(run)
            say(_live_line(run))
            if run.sustained:
                break
        if fallbacks:
            fastest = latency.measure_rate(live, None, 5_000, writers, RUNS_DIR)
            findings.fastest = fastest
            say(_live_line(fastest))
    finally:
        live.run.stop()


def _live_line(run: latency.LatencyRun) -> str:
    target = f"{run.target_rate:,.0f}/s" if run.target_rate else "as fast as possible"
    return (
        f"  {target}: {run.load.achieved_rate:,.0f} writes/s achieved, availability p50/p95/p99/max "
        f"{run.availability.p50_ms:,.0f}/{run.availability.p95_ms:,.0f}/{run.availability.p99_ms:,.0f}/"
        f"{run.availability.max_ms:,.0f} ms, channel p99 {run.channel.p99_ms:,.0f} ms, "
        f"{'sustained' if run.sustained else 'NOT sustained'}"
    )


def short(rate: float, seconds: int, keep_stack: bool) -> None:
    started = time.monotonic()
    settings = stack_up()
    findings = Findings(this_machine())
    workload = throughput.Workload(DemoSize(items=500, dcs=2, stores=10), changes=15_000)
    attempt(findings, "throughput", lambda: measure_throughput(settings, findings, workload, repeats=1))
    attempt(findings, "latency", lambda: measure_live(settings, findings, rate, seconds, fallbacks=False))
    findings.load_after = this_machine().load_average
    if not keep_stack:
        stack_down()
    say("")
    say(summary_table(findings))
    for line in findings.missing:
        say(f"missing: {line}")
    say(f"({time.monotonic() - started:.0f} s; machine: {findings.machine.describe()})")


def latency_at(rates: tuple[float, ...], seconds: int) -> None:
    """Commit -> output latency at each rate, on one live stack and one flow (the epoch is ATP_SNAPSHOT_INTERVAL_S)."""
    settings = stack_up()
    findings = Findings(this_machine())
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    say(f"latency: epoch {settings.dataflow.snapshot_interval_s} s; ERP/POS seeded with {LIVE_SIZE.items:,} items")
    live = latency.start_live(settings, LIVE_SIZE, HOT_SHARE, say)
    try:
        latency.warm(live, 8)
        for rate in rates:
            run = latency.measure_rate(live, rate, int(rate * seconds), 8, RUNS_DIR)
            findings.live.append(run)
            say(_live_line(run))
    finally:
        live.run.stop()
        stack_down()


def long(rate: float, seconds: int, repeats: int, memory_items: int, out: Path, keep_stack: bool) -> None:
    settings = stack_up()
    findings = Findings(this_machine())
    workload = throughput.Workload(DemoSize(items=2000, dcs=2, stores=20), changes=30_000)
    attempt(findings, "throughput", lambda: measure_throughput(settings, findings, workload, repeats))
    attempt(findings, "profile", lambda: measure_profile(settings, findings))

    def copy_costs() -> None:
        findings.snapshot_costs = [snapshot_cost.measure(n) for n in (500, 2_000, 10_000, 50_000)]

    attempt(findings, "snapshot cost of a location's channel book", copy_costs)
    attempt(findings, "memory and resume", lambda: measure_memory(settings, findings, memory_items))
    attempt(findings, "latency", lambda: measure_live(settings, findings, rate, seconds, fallbacks=True))
    if not keep_stack:
        stack_down()
    attempt(findings, "f (Quix Streams peer)", lambda: measure_peer(findings))
    findings.load_after = this_machine().load_average
    from bench.results import write_results

    write_results(findings, out)
    say(summary_table(findings))
    say(f"results written to {out}")


def _median_rate(runs: list[throughput.ThroughputRun]) -> float:
    return median([r.result.steady_rate for r in runs])


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
            f"p99 < {TARGET_P99_MS:.0f} ms at 1,000/s",
            report.verdict(run.channel.p99_ms < TARGET_P99_MS and (run.target_rate or 0) >= 1000 and run.sustained),
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
    if findings.peer:
        f = findings.peer
        rows.append([
            f"throughput against the Quix Streams peer, same topics ({f.inputs:,} inputs)",
            f"ours {report.fmt(f.ours_kafka_events_per_s)} vs peer {report.fmt(f.peer_events_per_s)} events/s "
            f"({f.ratio:.2f}x; {f.mismatched_keys} of {f.keys:,} keys differ)",
            ">= 1.5x the peer", report.verdict(f.ratio >= 1.5 and f.mismatched_keys == 0),
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
    return report.table(["figure", "measured", "target", "verdict"], rows)


__all__ = ["long", "short", "stack_down", "summary_table", "throughput_of"]

"""The short and the long profile: which figures, on which sizes, in which order.

Order matters: the throughput and memory runs empty the flow's topics and pre-fill them; the live
(Debezium) runs come last and load their own state (see ``bench.latency``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from atp.demo.generator import DemoSize
from atp.errors import AtpError
from atp.settings import Settings
from bench import latency, memory, peer, snapshot_cost, throughput
from bench.dataflow import FlowRun, fresh_recovery, throughput_of
from bench.env import BENCH_HOME, RUNS_DIR, bench_settings
from bench.findings import Findings, summary_table
from bench.machine import this_machine
from bench.profile import record, summarise
from bench.throughput import HOT_SHARE, LIVE_SIZE
from bench.topics import INPUT_TOPICS, messages_in, watermarks


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


def measure_stages(findings: Findings, changes: int = 20_000) -> None:
    """The flow in process with recovery on the throughput workload, its samples put down to stages."""
    from bench import stages

    findings.inprocess = stages.measure(changes, recovery=True)
    if findings.inprocess is None:
        findings.missing.append("h (stage breakdown): py-spy missing or the run failed")


def measure_epoch_cost(findings: Findings, changes: int = 30_000) -> None:
    """Bytewax's recovery GC per epoch and the flow in process by epoch length and partitions (bench.epoch_cost)."""
    from bench import epoch_cost

    say("epoch close cost: Bytewax's recovery GC at 10k, 100k, 1M rows; the flow in process by epoch")
    findings.epoch_cost = found = epoch_cost.measure(changes, say=say)
    fit = found.fit
    if fit is not None:
        say(f"  fixed cost per epoch close (two-point fit): {fit.close_s * 1000:,.0f} ms")


def measure_peer(findings: Findings) -> None:
    # On the peer's own broker (ports 49xxx), after the bench stack is down: the two engines then have the
    # machine to themselves, one after the other.
    say("quix streams peer: the same pre-filled topics for both engines, then both live on the same changes")
    findings.peer = found = peer.measure(RUNS_DIR, say)
    say(
        f"  ours {found.ours_kafka_events_per_s:,.0f} vs peer {found.peer_events_per_s:,.0f} events/s "
        f"({found.ratio:.2f}x); {found.mismatched_keys} of {found.keys:,} keys disagree"
    )


def measure_live(
    settings: Settings, findings: Findings, rates: tuple[float, ...], seconds: int, fallbacks: bool
) -> None:
    """Latency at each of ``rates`` (lowest first) on one live stack and flow.

    With ``fallbacks``, if none of them was sustained, lower rates are tried until one is, then the whole path
    as fast as it goes.
    """
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    say(f"latency: ERP/POS seeded with {LIVE_SIZE.items:,} items, Debezium on, flow state loaded")
    live = latency.start_live(settings, LIVE_SIZE, HOT_SHARE, say)
    try:
        writers = 8
        latency.warm(live, writers)
        for target in sorted(rates):
            run = latency.measure_rate(live, target, int(target * seconds), writers, RUNS_DIR)
            findings.live.append(run)
            say(_live_line(run))
        if fallbacks:
            lower = [r for r in (200.0, 50.0, 20.0) if r < min(rates)]
            for target in lower if not any(run.sustained for run in findings.live) else []:
                run = latency.measure_rate(live, target, int(target * seconds), writers, RUNS_DIR)
                findings.live.append(run)
                say(_live_line(run))
                if run.sustained:
                    break
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
    attempt(findings, "latency", lambda: measure_live(settings, findings, (rate,), seconds, fallbacks=False))
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


def measure_api(findings: Findings) -> None:
    """The lookup API in process (bench.api_load), with the stack down so that it has the cores to itself."""
    from bench import api_load

    findings.api = api_load.measure()
    for line in api_load.describe(findings.api):
        say(line)


def long(rates: tuple[float, ...], seconds: int, repeats: int, memory_items: int, out: Path, keep_stack: bool) -> None:
    settings = stack_up()
    findings = Findings(this_machine())
    workload = throughput.Workload(DemoSize(items=2000, dcs=2, stores=20), changes=30_000)
    attempt(findings, "throughput", lambda: measure_throughput(settings, findings, workload, repeats))
    attempt(findings, "profile", lambda: measure_profile(settings, findings))

    def copy_costs() -> None:
        findings.snapshot_costs = [snapshot_cost.measure(n) for n in (500, 2_000, 10_000, 50_000)]

    attempt(findings, "snapshot cost of a location's channel book", copy_costs)
    attempt(findings, "memory and resume", lambda: measure_memory(settings, findings, memory_items))
    attempt(findings, "latency", lambda: measure_live(settings, findings, rates, seconds, fallbacks=True))
    if not keep_stack:
        stack_down()
    attempt(findings, "f (Quix Streams peer)", lambda: measure_peer(findings))
    attempt(findings, "lookup API load, in process", lambda: measure_api(findings))
    findings.load_after = this_machine().load_average
    attempt(findings, "h (stage breakdown, in process)", lambda: measure_stages(findings))
    attempt(findings, "i (epoch close cost, in process)", lambda: measure_epoch_cost(findings))
    from bench.results_json import last_at_scale

    # Loading 1M keys takes the flow many minutes even in process (bench/resume.py), a large share of this
    # profile's time: it has a profile of its own (`python -m bench resume`), whose last figures are shown here.
    last = last_at_scale(out.with_suffix(".json"))
    if last is not None:
        findings.at_scale, findings.at_scale_from = last
    elif not (findings.resume and findings.resume.keys >= 900_000):
        findings.missing.append(
            "resume after SIGKILL and RSS per key at 1M keys: not in this profile (minutes of loading in process); "
            "`python -m bench resume` measures them in process and writes them into bench/results.json"
        )
    from bench.results import write_results
    from bench.results_json import write_results_json

    write_results(findings, out)
    write_results_json(findings, out.with_suffix(".json"))
    say(summary_table(findings))
    say(f"results written to {out}")


def resume_at_scale(items: int, out: Path) -> None:
    from bench import resume
    from bench.results_json import merge_at_scale

    say(f"resume at scale: {items:,} items x 22 locations, the flow in process (no stack)")
    found = resume.measure(items)
    say(f"  {resume.describe(found)}")
    merge_at_scale(found, out)
    say(f"figures written into {out}")


__all__ = ["long", "short", "stack_down", "throughput_of"]

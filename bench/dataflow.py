"""Running the availability dataflow on the bench stack and watching how far it has read.

The flow is started exactly as ``atp.pipeline.flow_command`` starts it (recovery on, 1 s epochs), as one
process or as a Bytewax cluster of processes. How far it has read comes from its recovery store
(``connectors.lag.flow_positions``): offsets saved at each snapshot, so at most one epoch stale.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from atp.cluster import FLOW_RUNNER, flow_command
from atp.settings import PROJECT_ROOT, Settings
from bench.env import CLUSTER_ADDRESSES
from bench.topics import INPUT_TOPICS, BenchError, Watermarks
from connectors.lag import flow_positions
from flows.state_format import STATE_FORMAT


def flows_running_on(recovery: Path) -> list[int]:
    """Pids of dataflow processes using ``recovery`` (a leftover would compete for CPU and skew a run)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = process.info.get("cmdline") or []
        if FLOW_RUNNER in command and str(recovery) in command:
            found.append(int(process.info["pid"]))
    return found


def fresh_recovery(settings: Settings, partitions: int | None = None) -> Path:
    """An empty recovery store: the flow starts from the beginning of every input topic."""
    recovery = settings.dataflow.recovery_dir
    leftovers = flows_running_on(recovery)
    if leftovers:
        raise BenchError(f"dataflow processes {leftovers} still use {recovery}: stop them first")
    shutil.rmtree(recovery, ignore_errors=True)
    recovery.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bytewax.recovery",
            str(recovery),
            str(partitions or settings.dataflow.recovery_partitions),
        ],
        check=True,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
    )
    recovery.with_name(recovery.name + ".format").write_text(f"{STATE_FORMAT}\n")
    return recovery


def recovery_bytes(settings: Settings) -> int:
    """Size on disk of the recovery store (``du``: allocated blocks)."""
    total = 0
    for path in settings.dataflow.recovery_dir.rglob("*"):
        if path.is_file():
            total += path.stat().st_blocks * 512
    return total


def _command(settings: Settings, process_id: int | None) -> list[str]:
    command = flow_command(settings.dataflow)  # the project's entry point, as `atp run` starts it
    if process_id is not None:
        command += ["-i", str(process_id), "-a", CLUSTER_ADDRESSES]
    return command


@dataclass
class FlowRun:
    """One run of the dataflow: ``processes`` = 1, or 2 for a Bytewax cluster of two processes."""

    settings: Settings
    processes: int = 1
    label: str = "flow"
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: float = 0.0

    def start(self) -> None:
        self.settings.stack.logs_dir.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        for index in range(self.processes):
            process_id = index if self.processes > 1 else None
            environment = os.environ | {"ATP_FLOW_METRICS_PORT": str(38100 + index)}
            log = open(self.settings.stack.logs_dir / f"bench-{self.label}-{index}.log", "ab")  # noqa: SIM115
            self.children.append(
                subprocess.Popen(
                    _command(self.settings, process_id), cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=log
                )
            )

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    def alive(self) -> bool:
        return all(child.poll() is None for child in self.children)

    def rss_bytes(self) -> int:
        total = 0
        for pid in self.pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += psutil.Process(pid).memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the flow's processes (and any children they waited for) have used so far."""
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                used = psutil.Process(pid).cpu_times()
                total += used.user + used.system + used.children_user + used.children_system
        return total

    def kill(self) -> None:
        """SIGKILL: what an OOM killer or a lost node does."""
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
        for child in self.children:
            child.wait()

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _positions(settings: Settings) -> dict[tuple[str, int], int]:
    """The flow's saved input offsets, read from a byte copy of its recovery store.

    Opening the live SQLite files, even read-only, takes locks on their shared memory: polled several
    times a second, that made the writing dataflow die with "SqliteFailure ... locking protocol". A plain
    copy of the database and its WAL takes no lock; a torn copy fails to read and is simply tried again.
    """
    with tempfile.TemporaryDirectory(prefix="atp-bench-recovery-") as scratch:
        copy = Path(scratch)
        for part in settings.dataflow.recovery_dir.glob("*.sqlite3*"):
            if not part.name.endswith("-shm"):
                shutil.copyfile(part, copy / part.name)
        return flow_positions(copy)


def consumed(settings: Settings, start: Watermarks) -> int:
    """Input messages the flow has read since ``start`` (low watermarks), as of its last snapshot."""
    positions = _positions(settings)
    total = 0
    for (topic, partition), (low, _high) in start.items():
        if topic in INPUT_TOPICS:
            total += max(0, positions.get((topic, partition), low) - low)
    return total


@dataclass(frozen=True)
class Progress:
    seconds: float  # since the flow was started
    consumed: int
    rss_bytes: int
    cpu_s: float = 0.0  # user + system of every flow process since it started


def follow(
    run: FlowRun, start: Watermarks, target: int, timeout_s: float, samples: list[Progress] | None = None
) -> list[Progress]:
    """Sample the flow's read position and RSS until it has read ``target`` messages.

    Samples go to ``samples`` as they are taken, so a caller still has them if the flow dies on the way.
    """
    samples = [] if samples is None else samples
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not run.alive():
            codes = [child.returncode for child in run.children]
            raise BenchError(
                f"the dataflow exited ({codes}); see {run.settings.stack.logs_dir}/bench-{run.label}-*.log"
            )
        try:
            done = consumed(run.settings, start)
        except Exception:  # the store is being created or written: try again
            done = samples[-1].consumed if samples else 0
        samples.append(Progress(time.monotonic() - run.started, done, run.rss_bytes(), run.cpu_seconds()))
        if done >= target:
            return samples
        time.sleep(0.5)
    raise BenchError(f"the dataflow read {samples[-1].consumed if samples else 0} of {target} within {timeout_s:.0f} s")


@dataclass(frozen=True)
class Throughput:
    events: int
    wall_s: float  # from process start (imports, registry, Kafka metadata) to everything read
    steady_s: float  # from the first snapshot that showed progress to everything read
    steady_events: int
    peak_rss_bytes: int
    steady_cpu_s: float = 0.0  # CPU (user + system) of every flow process over the steady interval

    @property
    def cpu_per_kevent_s(self) -> float:
        """CPU seconds per 1,000 input events over the steady interval, all processes together."""
        return self.steady_cpu_s * 1000 / self.steady_events if self.steady_events else 0.0

    @property
    def steady_rate(self) -> float:
        return self.steady_events / self.steady_s if self.steady_s > 0 else 0.0

    @property
    def wall_rate(self) -> float:
        return self.events / self.wall_s if self.wall_s > 0 else 0.0


def throughput_of(samples: list[Progress], events: int) -> Throughput:
    first = next(s for s in samples if s.consumed > 0)
    last = samples[-1]
    return Throughput(
        events=events,
        wall_s=last.seconds,
        steady_s=last.seconds - first.seconds,
        steady_events=last.consumed - first.consumed,
        peak_rss_bytes=max(s.rss_bytes for s in samples),
        steady_cpu_s=last.cpu_s - first.cpu_s,
    )

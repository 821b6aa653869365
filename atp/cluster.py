"""The dataflow as a Bytewax cluster of processes on this machine, supervised as one.

Process *k* of *N* runs ``python -m flows.run -r RECOVERY -s EPOCH -i k -a ADDR0;ADDR1;...`` (Bytewax's own
flags: its index, and every process's ``host:port`` in process order; all on 127.0.0.1 from
``ATP_CLUSTER_PORT``). Every process opens the same recovery directory: Bytewax elects one worker of the
cluster to read and write each recovery partition, so every process must see them all, and on one machine
they share the folder. One process alone is started without ``-i``/``-a``, as before.

Why the whole cluster restarts when one process dies: Bytewax (Timely Dataflow underneath) connects the
processes once, at start, and has no way to let a new process take a dead one's place; the survivors lose
their peer and fail or wait forever. So the supervisor stops the others and starts all *N* again; they
resume together from the last epoch every process committed. Rescaling is the same stop and start with
another *N*: Bytewax routes the snapshots of the fixed recovery partitions to whichever worker of the new
cluster owns each key.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from atp.errors import ConfigError
from atp.settings import PROJECT_ROOT, DataflowSettings, LocalStackSettings, Settings
from atp.settings.checks import check_together
from connectors.secret_files import PRIVATE_UMASK

log = logging.getLogger("atp.cluster")

FLOW_RUNNER = "flows.run"
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# A cluster that ran this long before a process exited was working: its next start is not delayed.
STEADY_RUN_S = 60.0
STOP_GRACE_S = 15.0

Started = Callable[[list[subprocess.Popen[bytes]]], None]


def flow_command(dataflow: DataflowSettings) -> list[str]:
    """The dataflow process alone (one process, or what every process of a cluster shares)."""
    return [
        sys.executable, "-m", FLOW_RUNNER,
        "-r", str(dataflow.recovery_dir),
        "-s", str(dataflow.snapshot_interval_s),
    ]  # fmt: skip


def process_commands(dataflow: DataflowSettings) -> list[list[str]]:
    """The command of each process of the cluster, in process order."""
    if dataflow.processes == 1:
        return [flow_command(dataflow)]
    addresses = ";".join(dataflow.cluster_addresses())
    return [[*flow_command(dataflow), "-i", str(process), "-a", addresses] for process in range(dataflow.processes)]


def sized(settings: Settings, processes: int | None) -> Settings:
    """``settings`` with a cluster of ``processes`` (None: ``ATP_PROCESSES``), checked; a bad size is one line.

    More processes than the input topics have partitions is refused: Bytewax gives each source partition to
    one worker, so a process beyond them would read nothing and only add exchange between the others.
    """
    if processes is not None:
        dataflow = settings.dataflow.model_copy(update={"processes": processes})
        settings = settings.model_copy(update={"dataflow": dataflow})
        check_together(settings)  # its ports, now for this many processes
    partitions = settings.kafka.input_partitions
    if settings.dataflow.processes > partitions:
        origin = "ATP_PROCESSES" if processes is None else "--processes"
        raise ConfigError(
            f"{origin}: {settings.dataflow.processes} processes, but the input topics have {partitions} "
            "partitions (ATP_INPUT_PARTITIONS): a process beyond them would read nothing"
        )
    return settings


# -- supervising the processes as one ---------------------------------------------------------------


def start_processes(commands: Sequence[Sequence[str]], cwd: Path = PROJECT_ROOT) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(list(command), cwd=cwd, umask=PRIVATE_UMASK) for command in commands]


def stop_processes(processes: Sequence[subprocess.Popen[bytes]], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM every process still alive, then SIGKILL whichever has not ended within ``grace_s`` in all."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ended(processes: Sequence[subprocess.Popen[bytes]]) -> list[subprocess.Popen[bytes]]:
    return [process for process in processes if process.poll() is not None]


def next_backoff(backoff_s: float, exits: Sequence[int], ran_s: float, first_s: float = FIRST_BACKOFF_S) -> float:
    """How long to wait before the next start, after the cluster ran ``ran_s`` and processes exited with ``exits``.

    A crash right after start means something is wrong that a restart will not fix quickly: wait longer each
    time. A kill from outside (a signal: an operator, the OOM killer, a chaos test) is not the flow's fault,
    nor is an exit after a long run: start again at once.
    """
    killed = any(code < 0 for code in exits)
    return first_s if killed or ran_s > STEADY_RUN_S else min(backoff_s * 2, MAX_BACKOFF_S)


def supervise_as_one(
    commands: Sequence[Sequence[str]],
    stop: threading.Event,
    *,
    healthy: Callable[[], bool] = lambda: True,
    started: Started = lambda _processes: None,
    first_backoff_s: float = FIRST_BACKOFF_S,
    poll_s: float = 0.5,
    cwd: Path = PROJECT_ROOT,
) -> None:
    """Run one process per command until ``stop`` is set or ``healthy()`` turns false; if any of them exits,
    stop the others and start them all again, after the restart backoff. Every process is ended on return."""
    backoff_s = first_backoff_s
    while not stop.is_set():
        began = time.monotonic()
        processes = start_processes(commands, cwd)
        try:
            started(processes)
            log.info("dataflow started: %s", ", ".join(f"process {k} pid {p.pid}" for k, p in enumerate(processes)))
            while not ended(processes) and not stop.is_set() and healthy():
                stop.wait(poll_s)
            # The exits that made the cluster stop, read before the survivors are terminated by us.
            exits = [(processes.index(process), process.returncode) for process in ended(processes)]
        finally:
            stop_processes(processes)
        if stop.is_set() or not healthy():
            return
        backoff_s = next_backoff(backoff_s, [code for _, code in exits], time.monotonic() - began, first_backoff_s)
        log.warning(
            "dataflow %s exited with %s; restarting all %d process(es) in %.0fs (they resume from the last snapshot)",
            ", ".join(f"process {k}" for k, _ in exits),
            ", ".join(str(code) for _, code in exits),
            len(processes),
            backoff_s,
        )
        stop.wait(backoff_s)


# -- what the running cluster is, for `atp status` and `atp run --detach` ------------------------------


@dataclass(frozen=True)
class Member:
    """One process of the running cluster."""

    process: int
    pid: int
    metrics_port: int


def cluster_file(stack: LocalStackSettings) -> Path:
    return stack.run_dir / "dataflow-cluster.json"


def write_members(stack: LocalStackSettings, dataflow: DataflowSettings, pids: Sequence[int]) -> None:
    members = [Member(process, pid, dataflow.metrics_port(process)) for process, pid in enumerate(pids)]
    cluster_file(stack).write_text(json.dumps({"processes": len(members), "members": [asdict(m) for m in members]}))


def read_members(stack: LocalStackSettings) -> list[Member]:
    """The processes of the cluster the supervisor last started (empty if it never did or it was removed)."""
    try:
        stored = json.loads(cluster_file(stack).read_text())
        return [Member(**member) for member in stored["members"]]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True

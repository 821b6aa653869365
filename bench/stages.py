"""Where each microsecond of an input goes: the dataflow in this process on the bench's workload, sampled by py-spy,
with every sample put down to one stage of the flow (decode, routing, each stateful step, snapshots, publishing).

    .venv/bin/python -m bench.stages [--changes 50000] [--recovery] [--json out.json]

No Kafka, no Avro: Bytewax's testing source hands the flow the workload's messages (the throughput figure's
Debezium snapshot and changes, with their transactions) and a counting sink takes its records. So this is the
engine's own cost per input event; the Kafka source and the Avro sink are measured over Kafka by the long profile.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atp.arguments import OneLineParser, bounded_number
from atp.settings import PROJECT_ROOT
from bench import report
from bench.profile import stacks

# The stage a sample belongs to is decided by the innermost frame of the stack that names one (so a decoder
# called from a map is "decode", and the domain rules called from a keyed step count for that step).
STEP_FILE = "flows/steps.py"
KEYED_FILE = "flows/keyed.py"
STAGE_OF_FILE = {
    "connectors/cdc/": "decode",
    "connectors/inputs.py": "decode",
    "connectors/reservations.py": "decode",
    "connectors/repairs.py": "decode",
    "atp/privacy.py": "decode",
    "flows/routing.py": "routing",
    "flows/epoch_gate.py": "publish",
    "atp/domain/epoch_batch.py": "publish",
    "connectors/kafka_sink.py": "publish (encode, produce)",
    "connectors/avro_contracts.py": "publish (encode, produce)",
}
KEYED_STAGES = {
    "snapshot": "snapshot (pickle)",
    "_changing": "wake (unpickle)",
    "state": "wake (unpickle)",
}


# The frame every sample of the flow's run has on its stack.
RUN_FRAME = "_run_flow ("


@dataclass(frozen=True)
class Breakdown:
    events: int
    wall_s: float
    cpu_s: float
    samples: int
    share: dict[str, float]  # stage -> share of all samples

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s else 0.0

    def us_per_event(self, stage: str) -> float:
        """Wall microseconds per input event spent in ``stage`` (its share of the run's wall time)."""
        return self.share.get(stage, 0.0) * self.wall_s * 1e6 / self.events if self.events else 0.0

    @property
    def us_per_event_total(self) -> float:
        return self.wall_s * 1e6 / self.events if self.events else 0.0

    def by_cost(self) -> list[str]:
        """The stages, costliest first."""
        return sorted(self.share, key=lambda stage: -self.share[stage])

    def summary(self) -> str:
        return (
            f"{self.events:,} input events in {self.wall_s:.1f} s ({self.events_per_s:,.0f}/s, "
            f"{self.wall_s * 1e6 / max(self.events, 1):.1f} us each; CPU {self.cpu_s:.1f} s); "
            f"{self.samples:,} samples"
        )

    def table(self) -> str:
        lines = [
            self.summary(),
            "",
            "| stage | share | us/event |",
            "|---|---|---|",
        ]
        for stage in self.by_cost():
            lines.append(f"| {stage} | {self.share[stage]:.1%} | {self.us_per_event(stage):.1f} |")
        return "\n".join(lines)


# The breakdown an earlier long run measured (bench/results.json's in-process figures of that run), kept so that
# section h of bench/results.md shows what changed since.
STAGES_BEFORE = PROJECT_ROOT / "bench" / "runs" / "stages-before.json"


@dataclass(frozen=True)
class StagesBaseline:
    commit: str
    date: str
    events_per_s: float
    us_per_event: float
    stages: dict[str, float]  # stage -> us/event


def load_baseline(path: Path = STAGES_BEFORE) -> StagesBaseline | None:
    """The baseline in ``path`` (results.json's key names); None if there is none."""
    if not path.exists():
        return None
    import orjson

    found = orjson.loads(path.read_bytes())
    return StagesBaseline(
        commit=str(found["commit"]),
        date=str(found["date"]),
        events_per_s=float(found["throughput_eps_inprocess"]),
        us_per_event=float(found["us_per_event_inprocess"]),
        stages={stage: float(us) for stage, us in found["stages_us_per_event_inprocess"].items()},
    )


def _change(before: float | None, now: float | None) -> str:
    if before is None:
        return "new"
    if now is None:
        return "no samples now"
    relative = f" ({now / before - 1:+.0%})" if before else ""
    return f"{now - before:+,.1f}{relative}"


def comparison_table(now: Breakdown, before: StagesBaseline) -> str:
    """us/event per stage, before and now: this run's stages costliest first, then any only the baseline has."""
    rows = []
    for stage in [*now.by_cost(), *sorted(set(before.stages) - set(now.share), key=lambda s: -before.stages[s])]:
        was = before.stages.get(stage)
        is_ = now.us_per_event(stage) if stage in now.share else None
        rows.append([stage, _fixed(was), _fixed(is_), _change(was, is_)])
    rows.append(["total (wall per input event)", _fixed(before.us_per_event), _fixed(now.us_per_event_total),
                 _change(before.us_per_event, now.us_per_event_total)])  # fmt: skip
    rows.append(["events/s", f"{before.events_per_s:,.0f}", f"{now.events_per_s:,.0f}",
                 f"{now.events_per_s / before.events_per_s - 1:+.0%}" if before.events_per_s else ""])  # fmt: skip
    header = ["stage", f"before ({before.commit[:7]}) us/event", "now us/event", "change"]
    return report.table(header, rows)


def _fixed(us: float | None) -> str:
    return "-" if us is None else f"{us:,.1f}"


def _step_classes() -> list[tuple[int, int, str]]:
    """(first line, last line, step) of each step class in flows/steps.py, from its STEP or its name."""
    tree = ast.parse((PROJECT_ROOT / STEP_FILE).read_text())
    spans = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            step = node.name
            for item in node.body:
                names_step = isinstance(item, ast.Assign) and any(getattr(t, "id", "") == "STEP" for t in item.targets)
                if names_step and isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                    step = str(item.value.value)
            spans.append((node.lineno, node.end_lineno or node.lineno, step))
    return spans


def stage_of(frames: list[str], steps: list[tuple[int, int, str]]) -> str:
    """The stage of one sampled stack (outermost frame first), as ``py-spy -f raw`` writes frames."""
    for frame in reversed(frames):
        name, _, where = frame.partition(" (")
        where = where.rstrip(")")
        if STEP_FILE in where:
            line = int(where.rsplit(":", 1)[1]) if ":" in where else 0
            for first, last, step in steps:
                if first <= line <= last:
                    return f"step {step}"
        method = name.rsplit(".", 1)[-1]
        if KEYED_FILE in where and method in KEYED_STAGES:
            return KEYED_STAGES[method]
        for path, stage in STAGE_OF_FILE.items():
            if path in where:
                return stage
        if "/atp/domain/" in where:
            return "domain (outside a step)"
    return "bytewax (its engine: exchanges, epochs, the testing source) and the interpreter"


def breakdown_of(raw: Path, events: int, wall_s: float, cpu_s: float) -> Breakdown:
    steps = _step_classes()
    stages: Counter[str] = Counter()
    total = 0
    for frames, count in stacks(raw):
        if not any(RUN_FRAME in frame for frame in frames):  # building the workload and the flow: not its cost
            continue
        total += count
        stages[stage_of(frames, steps)] += count
    share = {stage: n / total for stage, n in stages.items()} if total else {}
    return Breakdown(events, wall_s, cpu_s, total, share)


# -- the in-process run ----------------------------------------------------------------------------------------


def _messages(changes: int) -> list[Any]:
    from bytewax.connectors.kafka import KafkaSourceMessage

    from bench.throughput import HOT_SHARE, LIVE_SIZE, Workload, workload_messages
    from connectors.cdc.decode import TRANSACTION_TOPICS
    from connectors.topics import PARTITIONS

    offsets: Counter[tuple[str, int]] = Counter()
    source = []
    for message in workload_messages(Workload(LIVE_SIZE, changes, HOT_SHARE)):
        partitions = 1 if message.topic in TRANSACTION_TOPICS else PARTITIONS
        partition = zlib.crc32(message.key) % partitions  # one row stays on one partition, as a keyed producer does
        offset = offsets[(message.topic, partition)]
        offsets[(message.topic, partition)] += 1
        source.append(KafkaSourceMessage(message.key, message.value, message.topic, partition=partition, offset=offset))
    return source


class _Count:
    """A sink that counts records (a list would keep every record alive and grow the heap)."""

    def __init__(self) -> None:
        self.records = 0

    def __iadd__(self, records: list[object]) -> _Count:  # Bytewax's testing sink adds each batch with +=
        self.records += len(records)
        return self


def _run_flow(run: Callable[[], None]) -> None:
    """The flow's run, under a frame of its own: samples outside it are not the flow's (``RUN_FRAME``)."""
    run()


# What ``atp run`` used when this was written: Bytewax's default partition count and ATP_SNAPSHOT_INTERVAL_S.
RECOVERY_PARTITIONS = 8
EPOCH_S = 0.2


def run_in_process(
    changes: int,
    recovery: bool,
    epoch_s: float = EPOCH_S,
    partitions: int = RECOVERY_PARTITIONS,
    store: Path | None = None,
) -> tuple[int, float, float, int]:
    """(input events, wall s, CPU s, records out) of the flow over the workload, in this process.

    ``store``: the (empty) directory of the recovery store, for a caller that reads it afterwards; by default a
    temporary one, removed after the run."""
    import datetime as dt

    from bytewax.recovery import RecoveryConfig
    from bytewax.testing import TestingSink, TestingSource, run_main

    from atp.settings import settings_from_fields
    from flows.process import _tune_garbage_collector, availability_flow

    messages = _messages(changes)
    sink = _Count()
    flow = availability_flow(settings_from_fields(), TestingSource(messages, batch_size=1000), TestingSink(sink))  # type: ignore[arg-type]
    _tune_garbage_collector()
    with tempfile.TemporaryDirectory() as scratch:
        directory = store or Path(scratch)
        config = None
        if recovery:
            subprocess.run([sys.executable, "-m", "bytewax.recovery", str(directory), str(partitions)], check=True)
            config = RecoveryConfig(str(directory))  # type: ignore[no-untyped-call]
        epoch = dt.timedelta(seconds=epoch_s)
        started, cpu_started = time.perf_counter(), time.process_time()
        _run_flow(lambda: run_main(flow, epoch_interval=epoch, recovery_config=config))  # type: ignore[no-untyped-call]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return len(messages), wall, cpu, sink.records


def measure(changes: int, recovery: bool, rate: int = 250) -> Breakdown | None:
    """The flow in a child process under py-spy, its samples put down to stages; None (and why, on stderr) if
    py-spy is missing or the run failed."""
    from bench.profile import py_spy

    tool = py_spy()
    if tool is None:
        print("bench.stages: py-spy is not installed beside this interpreter", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as directory:
        raw = Path(directory) / "stacks.raw"
        child = [sys.executable, "-m", "bench.stages", "--child", "--changes", str(changes)]
        child += ["--recovery"] if recovery else []
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        done = subprocess.run(
            [str(tool), "record", "-r", str(rate), "-f", "raw", "-o", str(raw), "--", *child],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        result = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not result:
            print(f"bench.stages: the sampled run failed: {done.stderr.strip()[-500:]}", file=sys.stderr)
            return None
        figures = result[-1].split()
        return breakdown_of(raw, int(figures[1]), float(figures[2]), float(figures[3]))


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m bench.stages", description=__doc__.splitlines()[0], program="bench.stages")
    changes = bounded_number(int, "{text!r} is not a whole number", "{text!r} must be between 1 and 2000000",
                             at_least=1, at_most=2_000_000)  # fmt: skip
    parser.add_argument("--changes", type=changes, default=50_000)
    parser.add_argument("--recovery", action="store_true", help="with a recovery store (as atp run), 8 partitions")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # the sampled process: run and report its figures on stdout's last line
        events, wall, cpu, records = run_in_process(args.changes, args.recovery)
        print(f"RESULT {events} {wall} {cpu} {records}", flush=True)
        return 0
    found = measure(args.changes, args.recovery, args.rate)
    if found is None:
        return 1
    print(found.table())
    print(f"\nrecovery {'on (8 partitions)' if args.recovery else 'off'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

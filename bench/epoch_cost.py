"""What an epoch close costs with recovery on: Bytewax's per-epoch garbage collection of its SQLite recovery store,
and the flow's in-process throughput by epoch length and recovery partitions.

    .venv/bin/python -m bench.epoch_cost [--changes 30000] [--json out.json]

At every epoch close, for each recovery partition, Bytewax 0.21.1 deletes the snapshots the new epoch supersedes
with one statement (``RECOVERY_GC``) that reads every row of the partition's ``snaps`` table, however few keys
changed: its cost grows with the state, not with the traffic. Part one times that statement on Bytewax's own schema
at 10k, 100k and 1M rows; part two runs the flow over Bytewax's testing source (``bench.stages``) with recovery
off and on, at several epoch lengths, each in a child process of its own, and fits the fixed cost of one close.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from atp.arguments import OneLineParser, bounded_number
from atp.errors import AtpError
from atp.settings import PROJECT_ROOT
from bench import report
from bench.stats import median

# -- Bytewax's recovery GC on its own schema -------------------------------------------------------------------------

# The SQL of Bytewax 0.21.1, src/recovery.rs, RecoveryCommitter::commit (line breaks ours): both statements run in
# one transaction, per partition, at every epoch close.
RECOVERY_COMMIT = (
    "INSERT INTO commits (part_index, commit_epoch) VALUES (?1, ?2) "
    "ON CONFLICT (part_index) DO UPDATE SET commit_epoch = EXCLUDED.commit_epoch"
)
RECOVERY_GC = """WITH max_epoch_snapshots AS (
    SELECT step_id, state_key, MAX(snap_epoch) AS snap_epoch FROM snaps WHERE snap_epoch <= ?1
    GROUP BY step_id, state_key
),
garbage_snapshots AS (
    SELECT step_id, state_key, snaps.snap_epoch FROM snaps JOIN max_epoch_snapshots USING (step_id, state_key)
    WHERE snaps.snap_epoch < max_epoch_snapshots.snap_epoch
)
DELETE FROM snaps WHERE (step_id, state_key, snap_epoch) IN garbage_snapshots"""
# The epoch's snapshots, written as an upsert on the table's primary key (one row per key and epoch).
WRITE_SNAPSHOT = (
    "INSERT INTO snaps (step_id, state_key, snap_epoch, ser_change) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (step_id, state_key, snap_epoch) DO UPDATE SET ser_change = EXCLUDED.ser_change"
)

GC_ROWS = (10_000, 100_000, 1_000_000)
KEYS_PER_EPOCH = 200  # snapshots rewritten per epoch: a modest live rate, far below the state's size
STEP_IDS = 4  # the rows are spread over this many step ids, as a flow's keyed steps share a partition
SNAPSHOT_BYTES = 128  # about a pickled per-SKU state of the flow
CONFIGURED_EPOCH_S = 0.2  # ATP_SNAPSHOT_INTERVAL_S


class EpochRunFailed(AtpError):
    """A run of this measurement (the GC's SQLite file or a child flow) failed or said nothing."""


@dataclass(frozen=True)
class GcCost:
    """One partition of ``rows`` snapshots, one row per key: the median epoch of ``epochs``."""

    rows: int
    epochs: int
    keys_per_epoch: int
    write_ms: float  # the epoch's snapshots, one transaction
    commit_gc_ms: float  # RECOVERY_COMMIT + RECOVERY_GC, one transaction
    rows_after: int  # still ``rows``: the GC removed exactly the superseded snapshots

    @property
    def ms_per_epoch(self) -> float:
        return self.write_ms + self.commit_gc_ms

    def share_of_epoch(self, epoch_s: float = CONFIGURED_EPOCH_S) -> float:
        return self.ms_per_epoch / (epoch_s * 1000)


def _partition(directory: Path) -> sqlite3.Connection:
    """A fresh recovery partition made by Bytewax itself (its exact DDL, WAL mode), opened with the stdlib's SQLite.

    Autocommit, so that each transaction below is the explicit BEGIN ... COMMIT it times."""
    from bytewax.recovery import init_db_dir

    init_db_dir(directory, 1)  # type: ignore[no-untyped-call]
    connection = sqlite3.connect(directory / "part-0.sqlite3", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")  # already so; said again in case a Bytewax upgrade changes it
    return connection


def _step_id(key: int) -> str:
    return f"step_{key % STEP_IDS}"


def _snapshot_rows(keys: Iterator[int], epoch: int, payload: bytes) -> Iterator[tuple[str, str, int, bytes]]:
    for key in keys:
        yield _step_id(key), f"SKU-{key:07d}@LOC", epoch, payload


def _timed_ms(connection: sqlite3.Connection, statements: Sequence[tuple[str, Any]], many: bool = False) -> float:
    started = time.perf_counter()
    connection.execute("BEGIN")
    for sql, parameters in statements:
        if many:
            connection.executemany(sql, parameters)
        else:
            connection.execute(sql, parameters)
    connection.execute("COMMIT")
    return (time.perf_counter() - started) * 1000


def epochs_for(rows: int) -> int:
    """Epochs timed at a size: enough for a median, few where one costs most of a second."""
    return max(5, min(20, 2_000_000 // max(rows, 1)))


def measure_gc(rows: int, keys_per_epoch: int = KEYS_PER_EPOCH, epochs: int | None = None) -> GcCost:
    """Fill a partition with ``rows`` snapshots at epoch 1, then per epoch rewrite ``keys_per_epoch`` of them at
    the new epoch and run Bytewax's commit and GC; the median epoch's times."""
    epochs = epochs or epochs_for(rows)
    payload = bytes(range(256))[:SNAPSHOT_BYTES]
    choose = random.Random(rows)  # the same keys every run at a size
    writes, commits = [], []
    with tempfile.TemporaryDirectory(prefix="atp-bench-gc-") as scratch:
        try:
            connection = _partition(Path(scratch))
        except sqlite3.Error as exc:
            raise EpochRunFailed(f"recovery GC at {rows:,} rows: {exc}") from exc
        try:
            _timed_ms(connection, [(WRITE_SNAPSHOT, _snapshot_rows(iter(range(rows)), 1, payload))], many=True)
            for epoch in range(2, epochs + 2):
                changed = choose.sample(range(rows), min(keys_per_epoch, rows))
                snapshots = _snapshot_rows(iter(changed), epoch, payload)
                writes.append(_timed_ms(connection, [(WRITE_SNAPSHOT, snapshots)], many=True))
                commits.append(_timed_ms(connection, [(RECOVERY_COMMIT, (0, epoch)), (RECOVERY_GC, (epoch,))]))
            rows_after = int(connection.execute("SELECT COUNT(*) FROM snaps").fetchone()[0])
        except sqlite3.Error as exc:  # a full disk, say: the long profile goes on without this figure
            raise EpochRunFailed(f"recovery GC at {rows:,} rows: {exc}") from exc
        finally:
            connection.close()
    return GcCost(rows, epochs, min(keys_per_epoch, rows), median(writes), median(commits), rows_after)


def gc_table(costs: Sequence[GcCost], epoch_s: float = CONFIGURED_EPOCH_S) -> str:
    rows = [
        [
            f"{c.rows:,}", f"{c.write_ms:,.1f}", f"{c.commit_gc_ms:,.1f}", f"{c.ms_per_epoch:,.1f}",
            f"{c.share_of_epoch(epoch_s):.0%}", str(c.epochs),
        ]
        for c in costs
    ]  # fmt: skip
    header = [
        "snaps rows in the partition",
        f"write {costs[0].keys_per_epoch if costs else KEYS_PER_EPOCH} snapshots ms",
        "commit + GC ms",
        "ms per epoch",
        f"share of a {epoch_s:g} s epoch",
        "epochs (median)",
    ]
    return report.table(header, rows)


def sqlite_note() -> str:
    return (
        f"SQLite {sqlite3.sqlite_version} of Python's standard library (`sqlite3`), not the copy bundled in "
        "Bytewax; one partition file, WAL mode, made by `bytewax.recovery.init_db_dir`."
    )


# -- the flow in process, by epoch and recovery partitions ----------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    partitions: int  # 0: recovery off
    epoch_s: float

    @property
    def label(self) -> str:
        store = f"recovery {self.partitions} partitions" if self.partitions else "no recovery"
        return f"{store}, {self.epoch_s:g} s epochs"


GRID = (RunConfig(0, 0.2), RunConfig(8, 0.2), RunConfig(8, 0.5), RunConfig(8, 1.0), RunConfig(2, 0.2))
FIT_FAST, FIT_SLOW = RunConfig(8, 0.2), RunConfig(8, 1.0)  # the two runs the fixed cost is fitted on


@dataclass(frozen=True)
class InProcessRun:
    config: RunConfig
    events: int
    wall_s: float
    cpu_s: float
    records: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s else 0.0

    @property
    def epoch_closes(self) -> float:
        return self.wall_s / self.config.epoch_s


@dataclass(frozen=True)
class StepRows:
    """One step's snapshots in the recovery store after a run, across its partition files."""

    step_id: str
    rows: int
    tombstones: int  # null ``ser_change``: a key whose state was discarded


@dataclass(frozen=True)
class EpochFit:
    """T = W + E * c over two runs of the same inputs, E = T / epoch: W the work, c the fixed cost of a close."""

    work_s: float
    close_s: float


def two_point_fit(fast: tuple[float, float], slow: tuple[float, float]) -> EpochFit | None:
    """The fit through (wall s, epoch s) of two runs; None when the two runs cannot separate W from c."""
    (fast_s, fast_epoch), (slow_s, slow_epoch) = fast, slow
    closes_apart = fast_s / fast_epoch - slow_s / slow_epoch
    if abs(closes_apart) < 1e-9:
        return None
    close_s = (fast_s - slow_s) / closes_apart
    return EpochFit(fast_s - fast_s / fast_epoch * close_s, close_s)


def fit_of(runs: Sequence[InProcessRun]) -> EpochFit | None:
    by_config = {run.config: run for run in runs}
    fast, slow = by_config.get(FIT_FAST), by_config.get(FIT_SLOW)
    if fast is None or slow is None:
        return None
    return two_point_fit((fast.wall_s, fast.config.epoch_s), (slow.wall_s, slow.config.epoch_s))


def store_rows(store: Path) -> list[StepRows]:
    """Rows and tombstones per step id, summed over the store's partition files; most rows first."""
    rows: Counter[str] = Counter()
    tombstones: Counter[str] = Counter()
    for part in sorted(store.glob("*.sqlite3")):
        connection = sqlite3.connect(part)
        try:
            query = "SELECT step_id, COUNT(*), SUM(ser_change IS NULL) FROM snaps GROUP BY step_id"
            for step_id, count, nulls in connection.execute(query):
                rows[step_id] += count
                tombstones[step_id] += nulls or 0
        finally:
            connection.close()
    return [StepRows(step, count, tombstones[step]) for step, count in rows.most_common()]


def run_child(config: RunConfig, changes: int, store: Path | None, timeout_s: float = 900) -> InProcessRun:
    """One configuration in a child process of its own, so that runs share no heap (as ``bench.stages`` does)."""
    command = [sys.executable, "-m", "bench.epoch_cost", "--child", "--changes", str(changes)]
    command += ["--partitions", str(config.partitions), "--epoch", str(config.epoch_s)]
    command += ["--store", str(store)] if store else []
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    try:
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise EpochRunFailed(f"{config.label}: no result within {timeout_s:.0f} s") from exc
    result = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not result:
        raise EpochRunFailed(f"{config.label}: the run failed: {done.stderr.strip()[-500:]}")
    events, wall, cpu, records = result[-1]
    return InProcessRun(config, int(events), float(wall), float(cpu), int(records))


def runs_table(runs: Sequence[InProcessRun]) -> str:
    rows = [
        [
            run.config.label, f"{run.events:,}", f"{run.wall_s:,.1f}", f"{run.cpu_s:,.1f}",
            f"{run.events_per_s:,.0f}", f"{run.epoch_closes:,.0f}",
        ]
        for run in runs
    ]  # fmt: skip
    return report.table(["configuration", "input events", "wall s", "CPU s", "events/s", "epoch closes"], rows)


def store_table(steps: Sequence[StepRows]) -> str:
    rows = [[step.step_id, f"{step.rows:,}", f"{step.tombstones:,}"] for step in steps]
    rows.append(["total", f"{sum(s.rows for s in steps):,}", f"{sum(s.tombstones for s in steps):,}"])
    return report.table(["step", "snaps rows", "of which tombstones (null ser_change)"], rows)


def fit_line(fit: EpochFit | None) -> str:
    if fit is None:
        return "Fixed cost per epoch close: not fitted (a run of the fit is missing)."
    return (
        f"Fixed cost per epoch close (recovery {FIT_FAST.partitions} partitions; a two-point fit of "
        f"T = W + E x c over the {FIT_FAST.epoch_s:g} s and {FIT_SLOW.epoch_s:g} s runs, E = T / epoch): "
        f"c = **{fit.close_s * 1000:,.0f} ms**, W = {fit.work_s:,.1f} s of work whatever the epoch."
    )


# -- both parts ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochCost:
    gc: list[GcCost]
    runs: list[InProcessRun]
    store: list[StepRows]  # the recovery store after the FIT_FAST run
    changes: int

    @property
    def fit(self) -> EpochFit | None:
        return fit_of(self.runs)


def measure(
    changes: int = 30_000,
    rows: Sequence[int] = GC_ROWS,
    grid: Sequence[RunConfig] = GRID,
    say: Callable[[str], None] | None = None,
) -> EpochCost:
    """Both parts, one measurement at a time (the machine's other work shares its cores)."""
    costs = []
    for size in rows:
        costs.append(measure_gc(size))
        if say:
            say(f"  recovery GC at {size:,} rows: {costs[-1].ms_per_epoch:,.1f} ms per epoch")
    runs, steps = [], []
    for config in grid:
        with tempfile.TemporaryDirectory(prefix="atp-bench-epoch-") as scratch:
            store = Path(scratch) if config.partitions else None
            runs.append(run_child(config, changes, store))
            if config == FIT_FAST and store is not None:
                steps = store_rows(store)
        if say:
            say(f"  {config.label}: {runs[-1].events_per_s:,.0f} events/s")
    return EpochCost(costs, runs, steps, changes)


EPOCH_FIGURES = ("epoch_close_ms_fixed", "recovery_gc_ms_per_epoch", "throughput_eps_inprocess_by_epoch")


def figures(found: EpochCost) -> dict[str, Any]:
    """The summary figures of ``bench/results.json``."""
    fit = found.fit
    return {
        "epoch_close_ms_fixed": fit.close_s * 1000 if fit else None,
        "recovery_gc_ms_per_epoch": {str(c.rows): round(c.ms_per_epoch, 2) for c in found.gc},
        "throughput_eps_inprocess_by_epoch": {run.config.label: round(run.events_per_s, 1) for run in found.runs},
    }


def describe(found: EpochCost) -> list[str]:
    """The markdown both the console and ``bench/results.md`` show."""
    lines = [
        f"Bytewax's recovery GC per epoch, {KEYS_PER_EPOCH} keys rewritten per epoch; {sqlite_note()}",
        "",
        gc_table(found.gc),
        "",
        f"The flow in process over the testing source ({found.changes:,} changes of the throughput workload), "
        "each configuration in a child process of its own:",
        "",
        runs_table(found.runs),
        "",
        fit_line(found.fit),
    ]
    if found.store:
        lines += ["", f"The recovery store after the {FIT_FAST.label} run, by step:", "", store_table(found.store)]
    return lines


def _child(args: argparse.Namespace) -> None:
    from bench.stages import run_in_process

    store = Path(args.store) if args.store else None
    recovery = args.partitions > 0
    events, wall, cpu, records = run_in_process(args.changes, recovery, args.epoch, args.partitions, store)
    print(f"RESULT {events} {wall} {cpu} {records}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m bench.epoch_cost", description=__doc__.splitlines()[0], program="bench.epoch_cost"
    )
    changes = bounded_number(int, "{text!r} is not a whole number", "{text!r} must be between 1 and 2000000",
                             at_least=1, at_most=2_000_000)  # fmt: skip
    parser.add_argument("--changes", type=changes, default=30_000, help="changes of the workload (30000)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--partitions", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--epoch", type=float, default=CONFIGURED_EPOCH_S, help=argparse.SUPPRESS)
    parser.add_argument("--store", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    found = measure(args.changes, say=lambda text: print(text, file=sys.stderr, flush=True))
    print("\n".join(describe(found)))
    if args.json:
        import orjson

        document = {**figures(found), "changes": found.changes, "gc": [asdict(c) for c in found.gc]}
        document |= {"runs": [asdict(run) for run in found.runs], "store": [asdict(s) for s in found.store]}
        args.json.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Resume after SIGKILL with 1M SKU-location keys in state, and RSS per key at that size, without Kafka.

    .venv/bin/python -m bench.resume [--items 47200]

Loading 1M keys through Kafka and the Avro sink takes far longer than the flow itself needs, so this runs the
real dataflow (``flows.process.availability_flow``, recovery on; ``LOAD_EPOCH_S`` epochs) in a child process over
Bytewax's testing source: the demo retailer's reference data, then every stock balance (ERP STOCK_BAL at each
DC, POS store_stock at each store; one SKU-location key each), generated lazily so the inputs do not sit in
memory. The child takes its RSS before and after the stock, then is SIGKILLed once its outputs have stopped
(the last epoch closed, so its snapshot is in the store). A second child starts on the same recovery store and
the same source position, reads one fresh STOCK_BAL change, and the figure is the time from starting that
process to the change's availability record reaching its sink: interpreter start, imports, Bytewax restoring
every key from the store, and the change itself. What it leaves out: connecting to Kafka and the registry,
which the Kafka run of ``python -m bench long`` (figure d, fewer keys) includes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atp.arguments import OneLineParser, bounded_number
from atp.settings import PROJECT_ROOT

ITEMS_FOR_1M_KEYS = 47_200  # x (2 DCs + 20 stores), every item at every store: just over 1,000,000 keys
# The load is read with long epochs: each epoch snapshots every location-keyed state (one entry per SKU stocked
# at the location), so at the configured 0.2 s a 1M-key load spends most of its time copying those and takes
# well over half an hour. The keys and the store the resume starts from are the same whatever the load's epoch;
# the resumed process runs at the configured epoch.
LOAD_EPOCH_S = 10.0
MARKER_ON_HAND = 987_654  # the fresh change's on-hand: no demo balance is that large


@dataclass(frozen=True)
class ResumeAtScale:
    keys: int  # SKU-location stock balances in state
    load_seconds: float  # the child reading them (in process, recovery on)
    rss_before_bytes: int  # after the reference data
    rss_after_bytes: int  # after every stock balance
    recovery_bytes: int  # the store on disk (allocated blocks)
    seconds_to_fresh_output: float  # new process started -> the fresh change's record in its sink

    @property
    def bytes_per_key(self) -> float:
        return (self.rss_after_bytes - self.rss_before_bytes) / self.keys if self.keys else 0.0


class ResumeRunFailed(RuntimeError):
    """A child run of this measurement did not get as far as it had to."""


# -- the child processes -----------------------------------------------------------------------------------------


def _kafka_messages(messages: Iterator[Any], offsets: Counter[tuple[str, int]]) -> Iterator[Any]:
    """Each message as the Kafka source hands it over (one row stays on one partition, as a keyed producer does)."""
    from bytewax.connectors.kafka import KafkaSourceMessage

    from connectors.cdc.decode import TRANSACTION_TOPICS
    from connectors.topics import PARTITIONS

    for message in messages:
        partition = zlib.crc32(message.key) % (1 if message.topic in TRANSACTION_TOPICS else PARTITIONS)
        offset = offsets[(message.topic, partition)]
        offsets[(message.topic, partition)] += 1
        yield KafkaSourceMessage(message.key, message.value, message.topic, partition=partition, offset=offset)


class _Outputs:
    """The flow's sink: counts records, and notes when an availability record carries the marker on-hand."""

    def __init__(self, sku: str = "", location: str = "") -> None:
        self.records = 0
        self.sku, self.location = sku, location
        self.marker_seen = threading.Event()

    def __iadd__(self, records: list[Any]) -> _Outputs:  # Bytewax's testing sink adds each batch with +=
        from atp.domain.records import AvailabilityRecord

        self.records += len(records)
        for record in records:
            if (
                isinstance(record, AvailabilityRecord)
                and record.on_hand == MARKER_ON_HAND
                and (record.sku, record.location.strip()) == (self.sku, self.location)
            ):
                print(f"FRESH {time.time()}", flush=True)
                os._exit(0)  # the figure is taken; the parent needs nothing more from this process
        return self


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _until_outputs_settle(outputs: _Outputs, epoch: dt.timedelta) -> Iterator[Any]:
    """Pauses of the source until the sink has had nothing new for three epochs (and at least one second):
    every input read so far has come out and its epoch is closed, so its snapshot is written."""
    from bytewax.testing import TestingSource

    quiet_needed = max(1.0, 3 * epoch.total_seconds())
    last, quiet_since = -1, time.monotonic()
    while True:
        if outputs.records != last:
            last, quiet_since = outputs.records, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_needed:
            return
        yield TestingSource.PAUSE(dt.timedelta(seconds=0.1))


def _run(inputs: Iterator[Any], outputs: _Outputs, recovery: Path, epoch: dt.timedelta) -> None:
    from bytewax.recovery import RecoveryConfig
    from bytewax.testing import TestingSink, TestingSource, run_main

    from atp.settings import settings_from_fields
    from flows.process import _tune_garbage_collector, availability_flow

    flow = availability_flow(settings_from_fields(), TestingSource(inputs, batch_size=1000), TestingSink(outputs))  # type: ignore[arg-type]
    _tune_garbage_collector()  # as the flow's own process does
    run_main(flow, epoch_interval=epoch, recovery_config=RecoveryConfig(str(recovery)))  # type: ignore[no-untyped-call]


def _demo(items: int) -> Any:
    from atp.demo.generator import DemoSize, generate

    return generate(DemoSize(items=items, dcs=2, stores=20, store_assortment=1.0))


def build_child(recovery: Path, items: int, epoch: dt.timedelta) -> None:  # epoch: LOAD_EPOCH_S
    """Load every stock balance, say ``LOADED keys inputs rss_before rss_after seconds``, then idle until killed."""
    from bytewax.testing import TestingSource

    from bench.shapes import ChangeLog, reference_messages, stock_messages

    data = _demo(items)
    log, offsets, outputs = ChangeLog(), Counter[tuple[str, int]](), _Outputs()

    def inputs() -> Iterator[Any]:
        reference = 0
        for message in _kafka_messages(reference_messages(log, data), offsets):
            reference += 1
            yield message
        yield from _until_outputs_settle(outputs, epoch)
        before, started, keys = _rss(), time.monotonic(), 0
        for message in _kafka_messages(stock_messages(log, data), offsets):
            keys += 1
            yield message
        yield from _until_outputs_settle(outputs, epoch)
        print(f"LOADED {keys} {reference + keys} {before} {_rss()} {time.monotonic() - started}", flush=True)
        while True:  # idle, with epochs still closing, until the parent kills this process
            yield TestingSource.PAUSE(dt.timedelta(seconds=1))

    _run(inputs(), outputs, recovery, epoch)


def first_balance(items: int) -> tuple[str, str]:
    """(SKU, DC) of the demo retailer's first stock balance: the key the fresh change is made on."""
    balance = _demo(items).stock_bal[0]
    return balance.item_no, balance.loc_cd.strip()


def fresh_change(sku: str, location: str) -> Any:
    """A STOCK_BAL change setting the marker on-hand, at source positions after every one of the load."""
    from bench.shapes import ChangeLog, erp_change

    row = {"ITEM_NO": sku, "LOC_CD": location, "QTY_OH": f"{MARKER_ON_HAND}.000", "QTY_HOLD": "0.000", "UPD_TS": 0}
    return erp_change(ChangeLog(binlog_pos=10**12, transactions=10**9), "STOCK_BAL", ("ITEM_NO", "LOC_CD"), row)


def resume_child(recovery: Path, read: int, change: Any, sku: str, location: str, epoch: dt.timedelta) -> None:
    """Resume on the store at source position ``read``; the fresh change comes right after it."""
    from bytewax.testing import TestingSource

    # The source skips the ``read`` inputs it had read before the kill (a seek, as the Kafka source does), so
    # the load is not replayed; if it resumed before them, it would hand the flow a placeholder and fail.
    already_read = itertools.repeat(None, read)
    offsets = Counter({("erp.erp.STOCK_BAL", p): 10**9 for p in range(64)})
    rest = itertools.repeat(TestingSource.PAUSE(dt.timedelta(seconds=1)))
    inputs = itertools.chain(already_read, _kafka_messages(iter([change]), offsets), rest)
    _run(inputs, _Outputs(sku, location), recovery, epoch)


# -- the measurement ---------------------------------------------------------------------------------------------


def _child(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench.resume", "--child", *args]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True)


def _line_starting(child: subprocess.Popen[str], word: str, timeout_s: float) -> tuple[list[str], float]:
    """The fields of the child's first stdout line starting with ``word``, and when it was read."""
    found: list[tuple[list[str], float]] = []

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(word + " "):
                found.append((line.split()[1:], time.time()))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not found:
        child.kill()
        raise ResumeRunFailed(f"no {word} line within {timeout_s:.0f} s (exit status {child.poll()})")
    return found[0]


def _store_bytes(recovery: Path) -> int:
    return sum(path.stat().st_blocks * 512 for path in recovery.rglob("*") if path.is_file())


def measure(
    items: int = ITEMS_FOR_1M_KEYS,
    epoch_s: float | None = None,
    timeout_s: float = 1800,
    load_epoch_s: float = LOAD_EPOCH_S,
) -> ResumeAtScale:
    from atp.settings import settings_from_fields

    dataflow = settings_from_fields().dataflow
    epoch = str(epoch_s if epoch_s is not None else dataflow.snapshot_interval_s)
    with tempfile.TemporaryDirectory(prefix="atp-bench-resume-") as scratch:
        recovery = Path(scratch)
        partitions = str(dataflow.recovery_partitions)
        subprocess.run([sys.executable, "-m", "bytewax.recovery", str(recovery), partitions], check=True)
        build = _child("build", str(recovery), "--items", str(items), "--epoch", str(load_epoch_s))
        try:
            (keys, read, before, after, seconds), _ = _line_starting(build, "LOADED", timeout_s)
        finally:
            with contextlib.suppress(ProcessLookupError):
                build.send_signal(signal.SIGKILL)  # what an OOM killer or a lost node does
            build.wait()
        stored = _store_bytes(recovery)
        sku, location = first_balance(items)
        started = time.time()
        resumed = _child("resume", str(recovery), "--epoch", epoch, "--read", read, "--key", sku, location)
        try:
            _, seen_at = _line_starting(resumed, "FRESH", 600)
        finally:
            with contextlib.suppress(ProcessLookupError):
                resumed.kill()
            resumed.wait()
    return ResumeAtScale(int(keys), float(seconds), int(before), int(after), stored, seen_at - started)


def describe(found: ResumeAtScale) -> str:
    return (
        f"{found.keys:,} keys loaded in {found.load_seconds:,.0f} s; RSS {found.bytes_per_key:,.0f} bytes per key; "
        f"recovery store {found.recovery_bytes / 2**20:,.0f} MiB; resume after SIGKILL "
        f"{found.seconds_to_fresh_output:.1f} s to the fresh change's record"
    )


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m bench.resume", description=__doc__.splitlines()[0], program="bench.resume")
    items = bounded_number(int, "{text!r} is not a whole number", "{text!r} must be between 1 and 100000",
                           at_least=1, at_most=100_000)  # fmt: skip
    parser.add_argument("--items", type=items, default=ITEMS_FOR_1M_KEYS, help=f"items ({ITEMS_FOR_1M_KEYS})")
    parser.add_argument("--epoch", type=float, default=None, help="epoch seconds (ATP_SNAPSHOT_INTERVAL_S)")
    parser.add_argument("--child", nargs=2, metavar=("ROLE", "RECOVERY"), help=argparse.SUPPRESS)
    parser.add_argument("--read", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--key", nargs=2, default=("", ""), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        role, recovery = args.child[0], Path(args.child[1])
        epoch = dt.timedelta(seconds=args.epoch)
        if role == "build":
            build_child(recovery, args.items, epoch)
        else:
            sku, location = args.key
            resume_child(recovery, args.read, fresh_change(sku, location), sku, location, epoch)
        return 0
    print(describe(measure(args.items, args.epoch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

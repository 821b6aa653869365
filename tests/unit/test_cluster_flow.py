"""The real availability flow as a Bytewax cluster of two processes (``cluster_main``, Bytewax's public entry
point for one process of a cluster) ends in the same record for every key as one process does.

Each process of the cluster is a real OS process (multiprocessing, spawned) building the same flow over the
same input list; Bytewax gives the testing source's one partition to one worker and routes every key to the
worker that owns it, so the records come out of both processes. Epochs may be cut differently, so how many
versions a key publishes may differ; its last record may not.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import pickle
import socket
from pathlib import Path

from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, cluster_main, run_main

from atp.domain.records import AvailabilityRecord
from atp.settings import settings_from_fields
from flows.process import availability_flow
from tests.debezium_events import (
    ERP_ITEMS,
    ERP_STOCK,
    POS_STOCK,
    envelope,
    item_row,
    mariadb_source,
    message,
    postgres_source,
    stock_bal_row,
    store_stock_row,
)

SKUS = [f"TEE-{n}" for n in range(1, 13)]
DCS = ["DC0001", "DC0002"]
STORES = ["ST0001", "ST0002", "ST0003"]
EPOCH = dt.timedelta(milliseconds=20)


def upc(sku: str) -> str:
    return f"{int(sku.split('-')[1]):012d}"


def inputs() -> list:
    """Items, then DC stock and shelf counts changing several times each (some arrive before their item)."""
    messages = []
    offsets = {ERP_ITEMS: 0, ERP_STOCK: 0, POS_STOCK: 0}

    def add(topic: str, value: bytes) -> None:
        offsets[topic] += 1
        messages.append(message(topic, value, offsets[topic]))

    for round_no in range(4):
        for n, sku in enumerate(SKUS):
            if round_no == 1:
                add(ERP_ITEMS, envelope("r", None, item_row(sku, upc(sku)), mariadb_source("ITEM_MASTER", n)))
            for dc in DCS:
                qty = f"{(n * 7 + round_no * 3) % 40}.000"
                row = stock_bal_row(sku, dc, qty, f"{round_no % 2}.000")
                add(ERP_STOCK, envelope("u", None, row, mariadb_source("STOCK_BAL", 1000 + len(messages))))
            for store in STORES:
                row = store_stock_row(store, upc(sku), (n + round_no * 5) % 9)
                add(POS_STOCK, envelope("u", None, row, postgres_source("store_stock", 5000 + len(messages))))
    return messages


def with_stops(messages: list) -> list:
    """The inputs with an end of input after each third: each run of the flow stops there, and the next run on
    the same recovery store resumes after it."""
    third = len(messages) // 3
    return [
        *messages[:third],
        TestingSource.EOF(),
        *messages[third : 2 * third],
        TestingSource.EOF(),
        *messages[2 * third :],
    ]


def _flow(out: list, stops: bool = False):  # type: ignore[no-untyped-def]
    config = settings_from_fields(low_stock_threshold=3, store_safety_stock=0)
    messages = with_stops(inputs()) if stops else inputs()
    return availability_flow(config, TestingSource(messages, batch_size=16), TestingSink(out))


def last_records(records: list) -> dict[str, tuple[int, int, int, str]]:
    """Each key's last record (its highest version): on hand, reserved, available, status."""
    last: dict[str, AvailabilityRecord] = {}
    for record in records:
        if isinstance(record, AvailabilityRecord) and record.version >= last.get(record.key, record).version:
            last[record.key] = record
    return {key: (r.on_hand, r.reserved, r.available, r.status) for key, r in last.items()}


def _one_process_of_the_cluster(addresses: list[str], process: int, out_file: str, recovery: str | None) -> None:
    out: list = []
    recovery_config = None if recovery is None else RecoveryConfig(recovery)  # type: ignore[no-untyped-call]
    cluster_main(
        _flow(out, stops=recovery is not None),
        addresses,
        process,
        epoch_interval=EPOCH,
        recovery_config=recovery_config,
    )
    Path(out_file).write_bytes(pickle.dumps(out))


def run_cluster(processes: int, folder: Path, recovery: Path | None = None) -> list:
    """The flow as a cluster of ``processes`` spawned OS processes; the records of all of them."""
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(processes)]
    spawn = multiprocessing.get_context("spawn")
    files = [folder / f"process-{k}.pickle" for k in range(processes)]
    running = [
        spawn.Process(
            target=_one_process_of_the_cluster,
            args=(addresses, k, str(files[k]), None if recovery is None else str(recovery)),
        )
        for k in range(processes)
    ]
    for process in running:
        process.start()
    for process in running:
        process.join(120)
    assert [p.exitcode for p in running] == [0] * processes
    outputs = [pickle.loads(f.read_bytes()) for f in files]  # noqa: S301 - written by this test
    assert all(any(isinstance(r, AvailabilityRecord) for r in out) for out in outputs), "every process worked"
    return [record for out in outputs for record in out]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_processes_end_in_the_same_record_for_every_key_as_one(tmp_path):
    alone: list = []
    run_main(_flow(alone), epoch_interval=EPOCH)
    expected = last_records(alone)
    assert len(expected) == len(SKUS) * (len(DCS) + len(STORES))
    assert last_records(run_cluster(2, tmp_path)) == expected


def test_rescaling_one_to_two_to_one_process_on_the_same_recovery_store_loses_nothing(tmp_path):
    """Stop and start with another number of processes (a rescale): each run resumes the last one's state."""
    alone: list = []
    run_main(_flow(alone), epoch_interval=EPOCH)
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    init_db_dir(recovery, 4)  # type: ignore[no-untyped-call]
    config = RecoveryConfig(str(recovery))  # type: ignore[no-untyped-call]

    first: list = []
    run_main(_flow(first, stops=True), epoch_interval=EPOCH, recovery_config=config)  # the first third, 1 process
    second = run_cluster(2, tmp_path, recovery)  # the second third, 2 processes
    third: list = []
    run_main(_flow(third, stops=True), epoch_interval=EPOCH, recovery_config=config)  # the rest, 1 process again

    assert first and second and third
    assert last_records(first + second + third) == last_records(alone)
    # The state came along: versions go on from where the last run left them, never from 1 again.
    assert min(r.version for r in third if isinstance(r, AvailabilityRecord)) > 1

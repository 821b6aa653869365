"""Latency side by side: each engine live on the same paced input, one after the other.

    .venv/bin/python -m bench.quix_peer.latency --bootstrap 127.0.0.1:49092 [--rate 200 --seconds 30]

For each engine (the Quix peer, then our real flow ``python -m flows.run``):
empty the input topics, write a small snapshot (200 items, 2 DCs, 3 stores), start the engine, let it
catch up, then produce ``--rate`` changes per second for ``--seconds`` (the same seeded changes for both),
and stop it. Latency of a record = its ``computed_ts_ms`` (the engine's wall clock when the rules
produced it) minus the Kafka timestamp of the input its ``cause_ref`` names (the producer's clock at
send time): input written -> record computed, both on this machine's clock. The final produce of the
record is not included (Quix copies the input's timestamp onto its outputs, so their Kafka
timestamps cannot tell).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

from atp.settings import PROJECT_ROOT, load_settings
from bench.quix_peer import fill
from bench.quix_peer.compare import INPUTS, PEER_OUTPUT, PEER_PYTHON, Message, high_watermarks, read_topic
from bench.quix_peer.ours_kafka import fresh_flow_state, stop_group
from bench.quix_peer.stack import QUIX_ENVIRONMENT
from connectors import topics

SNAPSHOT = fill.Size(items=200, dcs=2, stores=3, changes=1, seed=3)
CATCH_UP_S = 25.0  # default of --catch-up
_REF = re.compile(r"^(?P<topic>[^\[]+)\[(?P<partition>\d+)\]@(?P<offset>\d+)")


def _workload(rate: float, seconds: float) -> tuple[list[fill.Message], list[fill.Message]]:
    """The snapshot, and the changes to pace after it (one generator, so source positions keep increasing)."""
    changes = int(rate * seconds)
    size = fill.Size(SNAPSHOT.items, SNAPSHOT.dcs, SNAPSHOT.stores, changes, SNAPSHOT.seed)
    workload = list(fill.messages(size, dt.datetime.now(dt.UTC)))
    return workload[:-changes], workload[-changes:]


def _prepare(bootstrap: str, snapshot: list[fill.Message]) -> None:
    fill.ensure_inputs(bootstrap)
    fill.empty_inputs(bootstrap)
    fill.produce(bootstrap, iter(snapshot))


def _paced(bootstrap: str, changes: list[fill.Message], rate: float) -> int:
    """``changes`` at ``rate`` per second, each sent at once (linger 0)."""
    out = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
    started = time.perf_counter()
    for sent, message in enumerate(changes):
        pause = started + sent / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        out.produce(message.topic, key=message.key, value=message.value)
        out.poll(0)
    out.flush(30)
    return len(changes)


def _input_times(bootstrap: str) -> dict[tuple[str, int, int], int]:
    return {(m.topic, m.partition, m.offset): m.timestamp_ms for t in INPUTS for m in read_topic(bootstrap, t)}


def _latencies(records: list[dict[str, Any]], sent_at: dict[tuple[str, int, int], int], since_ms: int) -> list[int]:
    out = []
    for record in records:
        ref = _REF.match(str(record.get("cause_ref", "")))
        if ref is None:
            continue
        at = sent_at.get((ref["topic"], int(ref["partition"]), int(ref["offset"])))
        if at is not None and at >= since_ms:
            computed = record["computed_ts_ms"]  # Avro's timestamp-millis arrives as a datetime
            computed_ms = int(computed.timestamp() * 1000) if isinstance(computed, dt.datetime) else int(computed)
            out.append(computed_ms - at)
    return out


def _summary(name: str, latencies: list[int], sent: int) -> dict[str, Any]:
    if not latencies:
        return {"engine": name, "inputs_paced": sent, "records": 0}
    ordered = sorted(latencies)

    def pct(p: float) -> int:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "engine": name,
        "inputs_paced": sent,
        "records": len(ordered),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1],
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def _run_engine(
    bootstrap: str, command: list[str], env: dict[str, str], changes: list[fill.Message], rate: float, catch_up: float
) -> tuple[int, int]:
    """Start the engine, let it catch up on the snapshot, pace the changes, stop it; (paced from ms, sent)."""
    log = (Path(QUIX_ENVIRONMENT["ATP_HOME"]) / "logs" / "latency_engine.log").open("ab")
    engine = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        time.sleep(catch_up)
        if engine.poll() is not None:
            raise RuntimeError(f"the engine exited early ({engine.returncode}); see {log.name}")
        since_ms = time.time_ns() // 1_000_000
        sent = _paced(bootstrap, changes, rate)
        time.sleep(5)
        return since_ms, sent
    finally:
        stop_group(engine)
        log.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quix_peer.latency")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--catch-up", type=float, default=CATCH_UP_S, help="seconds from start to pacing")
    parser.add_argument("--peer-no-align", action="store_true", help="run the peer with --no-align")
    parser.add_argument("--json", type=Path, default=None)
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return 2
    if args.rate <= 0 or args.seconds <= 0:
        print("latency: --rate and --seconds must be above 0", file=sys.stderr)
        return 2
    for name, value in QUIX_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ["ATP_KAFKA_BOOTSTRAP"] = args.bootstrap
    results = []

    # The peer.
    snapshot, changes = _workload(args.rate, args.seconds)
    _prepare(args.bootstrap, snapshot)
    before = high_watermarks(args.bootstrap, PEER_OUTPUT)
    run_for = args.catch_up + args.seconds + 4
    peer = [str(PEER_PYTHON), "-m", "bench.quix_peer.app", "--bootstrap", args.bootstrap, "--run-for", str(run_for)]
    peer += ["--no-align"] if args.peer_no_align else []
    since, sent = _run_engine(
        args.bootstrap, peer, os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}, changes, args.rate, args.catch_up
    )
    records = [orjson.loads(m.value) for m in read_topic(args.bootstrap, PEER_OUTPUT, before) if m.value]
    results.append(_summary("quix peer", _latencies(records, _input_times(args.bootstrap), since), sent))

    # Ours.
    from connectors import avro_contracts

    settings = load_settings()
    snapshot, changes = _workload(args.rate, args.seconds)
    _prepare(args.bootstrap, snapshot)
    recovery = fresh_flow_state(settings)
    before = high_watermarks(args.bootstrap, topics.AVAILABILITY)
    ours = [
        sys.executable,
        "-m",
        "flows.run",
        "-r",
        str(recovery),
        "-s",
        str(load_settings().dataflow.snapshot_interval_s),
    ]
    since, sent = _run_engine(args.bootstrap, ours, dict(os.environ), changes, args.rate, args.catch_up)
    decode = avro_contracts.deserializer(avro_contracts.registry_client(settings.kafka), topics.AVAILABILITY)
    raw: list[Message] = read_topic(args.bootstrap, topics.AVAILABILITY, before)
    records = [dict(decode(m.value)) for m in raw if m.value]
    results.append(
        _summary(
            "ours (flows.run, Kafka, Avro, recovery on)",
            _latencies(records, _input_times(args.bootstrap), since),
            sent,
        )
    )
    for row in results:
        print(json.dumps(row))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"rate_per_s": args.rate, "seconds": args.seconds, "catch_up_s": args.catch_up, "results": results},
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

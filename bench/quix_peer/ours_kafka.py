"""Our real dataflow over the same pre-filled topics: ``python -m flows.run``, as ``atp run`` starts it.

    .venv/bin/python -m bench.quix_peer.stack registry-up        # Kafka + the schema registry (Avro sink)
    .venv/bin/python -m bench.quix_peer.ours_kafka --bootstrap 127.0.0.1:49092 [--json FILE]

Kafka source, recovery on (fresh store, 1 s epochs, as ``atp run``), Avro sink through the registry, one
process and one worker. It is stopped once its recovery store says it has read every input to the end
and ``atp.availability`` has taken nothing new for 3 s. Reports events/s over the whole run (process start
to the last position saved, at most one epoch late) and over the span of its output records' timestamps,
and checks its final record per ``sku@location`` against the peer's last run on ``bench.quix.availability``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from atp.settings import PROJECT_ROOT, Settings, load_settings
from bench.quix_peer.compare import (
    INPUTS,
    PEER_OUTPUT,
    broker_cpu_seconds,
    compare,
    high_watermarks,
    last_per_key,
    read_topic,
)
from bench.quix_peer.stack import QUIX_ENVIRONMENT
from connectors import topics
from connectors.cdc.decode import TRANSACTION_TOPICS

MAX_LINES = 20


def _held(bootstrap: str) -> dict[tuple[str, int], tuple[int, int]]:
    """(low, high) of every input partition that holds messages."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "atp-quix-compare"})
    try:
        marks = {}
        for topic in INPUTS:
            for partition in high_watermarks(bootstrap, topic):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high > low:
                    marks[(topic, partition)] = (int(low), int(high))
        return marks
    finally:
        consumer.close()


def fresh_flow_state(settings: Settings) -> Path:
    """Our flow's topics, and an empty recovery store of one partition: ``flows.run`` reads every input from its
    start, as a first ``atp run`` would. Returns the recovery store."""
    topics.ensure_topics(settings.kafka, tuple(TRANSACTION_TOPICS), partitions=topics.TRANSACTION_PARTITIONS)
    topics.ensure_topics(settings.kafka, INPUTS + topics.output_topics(settings.channels))
    recovery = settings.dataflow.recovery_dir
    shutil.rmtree(recovery, ignore_errors=True)
    recovery.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "bytewax.recovery", str(recovery), "1"],
        check=True,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
    )
    return recovery


def stop_group(engine: subprocess.Popen[bytes]) -> None:
    """SIGTERM the engine's process group (it was started in a session of its own), SIGKILL it after 20 s."""
    os.killpg(engine.pid, signal.SIGTERM)
    try:
        engine.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(engine.pid, signal.SIGKILL)


def run(bootstrap: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    from connectors import avro_contracts
    from connectors.lag import flow_positions

    settings = load_settings()
    recovery = fresh_flow_state(settings)
    avro_contracts.register_contracts(settings.kafka, settings.channels)
    ends = _held(bootstrap)
    before = high_watermarks(bootstrap, topics.AVAILABILITY)
    log = (settings.stack.logs_dir / "ours_kafka.log").open("wb")
    command = [sys.executable, "-m", "flows.run", "-r", str(recovery), "-s", str(settings.dataflow.snapshot_interval_s)]
    broker_before = broker_cpu_seconds()
    started = time.perf_counter()
    flow = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    read_all_s: float | None = None
    try:
        last_count, quiet_since = -1, time.perf_counter()
        while time.perf_counter() - started < 1800:
            time.sleep(0.5)
            if flow.poll() is not None:
                raise RuntimeError(f"our flow exited with {flow.returncode}; see {log.name}")
            positions = flow_positions(recovery)
            if read_all_s is None and all(positions.get(tp, 0) >= high for tp, (_, high) in ends.items()):
                read_all_s = time.perf_counter() - started
            count = sum(high_watermarks(bootstrap, topics.AVAILABILITY).values())
            if count != last_count:
                last_count, quiet_since = count, time.perf_counter()
            elif read_all_s is not None and time.perf_counter() - quiet_since >= 3:
                break
        else:
            raise RuntimeError("our flow did not read every input within 1800 s")
        broker_cpu_s = broker_cpu_seconds() - broker_before
        cpu = psutil.Process(flow.pid).cpu_times()
        cpu_s = cpu.user + cpu.system + cpu.children_user + cpu.children_system
    finally:
        stop_group(flow)
        log.close()
    assert read_all_s is not None
    raw = read_topic(bootstrap, topics.AVAILABILITY, before)
    decode = avro_contracts.deserializer(avro_contracts.registry_client(settings.kafka), topics.AVAILABILITY)
    finals: dict[str, dict[str, Any]] = {}
    computed: list[dict[str, Any]] = []
    for message in raw:
        if message.value is None:
            continue
        doc = dict(decode(message.value))
        computed.append(doc)
        date: Any = doc.get("next_inbound_date")  # Avro's date logical type arrives as a datetime.date
        doc["next_inbound_date"] = None if date is None else date.isoformat()
        key = f"{doc['sku']}@{doc['location']}"
        if key not in finals or doc["version"] >= finals[key]["version"]:
            finals[key] = doc
    inputs = sum(high - low for low, high in ends.values())
    stamps = [int(doc["computed_ts_ms"].timestamp() * 1000) for doc in computed]
    span_s = (max(stamps) - min(stamps)) / 1000 if stamps else 0.0
    figures = {
        "engine": "bytewax (python -m flows.run, Kafka source, Avro sink, recovery on)",
        "inputs": inputs,
        "run_to_all_read_s": round(read_all_s, 3),
        "events_per_s_whole_run": round(inputs / read_all_s, 1),
        "cpu_s": round(cpu_s, 3),
        "events_per_cpu_s": round(inputs / cpu_s, 1),
        "output_records": len(raw),
        "first_to_last_computed_s": round(span_s, 3),
        "events_per_s_computed_span": round(inputs / span_s, 1) if span_s else None,
        "broker_cpu_s": round(broker_cpu_s, 3),
    }
    return figures, finals


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quix_peer.ours_kafka")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--json", type=Path, default=None)
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return 2
    for name, value in QUIX_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ["ATP_KAFKA_BOOTSTRAP"] = args.bootstrap
    figures, ours = run(args.bootstrap)
    peer = last_per_key(read_topic(args.bootstrap, PEER_OUTPUT))
    verdict = compare(ours, peer)
    for line in verdict.mismatches[:MAX_LINES]:
        print(f"MISMATCH {line}")
    figures |= {
        "keys_ours": verdict.keys_ours,
        "keys_peer": verdict.keys_peer,
        "mismatched_keys": len(verdict.mismatches),
        "version_differences": verdict.version_differences,
    }
    print(json.dumps(figures))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if verdict.mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

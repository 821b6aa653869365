"""Run the Quix peer and our dataflow over the same pre-filled input topics; compare speed and final records.

    .venv/bin/python -m bench.quix_peer.compare --bootstrap 127.0.0.1:49092

1. Reads every message of the input topics (``CDC_TOPICS`` and ``orders.reservations``, ``atp.reconcile``)
   from the beginning, in Kafka timestamp order (per partition: offset order).
2. Ours: runs ``flows.availability.build_flow`` in this process on those messages (Bytewax
   ``TestingSource`` in batches of 1,000, as our ``KafkaSource``; ``TestingSink``), one worker, and times it.
   This is our flow's engine, decoders and rules, but not our Kafka source nor our Avro sink.
3. The peer: runs ``bench.quix_peer.app`` in its own venv on the same topics (fresh consumer group), which
   stops itself once everything is consumed, and reports its own timing.
4. Compares, per ``sku@location``, the last ``atp.availability`` record of ours with the last record the
   peer wrote to ``bench.quix.availability`` during this run: on_hand, unsellable, reserved, committed,
   safety_stock, available, status (and incoming, next_inbound_date); versions are compared and reported apart.

Prints one line per mismatch (at most 20) and a summary; exits 1 on any mismatch, 2 on a bad argument.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from atp.settings import PROJECT_ROOT
from bench.quix_peer.stack import QUIX_ENVIRONMENT

INPUTS = (
    "erp.erp.STOCK_BAL",
    "erp.erp.ITEM_MASTER",
    "erp.erp.STOCK_LOT",
    "erp.erp.PO_LINE",
    "erp.erp.SAFETY_STK",
    "erp.erp.KIT_COMPONENT",
    "erp.erp.CHANNEL_LISTING",
    "erp.erp.LOCATION",
    "pos.public.store_stock",
    "pos.public.sale_ticket",
    "pos.public.sale_line",
    "orders.reservations",
    "atp.reconcile",
)
PEER_OUTPUT = "bench.quix.availability"
FIGURES = ("on_hand", "unsellable", "reserved", "committed", "safety_stock", "available", "status")
ALSO = ("incoming", "next_inbound_date")
PEER_PYTHON = PROJECT_ROOT / "bench" / ".venv-quix" / "bin" / "python"
MAX_LINES = 20
OURS_CPU_S = 0.0  # CPU seconds of the last in-process run of ours


class CompareError(Exception):
    """A step of the comparison could not run (bad argument, broker unreachable, peer failed)."""


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "atp-quix-compare",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )


def read_topic(bootstrap: str, topic: str, start: dict[int, int] | None = None) -> list[Message]:
    """Every message of ``topic`` from ``start`` (per partition; default the beginning) to its end now."""
    consumer = _consumer(bootstrap)
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        ends: dict[int, int] = {}
        assign = []
        for index in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, index), timeout=10)
            begin = max(low, (start or {}).get(index, low))
            if high > begin:
                ends[index] = high
                assign.append(TopicPartition(topic, index, begin))
        if not assign:
            return []
        consumer.assign(assign)
        out: list[Message] = []
        pending = set(ends)
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(10000, timeout=1.0):
                if msg.error() is not None:
                    continue
                partition, offset = msg.partition() or 0, msg.offset() or 0
                out.append(Message(topic, partition, offset, msg.timestamp()[1], msg.key(), msg.value()))
                if offset + 1 >= ends[partition]:
                    pending.discard(partition)
        if pending:
            raise CompareError(f"could not read {topic} to its end within 120 s")
        return out
    finally:
        consumer.close()


def high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = _consumer(bootstrap)
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return {}
        return {i: consumer.get_watermark_offsets(TopicPartition(topic, i), timeout=10)[1] for i in metadata.partitions}
    finally:
        consumer.close()


# -- ours ----------------------------------------------------------------------------------------


def run_ours(messages: list[Message]) -> tuple[dict[str, dict[str, Any]], float, int]:
    """Our flow in-process on ``messages``: the last availability record per key, seconds taken, records."""
    from bytewax.connectors.kafka import KafkaSourceMessage
    from bytewax.testing import TestingSink, TestingSource, run_main

    from atp.domain.records import AvailabilityRecord
    from atp.settings import load_settings
    from flows.process import availability_flow

    source = [
        KafkaSourceMessage(key=m.key, value=m.value, topic=m.topic, offset=m.offset, partition=m.partition)
        for m in messages
    ]
    out: list[Any] = []
    flow = availability_flow(load_settings(), TestingSource(source, batch_size=1000), TestingSink(out))
    started, cpu_started = time.perf_counter(), time.process_time()
    run_main(flow)  # type: ignore[no-untyped-call]
    took = time.perf_counter() - started
    global OURS_CPU_S
    OURS_CPU_S = time.process_time() - cpu_started
    last: dict[str, dict[str, Any]] = {}
    records = 0
    for record in out:
        if isinstance(record, AvailabilityRecord):
            records += 1
            doc = record.to_dict()
            doc["next_inbound_date"] = record.next_inbound_date.isoformat() if record.next_inbound_date else None
            known = last.get(record.key)
            if known is None or doc["version"] >= known["version"]:
                last[record.key] = doc
    return last, took, records


# -- the peer ------------------------------------------------------------------------------------


def run_peer(bootstrap: str, python: Path, commit_interval: float, align: bool = True) -> dict[str, Any]:
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    command = [
        str(python),
        "-m",
        "bench.quix_peer.app",
        "--bootstrap",
        bootstrap,
        "--commit-interval",
        str(commit_interval),
    ]
    command += [] if align else ["--no-align"]
    try:
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired as exc:
        raise CompareError("the peer did not finish within 1800 s") from exc
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise CompareError(f"the peer failed (exit {done.returncode}): {tail}")
    summary: dict[str, Any] = json.loads(lines[-1])
    return summary


def broker_cpu_seconds() -> float:
    """CPU seconds the peer bench's own Kafka broker has used so far (0 if its pid file is not there)."""
    import psutil

    pid_file = Path(QUIX_ENVIRONMENT["ATP_HOME"]) / "run" / "kafka.pid"
    try:
        times = psutil.Process(int(pid_file.read_text().split()[0])).cpu_times()
    except (OSError, ValueError, psutil.Error):
        return 0.0
    return float(times.user + times.system)


def delete_internal_topics(bootstrap: str, group: str) -> None:
    """The peer run's own re-keying and changelog topics (its outputs stay)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [t for t in admin.list_topics(timeout=10).topics if t.startswith((f"{group}.", f"changelog__{group}-"))]
    for future in admin.delete_topics(names, request_timeout=30).values() if names else ():
        future.result()


def last_per_key(messages: list[Message]) -> dict[str, dict[str, Any]]:
    last: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
    for m in messages:
        if m.key is None or m.value is None:
            continue
        key = m.key.decode()
        known = last.get(key)
        if known is None or (m.partition, m.offset) >= known[0]:
            last[key] = ((m.partition, m.offset), orjson.loads(m.value))
    return {key: doc for key, (_, doc) in last.items()}


# -- comparing ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    mismatches: list[str]
    version_differences: int
    keys_ours: int
    keys_peer: int


def compare(ours: dict[str, dict[str, Any]], peer: dict[str, dict[str, Any]]) -> Verdict:
    lines: list[str] = []
    versions = 0
    for key in sorted(ours.keys() | peer.keys()):
        mine, theirs = ours.get(key), peer.get(key)
        if mine is None or theirs is None:
            lines.append(f"{key}: only in {'the peer' if mine is None else 'ours'}")
            continue
        differ = [f"{f} ours={mine[f]!r} peer={theirs[f]!r}" for f in FIGURES + ALSO if mine[f] != theirs[f]]
        if differ:
            lines.append(f"{key}: " + ", ".join(differ))
        if mine["version"] != theirs["version"]:
            versions += 1
    return Verdict(lines, versions, len(ours), len(peer))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"compare: {message}", file=sys.stderr)
        raise SystemExit(2)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="python -m bench.quix_peer.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="host:port of the Kafka broker holding the inputs")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON, help="python of the Quix venv")
    parser.add_argument("--commit-interval", type=float, default=5.0, help="the peer's checkpoint interval, s")
    parser.add_argument("--peer-no-align", action="store_true", help="run the peer with --no-align")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    host, _, port = args.bootstrap.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--bootstrap must be host:port, got {args.bootstrap!r}")
    if not args.peer_python.exists():
        parser.error(f"--peer-python {args.peer_python} does not exist (create bench/.venv-quix, see RESULTS.md)")
    if args.commit_interval <= 0:
        parser.error("--commit-interval must be above 0")
    return args


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    for name, value in QUIX_ENVIRONMENT.items():  # the same settings (rules) for ours and the peer
        os.environ.setdefault(name, value)
    try:
        AdminClient({"bootstrap.servers": args.bootstrap, "socket.timeout.ms": 3000}).list_topics(timeout=5)
    except KafkaException:
        print(f"compare: no Kafka broker answers at {args.bootstrap}", file=sys.stderr)
        return 2
    try:
        started = time.perf_counter()
        messages = sorted(
            (m for topic in INPUTS for m in read_topic(args.bootstrap, topic)),
            key=lambda m: (m.timestamp_ms, m.topic, m.partition, m.offset),
        )
        if not messages:
            print(
                f"compare: the input topics at {args.bootstrap} are empty (run bench.quix_peer.fill)", file=sys.stderr
            )
            return 2
        read_s = time.perf_counter() - started
        ours, ours_s, ours_records = run_ours(messages)
        before = high_watermarks(args.bootstrap, PEER_OUTPUT)
        broker_before = broker_cpu_seconds()
        peer_summary = run_peer(args.bootstrap, args.peer_python, args.commit_interval, not args.peer_no_align)
        broker_cpu_s = broker_cpu_seconds() - broker_before
        peer_messages = read_topic(args.bootstrap, PEER_OUTPUT, before)
        delete_internal_topics(args.bootstrap, peer_summary["group"])
    except CompareError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 1
    peer = last_per_key(peer_messages)
    verdict = compare(ours, peer)
    inputs = len(messages)
    ours_rate = inputs / ours_s
    peer_rate = float(peer_summary["events_per_s"])
    # Quix copies each input's timestamp onto its outputs, so the span is taken from computed_ts_ms.
    stamps = [int(orjson.loads(m.value)["computed_ts_ms"]) for m in peer_messages if m.value]
    peer_span_s = (max(stamps) - min(stamps)) / 1000 if stamps else 0.0
    for line in verdict.mismatches[:MAX_LINES]:
        print(f"MISMATCH {line}")
    if len(verdict.mismatches) > MAX_LINES:
        print(f"... and {len(verdict.mismatches) - MAX_LINES} more mismatches")
    figures = {
        "inputs": inputs,
        "read_inputs_s": round(read_s, 3),
        "ours_inprocess_s": round(ours_s, 3),
        "ours_inprocess_events_per_s": round(ours_rate, 1),
        "ours_inprocess_cpu_s": round(OURS_CPU_S, 3),
        "ours_inprocess_events_per_cpu_s": round(inputs / max(OURS_CPU_S, 1e-9), 1),
        "ours_records": ours_records,
        "peer": peer_summary,
        "peer_records_this_run": len(peer_messages),
        "peer_first_to_last_computed_s": round(peer_span_s, 3),
        "peer_events_per_s_computed_span": round(inputs / peer_span_s, 1) if peer_span_s else None,
        "broker_cpu_s_during_peer": round(broker_cpu_s, 3),
        "ratio_ours_inprocess_to_peer": round(ours_rate / peer_rate, 2) if peer_rate else None,
        "keys_ours": verdict.keys_ours,
        "keys_peer": verdict.keys_peer,
        "mismatched_keys": len(verdict.mismatches),
        "version_differences": verdict.version_differences,
    }
    print(
        f"inputs {inputs}; ours (in-process Bytewax, 1 worker) {ours_rate:,.0f} events/s in {ours_s:.2f} s; "
        f"peer (Quix {peer_summary['quixstreams']}) {peer_rate:,.0f} events/s first input to last engine call "
        f"({peer_summary['first_input_to_last_engine_s']:.2f} s; {peer_summary['run_s']:.2f} s with start-up); "
        f"ratio {figures['ratio_ours_inprocess_to_peer']}x; per CPU second: ours "
        f"{figures['ours_inprocess_events_per_cpu_s']:,.0f}, peer {peer_summary['events_per_cpu_s']:,.0f}"
    )
    print(
        f"final records: {verdict.keys_ours} keys ours, {verdict.keys_peer} keys peer, "
        f"{len(verdict.mismatches)} mismatched; versions differ on {verdict.version_differences} keys "
        f"(ours {ours_records} records, peer {len(peer_messages)})"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if verdict.mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
